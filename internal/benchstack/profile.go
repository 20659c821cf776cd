package benchstack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
)

// SaveProfile GETs a pprof profile from url (a gateway's admin listener
// with admin.pprof on, e.g. Stack.AdminURL+"/debug/pprof/allocs") and
// writes it to path.
func SaveProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d (is the gateway's admin.pprof on?)", url, resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
