// Package docsui serves the API docs page: Swagger UI pointed at the
// gateway's own /openapi.json, with "Authorize" and "Try it out".
//
// Swagger UI is vendored in swagger-ui/ from the npm package
// swagger-ui-dist at the version pinned in the Makefile (`make docs-ui`
// fetches it, `make check-docs-ui` fails on drift) and embedded in the
// binary: nothing is fetched at run time, and the page's
// Content-Security-Policy keeps the browser from fetching anything but the
// gateway's own origin, so the page works offline.
package docsui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed page swagger-ui
var files embed.FS

// ContentSecurityPolicy is sent with every docs response. Scripts and styles
// come only from the gateway, and no inline script or style runs; Swagger
// UI's icons are data: URIs; "Try it out" calls the gateway's own origin
// (connect-src 'self'). e2e's browser test fails on any violation.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	body []byte
	etag string
}

// Handler serves the docs page at prefix (which ends in "/"), its script and
// the vendored Swagger UI files below it. It is public and read-only: the
// page holds no data, and every API call it makes carries the credentials
// the user gives to "Authorize".
func Handler(prefix string) http.Handler {
	assets := map[string]asset{}
	add := func(root string) {
		fs.WalkDir(files, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			body, err := files.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(body)
			name := strings.TrimPrefix(p, "page/")
			assets[name] = asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			return nil
		})
	}
	add("page")
	add("swagger-ui")
	assets[""] = assets["index.html"]
	types := map[string]string{"": "text/html; charset=utf-8"}
	for name := range assets {
		if name != "" {
			types[name] = contentType(name)
		}
	}

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		a, found := assets[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", types[name])
		// Revalidate each time: an upgraded gateway must not run with a
		// cached page from the previous version.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	})
}

// contentType is the extension's registered type; the files without one
// (LICENSE, NOTICE) and .txt files are plain text.
func contentType(name string) string {
	if ctype := mime.TypeByExtension(path.Ext(name)); ctype != "" {
		return ctype
	}
	return "text/plain; charset=utf-8"
}
