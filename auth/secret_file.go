package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// SecretSource supplies a client secret that may change while the service
// runs. ClientCredentials asks it on every token request.
type SecretSource interface {
	Secret() Secret
}

// FileSecret is a client secret kept in a file, as secret stores mount them.
// When a stock plan administrator regenerates the secret in EEO and the file
// is updated, Reload picks up the new value; WatchSecretFiles does that
// periodically and drops the account's cached token.
type FileSecret struct {
	path string

	mu      sync.Mutex
	current Secret    // guarded by mu
	stamp   fileStamp // guarded by mu
}

// fileStamp tells whether a file may have changed without reading it.
type fileStamp struct {
	modTime time.Time
	size    int64
}

// NewFileSecret reads the secret at path. Trailing whitespace is trimmed;
// an empty file is an error.
func NewFileSecret(path string) (*FileSecret, error) {
	f := &FileSecret{path: path}
	if _, err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Secret returns the current secret.
func (f *FileSecret) Secret() Secret {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// Reload re-reads the file if its size or modification time changed and
// reports whether the secret did. On error the previous secret stays.
func (f *FileSecret) Reload() (changed bool, err error) {
	info, err := os.Stat(f.path)
	if err != nil {
		return false, fmt.Errorf("client secret file %s: %w", f.path, err)
	}
	stamp := fileStamp{modTime: info.ModTime(), size: info.Size()}
	f.mu.Lock()
	same := stamp == f.stamp && !f.current.IsZero()
	f.mu.Unlock()
	if same {
		return false, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, fmt.Errorf("client secret file %s: %w", f.path, err)
	}
	value := string(bytes.TrimRight(data, " \t\r\n"))
	if value == "" {
		return false, fmt.Errorf("client secret file %s: empty", f.path)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	changed = !f.current.IsZero() && f.current.Reveal() != value
	f.current, f.stamp = NewSecret(value), stamp
	return changed, nil
}

// WatchSecretFiles reloads each account's secret file every interval until
// ctx ends. When a secret changes, the account's cached token (issued to the
// old credentials) is dropped and any backoff cleared, so the next call
// fetches a token with the new secret at once.
func WatchSecretFiles(ctx context.Context, cache *Cache, files map[string]*FileSecret, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for account, f := range files {
			changed, err := f.Reload()
			if err != nil {
				log.Warn("client secret file unreadable; keeping the previous secret", "account", account, "error", err)
				continue
			}
			if !changed {
				continue
			}
			if err := cache.Reset(account); err != nil && !errors.Is(err, ErrUnknownAccount) {
				log.Warn("resetting token after secret rotation", "account", account, "error", err)
			}
			log.Info("client secret rotated; cached token dropped", "account", account)
		}
	}
}
