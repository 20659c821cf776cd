package eeo

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// Imports and reports are called alike: a list of types, one object by id,
// an action on it, a page of them, each answer checked for ids.

// needID is a doJSON check: an object without an id is of no use.
func needID(kind, id string) error {
	if id == "" {
		return errors.New(kind + " has no id")
	}
	return nil
}

// getJSON GETs the JSON answer at segments under the base URL.
func getJSON[T any](ctx context.Context, c *Client, op string, query url.Values, segments ...string) (T, error) {
	var out, zero T
	r := &request{op: op, method: http.MethodGet, url: c.endpoint(query, segments...)}
	if err := c.doJSON(ctx, r, &out, nil); err != nil {
		return zero, err
	}
	return out, nil
}

// listCall fetches one page of a collection ("imports" or "reports")
// whose objects, which items returns, must each have an id.
func listCall[P, T any](ctx context.Context, c *Client, op, collection string, query url.Values, items func(P) []T, idOf func(T) (kind, id string)) (P, error) {
	var page, zero P
	r := &request{op: op, method: http.MethodGet, url: c.endpoint(query, "v1", collection)}
	err := c.doJSON(ctx, r, &page, func() error {
		for _, o := range items(page) {
			if err := needID(idOf(o)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return zero, err
	}
	return page, nil
}

// objectCall is a call on one import or report (collection "imports" or
// "reports") that answers with the object: a GET, or a POST to an action
// (suffix) such as "cancel". Both are idempotent: a repeated cancel finds
// the object cancelled already (or, if the first never arrived, cancels
// it).
func objectCall[T any](ctx context.Context, c *Client, op, method, collection, id string, idOf func(T) (kind, id string), suffix ...string) (T, error) {
	var obj, zero T
	seg, err := pathID(op, id)
	if err != nil {
		return zero, err
	}
	r := &request{op: op, method: method, idempotent: true, url: c.endpoint(nil, append([]string{"v1", collection, seg}, suffix...)...)}
	if err := c.doJSON(ctx, r, &obj, func() error { return needID(idOf(obj)) }); err != nil {
		return zero, err
	}
	return obj, nil
}

// importID names an import and its id for needID.
func importID(imp Import) (kind, id string) { return "import", imp.ID }

// reportID names a report and its id for needID.
func reportID(rep Report) (kind, id string) { return "report", rep.ID }
