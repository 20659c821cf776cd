package auth_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial to stderr through a process-wide
	// logger; the tests that stop Redis on purpose expect those failures
	// and assert on what the code reports instead.
	redis.SetLogger(&logging.VoidLogger{})
	goleak.VerifyTestMain(m)
}
