//go:build !race

package twitter

const raceEnabled = false
