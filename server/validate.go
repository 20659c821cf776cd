package server

import (
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/eeo-gateway/eeo-gateway/eeo"
	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
)

// Limits on request fields: generous for real use, small enough that a
// malicious request cannot make the gateway or EEO do much work.
const (
	maxPageSize      = 1000
	maxPageToken     = 1024
	maxRequestID     = 255
	maxFileName      = 255
	maxParameters    = 50
	maxParameterSize = 1024
)

var (
	idPattern        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	namePattern      = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	printableASCII   = regexp.MustCompile(`^[\x21-\x7e]+$`)
	mediaTypePattern = regexp.MustCompile(`^[a-zA-Z0-9!#$&^_.+-]{1,127}/[a-zA-Z0-9!#$&^_.+-]{1,127}$`)
)

// maxAccountName is the longest account name a configuration may hold
// (config: ^[a-z][a-z0-9-]{0,62}$).
const maxAccountName = 63

// requireAccount checks the account field where it enters: present, and
// shaped like a configured account name, so a megabyte of "account" is
// refused in a few bytes and never reaches an error message, a log line or
// a lookup.
func requireAccount(account string) error {
	if account == "" {
		return rpcerr.InvalidField("account", "required: the name of a configured account, see ListAccounts")
	}
	if len(account) > maxAccountName || !accountName(account) {
		return rpcerr.InvalidField("account", "must be an account name: a lower-case letter, then up to 62 lower-case letters, digits or '-'")
	}
	return nil
}

// accountName reports whether s has the form of an account name.
func accountName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return true
}

func checkID(field, id string) error {
	if id == "" {
		return rpcerr.InvalidField(field, "required")
	}
	if !idPattern.MatchString(id) {
		return rpcerr.InvalidField(field, "must be 1-128 letters, digits, '_' or '-'")
	}
	return nil
}

func checkName(field, name string) error {
	if name == "" {
		return rpcerr.InvalidField(field, "required")
	}
	if !namePattern.MatchString(name) {
		return rpcerr.InvalidField(field, "must be 1-64 letters, digits, '_', '.' or '-'")
	}
	return nil
}

func checkRequestID(id string) error {
	if id != "" && (len(id) > maxRequestID || !printableASCII.MatchString(id)) {
		return rpcerr.InvalidField("request_id", "must be at most 255 printable ASCII characters without spaces")
	}
	return nil
}

func checkFileName(name string) error {
	switch {
	case name == "":
		return rpcerr.InvalidField("file_name", "required")
	case len(name) > maxFileName || strings.ContainsAny(name, "/\\\x00\r\n"):
		return rpcerr.InvalidField("file_name", "must be a base name of at most 255 bytes")
	}
	return nil
}

func checkContentType(ct string) error {
	if !mediaTypePattern.MatchString(ct) {
		return rpcerr.InvalidField("content_type", "must be a media type such as text/csv")
	}
	return nil
}

// normalizeSHA256 accepts a hex SHA-256 in either case and returns it in
// lower case, the form EEO and the Import resource use.
func normalizeSHA256(field, sum string) (string, error) {
	if sum == "" {
		return "", nil
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return "", rpcerr.InvalidField(field, "must be 64 hex digits")
	}
	return strings.ToLower(sum), nil
}

// listQuery checks paging fields. Page sizes above the maximum are reduced
// rather than refused (AIP-158).
func listQuery(pageSize int32, pageToken, state, typ string) (eeo.ListQuery, error) {
	if pageSize < 0 {
		return eeo.ListQuery{}, rpcerr.InvalidField("page_size", "must not be negative")
	}
	if len(pageToken) > maxPageToken {
		return eeo.ListQuery{}, rpcerr.InvalidField("page_token", "too long; pass next_page_token unchanged")
	}
	if typ != "" && !namePattern.MatchString(typ) {
		return eeo.ListQuery{}, rpcerr.InvalidField("type", "must be 1-64 letters, digits, '_', '.' or '-'")
	}
	return eeo.ListQuery{PageSize: int(min(pageSize, maxPageSize)), PageToken: pageToken, State: state, Type: typ}, nil
}

func checkParameters(params map[string]string) error {
	if len(params) > maxParameters {
		return rpcerr.InvalidField("parameters", "at most 50 parameters")
	}
	for k, v := range params {
		if !namePattern.MatchString(k) {
			return rpcerr.InvalidField("parameters", "parameter names must be 1-64 letters, digits, '_', '.' or '-'")
		}
		if len(v) > maxParameterSize {
			return rpcerr.InvalidField("parameters["+k+"]", "value longer than 1024 bytes")
		}
	}
	return nil
}
