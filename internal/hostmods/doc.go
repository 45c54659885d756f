// Package hostmods compares the modules a plugin builds with against the
// modules a host executable links, and says what to do about each
// difference. The host check (internal/hostcheck) and the build of binary
// profiles (internal/build, internal/profile) share it, so that both speak
// the same words for the same conflict.
package hostmods
