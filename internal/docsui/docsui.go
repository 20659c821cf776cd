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
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
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

// asset is one embedded file. It is served straight from the binary's
// read-only data (embed.FS files are io.ReadSeekers over it), and its
// ETag is computed on first use: embed.FS.ReadFile would copy every file
// (2.3 MiB of Swagger UI) onto the heap for the process's life, and the GC
// sizes its heap goal on live bytes, so that copy cost about twice its size
// in peak RSS even when nobody opens the docs.
type asset struct {
	path string // in files
	etag func() string
}

// newAsset returns the asset of the embedded file at p.
func newAsset(p string) asset {
	return asset{path: p, etag: sync.OnceValue(func() string {
		h := sha256.New()
		if f, err := files.Open(p); err == nil {
			io.Copy(h, f)
			f.Close()
		}
		return `"` + hex.EncodeToString(h.Sum(nil)[:8]) + `"`
	})}
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
			assets[strings.TrimPrefix(p, "page/")] = newAsset(p)
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
		f, err := files.Open(a.path)
		if err != nil {
			http.Error(w, "docs asset unavailable", http.StatusInternalServerError)
			return
		}
		defer f.Close()
		h.Set("ETag", a.etag())
		// embed.FS files are io.ReadSeekers over the binary's data.
		http.ServeContent(w, r, name, time.Time{}, f.(io.ReadSeeker))
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
