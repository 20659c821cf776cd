package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is the part of the served OpenAPI v2 document that REST users
// and docs UIs rely on.
type openAPIDoc struct {
	SecurityDefinitions map[string]struct {
		Type string `json:"type"`
		In   string `json:"in"`
		Name string `json:"name"`
	} `json:"securityDefinitions"`
	Security []map[string][]string `json:"security"`
	Paths    map[string]map[string]struct {
		OperationID string   `json:"operationId"`
		Consumes    []string `json:"consumes"`
		Parameters  []struct {
			Name     string `json:"name"`
			In       string `json:"in"`
			Required bool   `json:"required"`
			Type     string `json:"type"`
		} `json:"parameters"`
		Responses map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"responses"`
	} `json:"paths"`
	Definitions map[string]struct {
		Properties map[string]json.RawMessage `json:"properties"`
	} `json:"definitions"`
}

func fetchOpenAPI(t *testing.T, g *gateway) openAPIDoc {
	t.Helper()
	resp, err := http.Get(g.baseURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc openAPIDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET /openapi.json: HTTP %d, %v", resp.StatusCode, err)
	}
	return doc
}

// A docs UI's "Authorize" needs a declared scheme that every operation
// requires; the gateway reads the credential from the Authorization header.
func TestOpenAPIDeclaresBearerSchemeGlobally(t *testing.T) {
	doc := fetchOpenAPI(t, startGateway(t, nil))
	bearer, ok := doc.SecurityDefinitions["Bearer"]
	if !ok || bearer.Type != "apiKey" || bearer.In != "header" || bearer.Name != "Authorization" {
		t.Fatalf("securityDefinitions = %+v; want Bearer: apiKey in the Authorization header", doc.SecurityDefinitions)
	}
	if len(doc.Security) != 1 || doc.Security[0]["Bearer"] == nil {
		t.Fatalf("security = %v; want [{Bearer: []}] applied to every operation", doc.Security)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for _, code := range []string{"401", "403", "default"} {
				if op.Responses[code].Schema.Ref != "#/definitions/rpcStatus" {
					t.Errorf("%s %s: response %s is not a google.rpc.Status", method, path, code)
				}
			}
		}
	}
}

// The hand-written upload route is documented as it is served: multipart
// part "file", metadata as query parameters, Idempotency-Key, and a
// response schema that matches what an upload really returns.
func TestOpenAPIDescribesTheUploadRoute(t *testing.T) {
	g := startGateway(t, nil)
	doc := fetchOpenAPI(t, g)
	op, ok := doc.Paths["/v1/accounts/{account}/imports"]["post"]
	if !ok {
		t.Fatal("POST /v1/accounts/{account}/imports is not in the document")
	}
	if op.OperationID != "ImportReportService_CreateImport" || !slices.Contains(op.Consumes, "multipart/form-data") {
		t.Errorf("operation %q consumes %v", op.OperationID, op.Consumes)
	}
	got := map[string]string{}
	for _, p := range op.Parameters {
		got[p.In+":"+p.Name] = p.Type
		if p.Required != (p.Name == "account" || p.Name == "importType" || p.Name == "file") {
			t.Errorf("parameter %s required = %v", p.Name, p.Required)
		}
	}
	for _, want := range []string{"path:account", "query:importType", "query:fileName", "query:requestId", "query:expectedSha256", "header:Idempotency-Key"} {
		if got[want] != "string" {
			t.Errorf("parameter %s: type %q, want string (have %v)", want, got[want], got)
		}
	}
	if got["formData:file"] != "file" {
		t.Errorf("no formData file parameter: %v", got)
	}
	for _, code := range []string{"400", "404", "409", "413", "429", "503", "default"} {
		if op.Responses[code].Schema.Ref != "#/definitions/rpcStatus" {
			t.Errorf("response %s is not a google.rpc.Status", code)
		}
	}
	ref := op.Responses["200"].Schema.Ref
	schema, ok := doc.Definitions[strings.TrimPrefix(ref, "#/definitions/")]
	if !ok {
		t.Fatalf("200 response schema %q is not defined", ref)
	}

	// Upload as the document says and compare the answer with the schema.
	code, body, _ := postFile(t, g.baseURL+"/v1/accounts/demo/imports?importType=participants&fileName=doc.csv", "text/csv", strings.NewReader(csvFile))
	if code != http.StatusOK {
		t.Fatalf("upload: HTTP %d %v", code, body)
	}
	for k := range body {
		if _, ok := schema.Properties[k]; !ok {
			t.Errorf("upload response has %q, which %s does not declare", k, ref)
		}
	}
	if !strings.Contains(string(schema.Properties["dataImport"]), `"#/definitions/v1Import"`) {
		t.Errorf("dataImport property = %s; want a v1Import", schema.Properties["dataImport"])
	}
}
