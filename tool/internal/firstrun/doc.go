// Package firstrun tests what a newcomer sees of the README's first
// command, go run mage.go all, on a fresh copy of this repository: on a
// terminal and in a log, every line within 100 columns, no phase silent
// for more than 10 seconds, one count of the matrix's cells, and the
// development-key notice once. It holds tests only.
package firstrun
