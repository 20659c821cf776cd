package docsui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/eeo-gateway/eeo-gateway/internal/docsui"
)

func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /docs/", docsui.Handler("/docs/"))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}
