// Package plugtest helps tests build real plugins: it makes scratch copies
// of this module with the files a test needs, and builds plugins and hosts
// with the real go command. Only tests import it.
package plugtest
