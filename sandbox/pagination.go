package sandbox

import (
	"encoding/base64"
	"net/url"
	"strconv"
)

// maxPageSize is the largest page served; larger requests get this many.
const maxPageSize = 1000

// page is a parsed page_size and page_token.
type page struct {
	size int
	pos  int // position the token encodes; -1 when there is none
}

// parsePage reads page_size (default def) and page_token from q. A
// page_size over the maximum is lowered to it rather than refused, as
// AIP-158 suggests, so a client asking for "everything" still works.
func parsePage(q url.Values, def int) (page, *apiError) {
	p := page{size: def, pos: -1}
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, errRequest("page_size", "must be a non-negative integer")
		}
		if n > 0 {
			p.size = min(n, maxPageSize)
		}
	}
	if t := q.Get("page_token"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			return p, errRequest("page_token", "not a page token from this list")
		}
		p.pos = n
	}
	return p, nil
}

// pageToken encodes a position. Tokens are opaque to clients; base64 only
// discourages them from building their own.
func pageToken(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(pos)))
}

// newestFirst returns one page of list (oldest first, append-only) from
// newest to oldest, keeping the items for which view reports true. The
// token is a position in list, so objects created between two page
// requests neither repeat nor shift items across pages. The next token is
// empty only when no further item matches, so the last page is never empty.
func newestFirst[R, V any](list []*R, p page, view func(*R) (V, bool)) ([]V, string) {
	start := len(list)
	if p.pos >= 0 {
		start = min(p.pos, len(list))
	}
	out := make([]V, 0, min(p.size, start))
	for i := start - 1; i >= 0; i-- {
		v, ok := view(list[i])
		if !ok {
			continue
		}
		if len(out) == p.size {
			return out, pageToken(i + 1)
		}
		out = append(out, v)
	}
	return out, ""
}

// inOrder returns one page of items in their own order; the token is an
// offset, which is stable because items never change. The page shares
// items' array, which is safe for the same reason.
func inOrder[T any](items []T, p page) ([]T, string) {
	start := min(max(p.pos, 0), len(items))
	end := min(start+p.size, len(items))
	next := ""
	if end < len(items) {
		next = pageToken(end)
	}
	if end == start {
		return []T{}, next // [] rather than null in JSON
	}
	return items[start:end], next
}
