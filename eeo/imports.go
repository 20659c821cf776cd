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
	var out struct {
		ImportTypes []ImportType `json:"import_types"`
	}
	r := &request{op: "list import types", method: http.MethodGet, url: c.endpoint(nil, "v1", "import-types")}
	if err := c.doJSON(ctx, r, &out, nil); err != nil {
		return nil, err
	}
	return out.ImportTypes, nil
}

// GetImport returns one import (GET /v1/imports/{id}). Another client's id,
// like an unknown one, is an *Error with Code "not_found".
func (c *Client) GetImport(ctx context.Context, id string) (Import, error) {
	return c.importCall(ctx, "get import", http.MethodGet, id)
}

// CancelImport cancels an import that has not finished
// (POST /v1/imports/{id}/cancel) and returns it. A finished one is an *Error
// with Code "not_cancellable".
func (c *Client) CancelImport(ctx context.Context, id string) (Import, error) {
	return c.importCall(ctx, "cancel import", http.MethodPost, id, "cancel")
}

// importCall is a call on one import that answers with it.
func (c *Client) importCall(ctx context.Context, op, method, id string, suffix ...string) (Import, error) {
	seg, err := pathID(op, id)
	if err != nil {
		return Import{}, err
	}
	var imp Import
	// GETs are idempotent, and so is cancelling: a repeat finds it
	// cancelled already (or, if the first never arrived, cancels it).
	r := &request{op: op, method: method, idempotent: true, url: c.endpoint(nil, append([]string{"v1", "imports", seg}, suffix...)...)}
	if err := c.doJSON(ctx, r, &imp, func() error { return needID("import", imp.ID) }); err != nil {
		return Import{}, err
	}
	return imp, nil
}

// ListImports returns one page of the account's imports, newest first
// (GET /v1/imports). q.Type filters by import type.
func (c *Client) ListImports(ctx context.Context, q ListQuery) (ImportPage, error) {
	var page ImportPage
	r := &request{op: "list imports", method: http.MethodGet, url: c.endpoint(listValues(q, "import_type"), "v1", "imports")}
	err := c.doJSON(ctx, r, &page, func() error {
		for _, imp := range page.Imports {
			if err := needID("import", imp.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ImportPage{}, err
	}
	return page, nil
}

// ListImportErrors returns one page of an import's row errors, in row order
// (GET /v1/imports/{id}/errors). Only q.PageSize and q.PageToken apply.
func (c *Client) ListImportErrors(ctx context.Context, id string, q ListQuery) (ImportErrorPage, error) {
	const op = "list import errors"
	seg, err := pathID(op, id)
	if err != nil {
		return ImportErrorPage{}, err
	}
	var page ImportErrorPage
	r := &request{op: op, method: http.MethodGet,
		url: c.endpoint(listValues(ListQuery{PageSize: q.PageSize, PageToken: q.PageToken}, ""), "v1", "imports", seg, "errors")}
	if err := c.doJSON(ctx, r, &page, nil); err != nil {
		return ImportErrorPage{}, err
	}
	return page, nil
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
