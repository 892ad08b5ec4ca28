//go:build race

package safety

// raceEnabled: the race detector slows code five to tenfold, so wall-clock
// limits are not checked under it (step counts still are).
const raceEnabled = true
