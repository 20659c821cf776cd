// Package openapimerge adds hand-written operations to the OpenAPI v2
// document that protoc-gen-openapiv2 generates from proto/.
//
// protoc-gen-openapiv2 describes only methods with a google.api.http rule;
// the REST upload route (a raw or multipart body feeding a client stream)
// is hand-written in server/ and has no such rule, so its description lives
// in proto/openapi/*.json and is merged in by `make generate`.
package openapimerge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
)

// Merge returns base with fragment's paths and definitions added. fragment
// is an object with optional "paths" (path → method → operation) and
// "definitions" (name → schema). An operation or definition that base
// already has is an error rather than an override, so a route that later
// gains a google.api.http rule is not described twice; so is a $ref that
// resolves to no definition. The result is indented like
// protoc-gen-openapiv2's output and ends in a newline.
func Merge(base, fragment []byte) ([]byte, error) {
	doc, err := parseObject(base)
	if err != nil {
		return nil, fmt.Errorf("base document: %w", err)
	}
	frag, err := parseObject(fragment)
	if err != nil {
		return nil, fmt.Errorf("fragment: %w", err)
	}
	for _, k := range frag.keys {
		switch k {
		case "paths", "definitions":
		default:
			return nil, fmt.Errorf("fragment: unsupported key %q (only paths and definitions merge)", k)
		}
	}
	if err := mergePaths(doc, frag); err != nil {
		return nil, err
	}
	if err := mergeDefinitions(doc, frag); err != nil {
		return nil, err
	}
	out, err := doc.raw()
	if err != nil {
		return nil, err
	}
	if err := checkRefs(out); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "  "); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func mergePaths(doc, frag *object) error {
	fpaths, err := frag.child("paths")
	if err != nil {
		return err
	}
	paths, err := doc.child("paths")
	if err != nil {
		return err
	}
	for _, p := range fpaths.keys {
		fops, err := fpaths.child(p)
		if err != nil {
			return err
		}
		ops, err := paths.child(p)
		if err != nil {
			return err
		}
		for _, m := range fops.keys {
			if ops.has(m) {
				return fmt.Errorf("fragment: %s %s is already in the generated document", m, p)
			}
			ops.set(m, fops.values[m])
		}
		raw, err := ops.raw()
		if err != nil {
			return err
		}
		paths.set(p, raw)
	}
	raw, err := paths.raw()
	if err != nil {
		return err
	}
	doc.set("paths", raw)
	return nil
}

// mergeDefinitions adds the fragment's definitions, keeping the generator's
// alphabetical order.
func mergeDefinitions(doc, frag *object) error {
	fdefs, err := frag.child("definitions")
	if err != nil {
		return err
	}
	if len(fdefs.keys) == 0 {
		return nil
	}
	defs, err := doc.child("definitions")
	if err != nil {
		return err
	}
	for _, name := range fdefs.keys {
		if defs.has(name) {
			return fmt.Errorf("fragment: definition %q is already in the generated document", name)
		}
		defs.set(name, fdefs.values[name])
	}
	slices.Sort(defs.keys)
	raw, err := defs.raw()
	if err != nil {
		return err
	}
	doc.set("definitions", raw)
	return nil
}

var refPattern = regexp.MustCompile(`"\$ref":\s*"#/definitions/([^"]+)"`)

func checkRefs(doc []byte) error {
	var parsed struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		return err
	}
	for _, m := range refPattern.FindAllSubmatch(doc, -1) {
		if _, ok := parsed.Definitions[string(m[1])]; !ok {
			return fmt.Errorf("$ref to #/definitions/%s, which is not defined", m[1])
		}
	}
	return nil
}
