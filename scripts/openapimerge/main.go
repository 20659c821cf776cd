// Command openapimerge merges hand-written OpenAPI fragments into the
// document protoc-gen-openapiv2 generated, in place. `make generate` runs it
// (through scripts/gen-openapi-embed.sh) with proto/openapi/*.json.
//
//	go run ./scripts/openapimerge DOCUMENT FRAGMENT...
package main

import (
	"fmt"
	"os"

	"github.com/eeo-gateway/eeo-gateway/internal/openapimerge"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: openapimerge DOCUMENT FRAGMENT...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "openapimerge:", err)
		os.Exit(1)
	}
}

func run(docPath string, fragments []string) error {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		return err
	}
	for _, f := range fragments {
		frag, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if doc, err = openapimerge.Merge(doc, frag); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return os.WriteFile(docPath, doc, 0o644)
}
