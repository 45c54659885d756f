package testenv

import (
	"strings"
	"testing"
)

// The apt step changes the machine no more than the tests need: the
// packages and their dependencies, no recommended packages, no upgrade of
// what is installed; a simulation says first what it will install.
func TestAptCommands(t *testing.T) {
	update, simulate, install := AptCommands([]string{"chromium", "gcc-aarch64-linux-gnu"})
	for _, c := range []struct {
		got  []string
		want string
	}{
		{update, "apt-get update -qq"},
		{simulate, "apt-get install --simulate --no-install-recommends --no-upgrade chromium gcc-aarch64-linux-gnu"},
		{install, "apt-get install -y -qq --no-install-recommends --no-upgrade chromium gcc-aarch64-linux-gnu"},
	} {
		if got := strings.Join(c.got, " "); got != c.want {
			t.Errorf("command %q, want %q", got, c.want)
		}
	}
	if got := Command([]string{"chromium"}); !strings.Contains(got, "apt-get install -y --no-install-recommends chromium") {
		t.Errorf("the command for people: %q", got)
	}
	adds, ups := aptPlan(`NOTE: This is only a simulation!
Reading package lists...
Inst libc6 [2.36-9+deb12u7] (2.36-9+deb12u9 Debian-Security:12/stable-security [amd64])
Inst cpp-12-aarch64-linux-gnu (12.2.0-14cross1 Debian:12.8/stable [amd64])
Inst gcc-aarch64-linux-gnu (4:12.2.0-3 Debian:12.8/stable [amd64])
Conf gcc-aarch64-linux-gnu (4:12.2.0-3 Debian:12.8/stable [amd64])
`)
	if strings.Join(adds, " ") != "cpp-12-aarch64-linux-gnu gcc-aarch64-linux-gnu" || strings.Join(ups, " ") != "libc6" {
		t.Errorf("aptPlan: install %v, upgrade %v", adds, ups)
	}
}
