package config

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode"

	"github.com/eeo-gateway/eeo-gateway/auth"
)

// resolveSecrets fills each account's ClientSecret from its
// client_secret_env or client_secret_file. It returns the indexes of the
// accounts it could not fill, with one error each.
//
// Accounts naming neither source or both are skipped: which source is meant
// is a validation question, and Validate reports it.
//
// No error here contains a secret: they name the variable or the file, and
// the value is only ever held as an auth.Secret.
func resolveSecrets(accounts []Account, getenv func(string) string, readFile func(string) ([]byte, error)) (unresolved map[int]bool, errs []error) {
	for i := range accounts {
		a := &accounts[i]
		var field string
		var err error
		switch {
		case a.ClientSecretEnv != "" && a.ClientSecretFile == "":
			field = "client_secret_env"
			a.ClientSecret, err = secretFromEnv(a.ClientSecretEnv, getenv)
		case a.ClientSecretFile != "" && a.ClientSecretEnv == "":
			field = "client_secret_file"
			a.ClientSecret, err = secretFromFile(a.ClientSecretFile, readFile)
		default:
			continue
		}
		if err != nil {
			if unresolved == nil {
				unresolved = make(map[int]bool)
			}
			unresolved[i] = true
			errs = append(errs, fieldErr(fmt.Sprintf("accounts[%d].%s", i, field), err))
		}
	}
	return unresolved, errs
}

// secretFromEnv reads the secret from the environment variable name.
func secretFromEnv(name string, getenv func(string) string) (auth.Secret, error) {
	v := getenv(name)
	if v == "" {
		return auth.Secret{}, fmt.Errorf("environment variable %s is unset or empty", name)
	}
	return auth.NewSecret(v), nil
}

// secretFromFile reads the secret from the file at path. Trailing
// whitespace is trimmed because `echo secret > file` and most secret
// mounts end the file with a newline that is not part of the secret.
func secretFromFile(path string, readFile func(string) ([]byte, error)) (auth.Secret, error) {
	b, err := readFile(path)
	if err != nil {
		// An *fs.PathError already names the file; other errors (from a
		// readFile that is not os.ReadFile) may not.
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == path {
			return auth.Secret{}, fmt.Errorf("reading secret file: %w", err)
		}
		return auth.Secret{}, fmt.Errorf("reading secret file %s: %w", path, err)
	}
	s := strings.TrimRightFunc(string(b), unicode.IsSpace)
	if s == "" {
		return auth.Secret{}, fmt.Errorf("secret file %s is empty", path)
	}
	return auth.NewSecret(s), nil
}
