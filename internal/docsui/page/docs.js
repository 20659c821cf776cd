// Starts Swagger UI on the gateway's own OpenAPI document. Kept out of
// index.html so the Content-Security-Policy can forbid inline scripts.
'use strict';

window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({
    // Relative, so the page also works behind a proxy that adds a path prefix.
    url: new URL('../openapi.json', window.location.href).toString(),
    dom_id: '#swagger-ui',
    deepLinking: true,
    // The default validator is a remote service; the page stays offline.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // Credentials live in memory only, never in localStorage.
    persistAuthorization: false,
    // OpenAPI v2 can only describe the Bearer scheme as an API key in the
    // Authorization header, so a key pasted on its own gets its "Bearer ".
    requestInterceptor: function (req) {
      var auth = req.headers && req.headers.Authorization;
      if (auth && !/^\S+\s+\S/.test(auth)) {
        req.headers.Authorization = 'Bearer ' + auth;
      }
      return req;
    },
  });
});
