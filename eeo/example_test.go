package eeo_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/eeo-gateway/eeo-gateway/auth"
	"github.com/eeo-gateway/eeo-gateway/auth/authtest"
	"github.com/eeo-gateway/eeo-gateway/eeo"
)

func ExampleClient_GetImport() {
	// A stand-in for EEO that knows one import.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/imports/imp_42" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"not_found"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"imp_42","import_type":"participants","file_name":"people.csv",
			"state":"COMPLETED","rows_total":10,"rows_accepted":9,"rows_rejected":1,
			"create_time":"2026-01-02T03:04:05Z","update_time":"2026-01-02T03:05:00Z"}`)
	}))
	defer srv.Close()

	// In the gateway the fetcher is an auth.ClientCredentials.
	tokens, err := auth.NewCache([]auth.Account{{Name: "acme", Fetcher: &authtest.Fetcher{}}}, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer tokens.Close()

	client, err := eeo.New("acme", srv.URL, tokens, eeo.Options{})
	if err != nil {
		log.Fatal(err)
	}
	imp, err := client.GetImport(context.Background(), "imp_42")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(imp.ID, imp.State, imp.RowsAccepted, "of", imp.RowsTotal, "rows accepted")

	_, err = client.GetImport(context.Background(), "imp_7")
	fmt.Println(err)
	// Output:
	// imp_42 COMPLETED 9 of 10 rows accepted
	// eeo: get import failed: HTTP 404 Not Found (not_found)
}
