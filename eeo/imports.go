package eeo

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// ListImportTypes returns the kinds of file EEO imports
// (GET /v1/import-types).
func (c *Client) ListImportTypes(ctx context.Context) ([]ImportType, error) {
	out, err := getJSON[struct {
		ImportTypes []ImportType `json:"import_types"`
	}](ctx, c, "list import types", nil, "v1", "import-types")
	return out.ImportTypes, err
}

// GetImport returns one import (GET /v1/imports/{id}). Another client's id,
// like an unknown one, is an *Error with Code "not_found".
func (c *Client) GetImport(ctx context.Context, id string) (Import, error) {
	return objectCall(ctx, c, "get import", http.MethodGet, "imports", id, importID)
}

// CancelImport cancels an import that has not finished
// (POST /v1/imports/{id}/cancel) and returns it. A finished one is an *Error
// with Code "not_cancellable".
func (c *Client) CancelImport(ctx context.Context, id string) (Import, error) {
	return objectCall(ctx, c, "cancel import", http.MethodPost, "imports", id, importID, "cancel")
}

// ListImports returns one page of the account's imports, newest first
// (GET /v1/imports). q.Type filters by import type.
func (c *Client) ListImports(ctx context.Context, q ListQuery) (ImportPage, error) {
	return listCall(ctx, c, "list imports", "imports", listValues(q, "import_type"), func(p ImportPage) []Import { return p.Imports }, importID)
}

// ListImportErrors returns one page of an import's row errors, in row order
// (GET /v1/imports/{id}/errors). Only q.PageSize and q.PageToken apply.
func (c *Client) ListImportErrors(ctx context.Context, id string, q ListQuery) (ImportErrorPage, error) {
	const op = "list import errors"
	seg, err := pathID(op, id)
	if err != nil {
		return ImportErrorPage{}, err
	}
	return getJSON[ImportErrorPage](ctx, c, op, listValues(ListQuery{PageSize: q.PageSize, PageToken: q.PageToken}, ""), "v1", "imports", seg, "errors")
}

// listValues is the query of a list call; typeParam names the Type filter.
// Zero values are left out so EEO's defaults apply.
func listValues(q ListQuery, typeParam string) url.Values {
	v := url.Values{}
	if q.PageSize > 0 {
		v.Set("page_size", strconv.Itoa(q.PageSize))
	}
	if q.PageToken != "" {
		v.Set("page_token", q.PageToken)
	}
	if q.State != "" {
		v.Set("state", q.State)
	}
	if q.Type != "" && typeParam != "" {
		v.Set(typeParam, q.Type)
	}
	return v
}
