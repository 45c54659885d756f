package sign

// FullChecks is the number of files this process has checked in full
// because no sign state held for them.
func FullChecks() int64 { return fullChecks.Load() }

// StatePath is the sign state file of the plugin file at file under dist.
func StatePath(dist, file string) string { return statePath(dist, file) }
