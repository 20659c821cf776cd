package server

import "net/http"

// statusWriter is the ResponseWriter restMetrics hands the facade's
// handlers, and the admin listener its own: it records the status the
// response gets. It is one allocation
// per request where httpsnoop's hooks were six; the facade's handlers need
// of the writer only Flush (grpc-gateway's streams assert http.Flusher) and
// what http.ResponseController reaches through Unwrap (read deadlines).
type statusWriter struct {
	http.ResponseWriter
	// code is the response's status: the first final (2xx–5xx) status
	// written, or 200 once the body is written without one; 0 until then.
	code int
}

// status is the response's status: 200 when the handler wrote none.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// WriteHeader records the first final status.
func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records 200 if no status was written before the body.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher. A writer that cannot flush (none that
// net/http hands a handler) makes it a no-op.
func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer (pprof's
// profile handler extends its write deadline through it).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
