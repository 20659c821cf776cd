// Package paging pages the lists the gateway holds whole — the configured
// accounts, an account's import and report types — with AIP-158 page
// tokens, so those List methods page like the ones EEO pages itself and a
// caller's loop is the same for every List method.
//
// A token is opaque to callers: base64url of a version, the offset of the
// next item and a checksum of the list's scope (the method and every
// request field other than page_size and page_token). A token that does not
// decode, or that came from another list or another account, is
// INVALID_ARGUMENT naming page_token, never a silently wrong page.
package paging

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"

	"github.com/eeo-gateway/eeo-gateway/internal/rpcerr"
)

// Page sizes: a page_size of 0 means DefaultSize, and sizes above MaxSize
// are reduced to it rather than refused (AIP-158).
const (
	DefaultSize = 100
	MaxSize     = 1000
)

const (
	version    = 1
	sumLen     = 8
	maxToken   = 64 // far above any token Page issues
	fieldToken = "page_token"
	fieldSize  = "page_size"
)

// Page returns the page of items that pageSize and pageToken ask for, and
// the token of the next page ("" on the last). scope must name the list and
// every filter that shaped items, for example "ListImportTypes\x00acme",
// so a token is only accepted by the list that issued it. Errors are
// INVALID_ARGUMENT status errors naming the field at fault.
func Page[T any](items []T, pageSize int32, pageToken, scope string) ([]T, string, error) {
	if pageSize < 0 {
		return nil, "", rpcerr.InvalidField(fieldSize, "must not be negative")
	}
	size := DefaultSize
	if pageSize > 0 {
		size = int(min(pageSize, MaxSize))
	}
	offset := 0
	if pageToken != "" {
		var ok bool
		if offset, ok = decode(pageToken, scope); !ok {
			return nil, "", rpcerr.InvalidField(fieldToken, "not a next_page_token of this list: pass it unchanged, with the same request fields")
		}
	}
	if offset >= len(items) {
		// The list shrank since the token was issued: nothing left.
		return items[:0], "", nil
	}
	end := min(offset+size, len(items))
	next := ""
	if end < len(items) {
		next = encode(end, scope)
	}
	return items[offset:end], next, nil
}

func encode(offset int, scope string) string {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+sumLen)
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(offset))
	b = append(b, scopeSum(scope)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decode(token, scope string) (int, bool) {
	if len(token) > maxToken {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+1+sumLen || b[0] != version {
		return 0, false
	}
	off, n := binary.Uvarint(b[1:])
	if n <= 0 || 1+n+sumLen != len(b) || off > uint64(maxOffset) {
		return 0, false
	}
	if string(b[1+n:]) != string(scopeSum(scope)) {
		return 0, false
	}
	return int(off), true
}

// maxOffset keeps a forged offset inside int on every platform.
const maxOffset = 1<<31 - 1

func scopeSum(scope string) []byte {
	sum := sha256.Sum256([]byte("eeo-gateway page token " + strconv.Itoa(version) + "\x00" + scope))
	return sum[:sumLen]
}
