// Package distlock keeps two runs from writing one output folder (dist/)
// at once. A run that writes dist/ takes the lock file dist/.lock (an
// flock, so a run that dies lets go of it with its process) and writes its
// pid, what it runs and since when into it; a second run waits for it,
// saying once which process it waits for, and goes on when it ends.
package distlock
