//go:build race

package benchstack

const raceEnabled = true
