package openapimerge_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/internal/openapimerge"
)

const base = `{
  "swagger": "2.0",
  "paths": {
    "/v1/things": {
      "get": {
        "operationId": "List",
        "responses": {
          "200": {
            "schema": {
              "$ref": "#/definitions/v1List"
            }
          }
        }
      }
    }
  },
  "definitions": {
    "rpcStatus": {
      "type": "object"
    },
    "v1List": {
      "type": "object",
      "description": "a <b> & c"
    }
  }
}
`

func TestMergeEmptyFragmentKeepsDocumentByteForByte(t *testing.T) {
	got, err := openapimerge.Merge([]byte(base), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != base {
		t.Fatalf("document changed:\n%s", got)
	}
}

// The generated document must come out unchanged apart from the additions,
// or `make check-generated` diffs would be unreadable.
func TestMergeKeepsGeneratedDocumentAndAddsOperations(t *testing.T) {
	frag := `{"paths":{"/v1/things":{"post":{"operationId":"Create","responses":{"200":{"schema":{"$ref":"#/definitions/v1Created"}}}}},
	"/v1/other":{"get":{"operationId":"Other"}}},
	"definitions":{"v1Created":{"type":"object"},"ACreated":{"type":"object"}}}`
	got, err := openapimerge.Merge([]byte(base), []byte(frag))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths       map[string]map[string]struct{ OperationID string } `json:"paths"`
		Definitions map[string]any                                     `json:"definitions"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Paths["/v1/things"]["get"].OperationID != "List" || doc.Paths["/v1/things"]["post"].OperationID != "Create" || doc.Paths["/v1/other"]["get"].OperationID != "Other" {
		t.Fatalf("paths = %+v", doc.Paths)
	}
	s := string(got)
	if strings.Index(s, `"get"`) > strings.Index(s, `"post"`) {
		t.Error("the generated operation no longer comes first")
	}
	if !(strings.Index(s, `"ACreated"`) < strings.Index(s, `"rpcStatus"`) && strings.Index(s, `"rpcStatus"`) < strings.Index(s, `"v1Created"`) && strings.Index(s, `"v1Created"`) < strings.Index(s, `"v1List"`)) {
		t.Errorf("definitions not in the generator's byte order:\n%s", s)
	}
	if !strings.Contains(s, `"a <b> & c"`) {
		t.Error("HTML characters were escaped")
	}
}

func TestMergeRefusesConflictsAndDanglingRefs(t *testing.T) {
	for name, frag := range map[string]string{
		"operation already generated":  `{"paths":{"/v1/things":{"get":{}}}}`,
		"definition already generated": `{"definitions":{"v1List":{}}}`,
		"ref to nothing":               `{"paths":{"/v1/x":{"get":{"responses":{"200":{"schema":{"$ref":"#/definitions/v1Nope"}}}}}}}`,
		"unsupported key":              `{"securityDefinitions":{}}`,
		"not an object":                `[]`,
		"duplicate key":                `{"paths":{},"paths":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := openapimerge.Merge([]byte(base), []byte(frag)); err == nil {
				t.Fatalf("merged:\n%s", got)
			}
		})
	}
}

// The fragments in proto/openapi must merge into the committed document's
// generator output; gen/ holds the result, so check the result describes
// the upload route rather than re-merging.
func TestFragmentsAreValidJSONObjects(t *testing.T) {
	files, err := filepath.Glob("../../proto/openapi/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fragments: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openapimerge.Merge([]byte(`{"definitions":{"rpcStatus":{},"v1Import":{}}}`), data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func ExampleMerge() {
	doc := []byte(`{"paths":{"/v1/files":{"get":{}}}}`)
	frag := []byte(`{"paths":{"/v1/files":{"post":{"summary":"Upload"}}}}`)
	out, err := openapimerge.Merge(doc, frag)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// {
	//   "paths": {
	//     "/v1/files": {
	//       "get": {},
	//       "post": {
	//         "summary": "Upload"
	//       }
	//     }
	//   }
	// }
}
