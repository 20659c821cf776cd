package filebench

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Direct is the EEO endpoint itself (the sandbox), for the same transfers
// made without the gateway: the baseline the gateway's throughput is
// compared with.
type Direct struct {
	BaseURL      string
	ClientID     string
	ClientSecret string
}

// The transfers made straight against EEO.
const (
	UploadDirect   = "upload direct"
	DownloadDirect = "download direct"
)

// token gets an access token with the client-credentials grant.
func (d Direct) token(ctx context.Context) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.BaseURL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(url.QueryEscape(d.ClientID), url.QueryEscape(d.ClientSecret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := doJSON(req, &body); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return body.AccessToken, nil
}

func (d Direct) upload(ctx context.Context, size int64) (int64, error) {
	tok, err := d.token(ctx)
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	q := url.Values{"import_type": {"participants"}, "file_name": {"bench.csv"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.BaseURL+"/v1/imports?"+q.Encode(), io.TeeReader(NewCSV(size), h))
	if err != nil {
		return 0, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+tok)
	var body struct {
		SHA256 string `json:"sha256"`
	}
	if err := doJSON(req, &body); err != nil {
		return 0, err
	}
	return size, checkSum(h, body.SHA256)
}

func (d Direct) download(ctx context.Context, reportID string, wantSize int64, wantSum string) (int64, error) {
	tok, err := d.token(ctx)
	if err != nil {
		return 0, err
	}
	return downloadChecked(ctx, d.BaseURL+"/v1/reports/"+url.PathEscape(reportID)+"/content", tok, nil, wantSize, wantSum)
}

func doJSON(req *http.Request, into any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}
