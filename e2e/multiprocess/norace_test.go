//go:build !race

package multiprocess_test

// raceBuild: see race_test.go.
const raceBuild = false
