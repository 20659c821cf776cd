package exitcode_test

import (
	"errors"
	"fmt"

	"github.com/eeo-gateway/eeo-gateway/cmd/eeo-gateway/internal/exitcode"
)

func ExampleOf() {
	notFound := exitcode.With(exitcode.NotFound, errors.New(`import "imp_1" not found`))
	wrapped := fmt.Errorf("getting the import: %w", notFound)
	fmt.Println(exitcode.Of(nil), exitcode.Of(errors.New("disk full")), exitcode.Of(wrapped))
	// Output: 0 1 4
}
