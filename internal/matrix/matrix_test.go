package matrix

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The ABI tags of sample: the showcase host's and its plugins', and the
// untrimmed host's.
const abiA, abiB = "go1.26.8-aaaaaaaa", "go1.26.8-bbbbbbbb"

func sample() *Matrix {
	m := &Matrix{
		Schema: Schema, Platform: "linux/amd64",
		Hosts: []Host{
			{Name: "showcase", Package: "./compat/hosts/showcase", Flags: []string{"-trimpath"}, SHA256: "aa", MustAccept: []string{"payments"}, Profile: "current", Toolchain: "go1.26.8", ABI: abiA},
			{Name: "untrimmed", Package: "./compat/hosts/showcase", SHA256: "bb", MustReject: []string{"*"}, Profile: "current", Toolchain: "go1.26.8", ABI: abiB},
		},
		Plugins: []Plugin{
			{Team: "payments", Plugin: "fraud", Version: "1.3.0", ABI: abiA, File: "plugins/payments/fraud/fraud_v1.3.0_linux_amd64_" + abiA + ".so", SHA256: "11", Profiles: []string{"current"}},
			{Team: "payments", Plugin: "fraud", Version: "1.10.0", ABI: abiA, File: "plugins/payments/fraud/fraud_v1.10.0_linux_amd64_" + abiA + ".so", SHA256: "12", Profiles: []string{"current"}},
			{Team: "labs", Plugin: "hwgate", Version: "0.3.0", ABI: abiA, File: "plugins/labs/hwgate/hwgate_v0.3.0_linux_amd64_" + abiA + ".so", SHA256: "13", Profiles: []string{"current"}},
		},
	}
	for _, p := range m.Plugins {
		for _, h := range m.Hosts {
			c := Cell{Plugin: p.ID(), Host: h.Name, PluginSHA256: p.SHA256, HostSHA256: h.SHA256, Outcome: OK, Millis: 12}
			if h.Name == "untrimmed" {
				c.Outcome, c.Detail, c.Differences = "build-mismatch", "built differently from this host: setting -trimpath: plugin true, host false", []string{"setting -trimpath: plugin true, host false", "package runtime: plugin 01, host 02"}
			}
			if p.Version == "1.3.0" && h.Name == "showcase" {
				c.Outcome, c.Detail = "panic", "panic: <boom> in plugin.Open"
			}
			m.Cells = append(m.Cells, c)
		}
	}
	m.Sort()
	m.Check()
	return m
}

func TestSortAndCheck(t *testing.T) {
	m := sample()
	var ids []string
	for _, p := range m.Plugins {
		ids = append(ids, p.ID())
	}
	if got := strings.Join(ids, " "); got != "labs/hwgate@0.3.0 "+abiA+" payments/fraud@1.10.0 "+abiA+" payments/fraud@1.3.0 "+abiA {
		t.Errorf("plugin order %s", got)
	}
	if len(m.Violations) != 1 || !strings.Contains(m.Violations[0], "payments/fraud@1.3.0 "+abiA+" must load into host showcase but is panic") {
		t.Errorf("violations %q", m.Violations)
	}
	if c := m.Cell("labs/hwgate@0.3.0 "+abiA, "untrimmed"); c.Required != "reject" {
		t.Errorf("required %q", c.Required)
	}
	// A must-reject host that loads something is a violation too.
	m.Cell("labs/hwgate@0.3.0 "+abiA, "untrimmed").Outcome = OK
	m.Check()
	if len(m.Violations) != 2 || !strings.Contains(m.Violations[0]+m.Violations[1], "labs/hwgate@0.3.0 "+abiA+" is built for ABI "+abiA+" but loads into host untrimmed of ABI "+abiB+": the ABI tags are wrong") {
		t.Errorf("violations %q", m.Violations)
	}
}

