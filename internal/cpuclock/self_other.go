//go:build !unix

package cpuclock

import "time"

// Self is not measured on this platform; it returns 0.
func Self() time.Duration { return 0 }
