package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Load builds the configuration from the YAML file at path, defaults, the
// environment and the accounts' client secrets, then validates it; the
// package documentation lists the steps and the environment variables.
// An empty path skips the file and starts from Default.
//
// getenv and readFile are the process environment and file system, passed
// in so that tests and embedders need neither; production code passes
// os.Getenv and os.ReadFile. readFile reads both the config file and
// client_secret_file.
//
// On error Load returns the zero Config, so a half-loaded Config carrying
// some secrets cannot be used by mistake, and an error that joins every
// problem found (errors.Join), one per line, each naming its field, its
// environment variable or its file.
func Load(path string, getenv func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	if getenv == nil || readFile == nil {
		return Config{}, errors.New("config: Load needs getenv and readFile; pass os.Getenv and os.ReadFile")
	}
	var data []byte
	if path != "" {
		var err error
		if data, err = readFile(path); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	c, errs := build(data, getenv, readFile)
	// Check places decode errors in the file itself; here they say which
	// file.
	for i, err := range errs.decode {
		errs.decode[i] = fmt.Errorf("config file %s: %w", path, err)
	}
	if all := errs.all(); len(all) > 0 {
		return Config{}, errors.Join(all...)
	}
	return c, nil
}

// buildErrors are the problems build found, by step, because Check treats
// a secret it cannot read differently from a mistake in the file.
type buildErrors struct {
	decode, env, secrets, validation []error
}

// all returns every problem in the order the steps ran.
func (b buildErrors) all() []error {
	return slices.Concat(b.decode, b.env, b.secrets, b.validation)
}

// build is Load after the file is read (data, nil for no file): decode,
// defaults, environment, secrets, validation. It returns the Config as far
// as it got, which the caller must not use if there are errors.
func build(data []byte, getenv func(string) string, readFile func(string) ([]byte, error)) (Config, buildErrors) {
	var c Config
	if data != nil {
		if errs := decode(data, &c); len(errs) > 0 {
			// A file that does not parse says nothing reliable about the
			// rest, so stop here rather than pile on validation noise.
			return Config{}, buildErrors{decode: errs}
		}
	}
	c.setDefaults()

	// From here on problems are independent, so collect them all: an
	// operator fixing a deployment wants the whole list in one run.
	var errs buildErrors
	errs.env = applyEnv(&c, getenv)
	var unresolved map[int]bool
	unresolved, errs.secrets = resolveSecrets(c.Accounts, getenv, readFile)
	errs.secrets = append(errs.secrets, resolveRedisSecrets(c.Redis, getenv, readFile)...)
	errs.validation = c.validate(unresolved)
	return c, errs
}

// decode unmarshals a YAML document into c.
//
// yaml.UnmarshalStrict does the decoding, but its errors come from
// encoding/json, which reports an unknown field without saying where it is
// and passes a Duration's error on with no field at all. So the document is
// first walked against Config's type by checkShape, which names the path of
// every problem; UnmarshalStrict then only fails on what the walk missed.
func decode(data []byte, c *Config) []error {
	// YAMLToJSONStrict rejects duplicate keys, which plain YAML decoding
	// resolves silently in favour of the last one.
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return []error{err}
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber() // keep numbers as written for Duration's error messages
	if err := dec.Decode(&doc); err != nil {
		return []error{err}
	}
	if errs := checkShape("", doc, reflect.TypeFor[Config]()); len(errs) > 0 {
		return errs
	}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return []error{err}
	}
	return nil
}

// checkShape reports, by field path, where the decoded document v does not
// fit type t: unknown fields, a list where a mapping belongs, a bad
// duration. It is stricter than encoding/json in one way: field names must
// match exactly, where encoding/json would accept "GRPC_Addr".
func checkShape(path string, v any, t reflect.Type) []error {
	if v == nil {
		return nil // null, or a key with no value: the field keeps its default
	}
	if t == reflect.TypeFor[Duration]() {
		switch v.(type) {
		case string, json.Number:
			raw, err := json.Marshal(v)
			if err == nil {
				err = new(Duration).UnmarshalJSON(raw)
			}
			if err != nil {
				return []error{fieldErr(path, err)}
			}
			return nil
		}
		return []error{fieldErrorf(path, "must be a duration like \"30s\" or a number of seconds, got %s", describe(v))}
	}

	switch t.Kind() {
	case reflect.Pointer:
		// An optional section (access.jwt, redis): present, it is checked
		// as the struct it points to.
		return checkShape(path, v, t.Elem())
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return []error{fieldErrorf(path, "must be a mapping of fields, got %s", describe(v))}
		}
		var errs []error
		// Sorted, because map order would make the error text vary from
		// run to run.
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := joinPath(path, k)
			f, ok := fieldByName(t, k)
			if !ok {
				errs = append(errs, unknownField(p, k, t))
				continue
			}
			errs = append(errs, checkShape(p, m[k], f.Type)...)
		}
		return errs
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return []error{fieldErrorf(path, "must be a list, got %s", describe(v))}
		}
		var errs []error
		for i, e := range l {
			errs = append(errs, checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())...)
		}
		return errs
	case reflect.Int64:
		if n, ok := v.(json.Number); ok {
			if _, err := n.Int64(); err == nil {
				return nil
			}
		}
		return []error{fieldErrorf(path, "must be a whole number, got %s", describe(v))}
	case reflect.String:
		switch v.(type) {
		// sigs.k8s.io/yaml turns a YAML number or boolean into a string
		// when the target is a string, so "client_id: 12345" is fine.
		case string, json.Number, bool:
			return nil
		}
		return []error{fieldErrorf(path, "must be a string, got %s", describe(v))}
	}
	return nil
}

// fieldByName finds the struct field whose json name is exactly name. Fields
// tagged "-", such as Account.ClientSecret, have no name and are never
// found.
func fieldByName(t reflect.Type, name string) (reflect.StructField, bool) {
	for _, f := range reflect.VisibleFields(t) {
		if tagName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// unknownField explains a key that matches no field of t, with a hint for the
// two likely causes: wrong case, and a secret pasted into the file.
func unknownField(path, key string, t reflect.Type) error {
	if key == "client_secret" && t == reflect.TypeFor[Account]() {
		return fieldErrorf(path, "unknown field: the file says where the secret is (client_secret_env or client_secret_file), never the secret itself")
	}
	for _, f := range reflect.VisibleFields(t) {
		if n := tagName(f); n != "" && strings.EqualFold(n, key) {
			return fieldErrorf(path, "unknown field (field names are case-sensitive: did you mean %q?)", n)
		}
	}
	return fieldErrorf(path, "unknown field")
}

// tagName is the field's name in the file: its json tag, or "" if it has
// none or is tagged "-".
func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// joinPath appends a field name to a path such as "accounts[0]".
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names the YAML kind of a decoded value for error messages. It
// never includes the value, which might be a secret pasted in the wrong place.
func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("a %T", v)
}