func TestShards(t *testing.T) {
	for _, tc := range []struct {
		in  string
		ok  bool
		out Shard
	}{{"1/3", true, Shard{1, 3}}, {"3/3", true, Shard{3, 3}}, {"0/3", false, Shard{}}, {"4/3", false, Shard{}}, {"1/0", false, Shard{}}, {"a/b", false, Shard{}}, {"1/3x", false, Shard{}}, {"01/3", false, Shard{}}} {
		s, err := ParseShard(tc.in)
		if (err == nil) != tc.ok || s != tc.out {
			t.Errorf("ParseShard(%q) = %v, %v", tc.in, s, err)
		}
	}
	full := sample()
	var parts []*Matrix
	for i := 1; i <= 4; i++ { // more shards than some hold cells for
		s := Shard{i, 4}
		p := *full
		p.Shard = &s
		p.Cells = nil
		for j, c := range full.Cells {
			if s.Holds(j) {
				p.Cells = append(p.Cells, c)
			}
		}
		parts = append(parts, &p)
	}
	merged, err := Merge([]*Matrix{parts[2], parts[0], parts[3], parts[1]})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := merged.Marshal()
	b, _ := full.Marshal()
	if !bytes.Equal(a, b) {
		t.Errorf("merged shards differ from the whole:\n%s\n%s", a, b)
	}
	if _, err := Merge(parts[:3]); err == nil || !strings.Contains(err.Error(), "missing shard results: 4/4") {
		t.Errorf("missing shard: %v", err)
	}
	if _, err := Merge([]*Matrix{parts[0], parts[0], parts[1], parts[2]}); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate shard: %v", err)
	}
	other := *parts[1]
	other.Hosts = []Host{full.Hosts[0], {Name: "untrimmed", SHA256: "cc"}}
	if _, err := Merge([]*Matrix{parts[0], &other, parts[2], parts[3]}); err == nil || !strings.Contains(err.Error(), "tested other hosts or plugin files") {
		t.Errorf("different hosts: %v", err)
	}
}

func TestMarkdown(t *testing.T) {
	md := sample().Markdown()
	for _, want := range []string{
		"| plugin | showcase | untrimmed |",
		"| `payments/fraud@1.3.0 " + abiA + "` | ⚠️ ❌ panic | ❌ build-mismatch |",
		"| `labs/hwgate@0.3.0 " + abiA + "` | ✅ | ❌ build-mismatch |",
		"| `" + abiA + "` | 3 | showcase | current |",
		"| `" + abiB + "` | 0 | untrimmed | current |",
		"**Policy violations — do not ship:**",
		"panic: &lt;boom&gt; in plugin.Open",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestGrid(t *testing.T) {
	var b bytes.Buffer
	sample().Grid(&b)
	for _, want := range []string{"PLUGIN", "payments/fraud@1.3.0 " + abiA, "panic (!)", "ABI " + abiA + ": 3 plugin files, hosts showcase; profiles current", "3 plugin files × 2 hosts = 6 cells: 2 ok, 3 build-mismatch, 1 panic; 1 policy violations"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("grid lacks %q:\n%s", want, b.String())
		}
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	page, err := sample().HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"http://", "https://", "src=", "<link"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("the page refers to %q: it must load nothing", bad)
		}
	}
	if bytes.Contains(page, []byte("<boom>")) {
		t.Errorf("cell detail is not escaped")
	}
}

// TestHTMLRendersInChromium loads the page in headless Chromium: the DOM
// after its script ran must hold the grid, and a screenshot must show it.
// It skips only where chromium is not installed; .ci/run installs it.
func TestHTMLRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, HTMLFile)
	m := sample()
	if err := m.WriteReports(dir); err != nil {
		t.Fatal(err)
	}
	chromium := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--window-size=1200,800"}
		cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	dom := chromium("--dump-dom")
	if n := bytes.Count(dom, []byte(`<td class="cell ok">✓ ok</td>`)); n != 2 {
		t.Errorf("rendered %d ok cells, want 2", n)
	}
	for _, want := range []string{`<td class="cell fail violation">✗ panic</td>`, `<td class="cell fail">✗ build-mismatch</td>`, "3 of 3 plugin files shown", "must load into host showcase but is panic",
		`<span class="muted">current · ` + abiA + `</span>`, "<td><code>" + abiA + "</code></td><td>3</td><td>showcase</td><td>current</td>"} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	shot := filepath.Join(dir, "shot.png")
	chromium("--screenshot=" + shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The grid's green and red cells must be on the screenshot.
	var green, red int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r == 0xe3 && g == 0xf5 && bl == 0xe5:
				green++
			case r == 0xfb && g == 0xea && bl == 0xea:
				red++
			}
		}
	}
	if green == 0 || red == 0 {
		t.Errorf("screenshot %dx%d shows %d green and %d red pixels; the grid did not render", b.Dx(), b.Dy(), green, red)
	}
	t.Logf("screenshot %dx%d: %d green, %d red sampled pixels", b.Dx(), b.Dy(), green, red)
}
