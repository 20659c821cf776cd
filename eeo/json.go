package eeo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// doJSON makes the call r through the pipeline and decodes its 2xx JSON
// answer into out. check, if set, validates the decoded value; its error
// makes the answer malformed.
func (c *Client) doJSON(ctx context.Context, r *request, out any, check func() error) error {
	r.answer = func(ctx context.Context, resp *http.Response) error {
		return c.readJSON(ctx, r.op, resp, out, check)
	}
	_, err := c.pipe.run(ctx, r)
	return err
}

// readJSON decodes a 2xx answer into out within an attempt.
func (c *Client) readJSON(ctx context.Context, op string, resp *http.Response, out any, check func() error) error {
	status := resp.StatusCode
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxJSON+1))
	if err != nil {
		// The answer was cut off: whatever EEO did, we cannot know it.
		return transportError(ctx, op, err)
	}
	if int64(len(data)) > c.maxJSON {
		return malformed(op, status, fmt.Errorf("response body exceeds %d bytes", c.maxJSON))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return malformed(op, status, decodeError(err))
	}
	if check != nil {
		if err := check(); err != nil {
			return malformed(op, status, err)
		}
	}
	return nil
}

// jsonBody returns a request body function sending v as JSON. The encoded
// bytes are shared by every attempt, so a retry sends the same body.
func jsonBody(v any) (func(*http.Request) *uploadBody, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func(req *http.Request) *uploadBody {
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(data))
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		return nil // replayable: nothing for roundTrip to track
	}, nil
}

// decodeError describes a JSON decoding failure without quoting the input:
// some of encoding/json's and time.Time's messages repeat values from the
// body, and a body is EEO's text, which errors never carry.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errors.New("invalid JSON at byte " + strconv.FormatInt(syntax.Offset, 10))
	case errors.As(err, &typ):
		return fmt.Errorf("JSON value at byte %d cannot be a %v", typ.Offset, typ.Type)
	}
	return errors.New("invalid JSON value (timestamps must be RFC 3339)")
}
