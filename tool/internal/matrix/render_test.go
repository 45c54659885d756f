package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with what the reports render now")

// golden compares got with testdata/name, or writes it there with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s differs from what is rendered now, first at line %d:\n got: %.300s\nwant: %.300s\n(go test -run %s -update rewrites it)", path, i+1, g, w, t.Name())
				return
			}
		}
	}
}

// reports renders every report of m: the console grid, matrix.md,
// matrix.html and matrix.json.
func reports(t *testing.T, m *Matrix) (grid, md, html, js []byte) {
	t.Helper()
	var b bytes.Buffer
	m.Grid(&b)
	page, err := m.HTML()
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), []byte(m.Markdown()), page, data
}

// regressed is sample a release later: payments/fraud@1.10.0, which
// loaded into showcase, panics now.
func regressed() *Matrix {
	previous, current := sample(), sample()
	c := current.Cell("payments/fraud@1.10.0 "+abiA, "showcase")
	c.Outcome, c.Detail = "panic", "panic: nil map write in fraud.init\ngoroutine 1 [running]:\nfraud.init.0()"
	current.Changes = Compare(previous, current, "dist/previous/matrix.json")
	current.Judge()
	return current
}

func TestGolden(t *testing.T) {
	for name, m := range map[string]*Matrix{"sample": sample(), "regressed": regressed()} {
		grid, md, html, _ := reports(t, m)
		golden(t, name+".grid.txt", grid)
		golden(t, name+".md", md)
		golden(t, name+".html", html)
	}
}

// TestRegressionLeads makes one required cell regress and checks that
// every report opens with the verdict and that regression's host and
// plugin version, before anything else.
func TestRegressionLeads(t *testing.T) {
	m := regressed()
	const line = "NOT ready: 1 regression, 1 violation"
	if m.Verdict.Line != line {
		t.Fatalf("verdict %q, want %q", m.Verdict.Line, line)
	}
	grid, md, html, js := reports(t, m)

	lines := strings.Split(string(grid), "\n")
	if lines[0] != line || !strings.HasPrefix(lines[1], "  regression payments/fraud@1.10.0 in showcase: panic — panic: nil map write in fraud.init") {
		t.Errorf("console grid opens with:\n%s", strings.Join(lines[:3], "\n"))
	}
	lines = strings.Split(string(md), "\n")
	if lines[0] != "## 🔴 "+line || lines[4] != "| 🔴 regression | `payments/fraud@1.10.0` | showcase | **panic** (was ok) | <details><summary>panic: nil map write in fraud.init</summary>panic: nil map write in fraud.init<br>goroutine 1 \\[running\\]:<br>fraud.init.0()</details> |" {
		t.Errorf("matrix.md opens with:\n%s", strings.Join(lines[:6], "\n"))
	}
	body := html[bytes.Index(html, []byte("<body>")):]
	verdict := bytes.Index(body, []byte(`<div id="verdict" class="verdict notready">`+line+`</div>`))
	finding := bytes.Index(body, []byte(`<td class="kind">regression</td><td><code>payments/fraud@1.10.0</code></td><td>showcase</td>`))
	if verdict != len("<body>\n") || finding < verdict || finding > bytes.Index(body, []byte("<h1>")) {
		t.Errorf("matrix.html: verdict at %d, regression at %d, heading at %d:\n%.800s", verdict, finding, bytes.Index(body, []byte("<h1>")), body)
	}
	var got struct {
		Schema  string
		Verdict Verdict
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	if got.Verdict.Line != line || got.Verdict.Ready || len(got.Verdict.Regressions) != 1 || got.Verdict.Regressions[0] != (Finding{"payments/fraud@1.10.0", "showcase", "panic", "panic: nil map write in fraud.init\ngoroutine 1 [running]:\nfraud.init.0()"}) {
		t.Errorf("matrix.json verdict %+v", got.Verdict)
	}
	if i, j := bytes.Index(js, []byte(`"line": "`+line+`"`)), bytes.Index(js, []byte(`"platform"`)); i < 0 || i > j || bytes.Index(js, []byte(`"host": "showcase"`)) > j {
		t.Errorf("matrix.json does not open with the verdict and its regression:\n%.600s", js)
	}
}

// TestReadyHasNoRed: a matrix whose every required cell passed opens with
// "Ready to ship", and a host refusing what it need not load, or must
// not, is not red in any report.
func TestReadyHasNoRed(t *testing.T) {
	m := sample()
	c := m.Cell("payments/fraud@1.3.0 "+abiA, "showcase")
	c.Outcome, c.Detail = OK, ""
	grid, md, html, js := reports(t, m)
	const line = "Ready to ship: 4 plugin versions, 3 hosts, every required cell passed"
	if !bytes.HasPrefix(grid, []byte(line+"\n")) || bytes.Contains(grid, []byte(" (!)\t")) || bytes.Contains(grid, []byte("(!)  ")) {
		t.Errorf("console:\n%s", grid)
	}
	if !bytes.HasPrefix(md, []byte("## ✅ "+line+"\n")) || bytes.Count(md, []byte("🔴")) != 1 { // the legend's
		t.Errorf("matrix.md:\n%s", md)
	}
	if !bytes.Contains(html, []byte(`<div id="verdict" class="verdict ready">`+line+`</div>`)) || bytes.Contains(html, []byte(`class="findings"`)) {
		t.Errorf("matrix.html lacks the verdict or has findings")
	}
	if !bytes.Contains(js, []byte(`"ready": true`)) {
		t.Errorf("matrix.json is not ready")
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	for _, m := range []*Matrix{sample(), big(t)} {
		page, err := m.HTML()
		if err != nil {
			t.Fatal(err)
		}
		if m.Changes != nil { // where the previous matrix came from is text on the page
			page = bytes.ReplaceAll(page, []byte(m.Changes.Base), nil)
		}
		for _, bad := range []string{"http://", "https://", "src=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest"} {
			if bytes.Contains(page, []byte(bad)) {
				t.Errorf("the page refers to %q: it must load nothing", bad)
			}
		}
		if bytes.Contains(page, []byte("<boom>")) {
			t.Errorf("cell detail is not escaped")
		}
	}
}

// big is a matrix at scale: 500 plugin versions (5 teams × 10 plugins ×
// 10 versions), each built for 2 ABIs, in 10 hosts (6 of ABI A, 4 of ABI
// B): 10,000 cells, half of them of builds for the other ABI. It is
// compared with the previous release, where 10 versions were not yet and
// 1 more was. Host h03 must reject team2, h07 must reject everything
// (with a long build mismatch), h05 requires nothing and refuses one
// version in 20; every other cell passes, but for one regression
// (team1/p01@1.4.0 in h01, ok -> panic) and one violation (team3/p07@1.9.0
// in h02, missing symbol).
func big(t testing.TB) *Matrix {
	gen := func(previous bool) *Matrix {
		m := &Matrix{Schema: Schema, Platform: "linux/amd64"}
		for i := range 10 {
			h := Host{Name: fmt.Sprintf("h%02d", i), Package: "./compat/hosts/h", Profile: "current", Toolchain: "go1.26.8", ABI: abiA, SHA256: fmt.Sprintf("%064x", i), MustAccept: []string{"*"}}
			if i >= 6 {
				h.ABI, h.Profile = abiB, "next"
			}
			switch i {
			case 3:
				h.MustReject = []string{"team2"}
			case 5:
				h.MustAccept = nil
			case 7:
				h.MustAccept, h.MustReject = nil, []string{"*"}
			}
			m.Hosts = append(m.Hosts, h)
		}
		var diffs []string
		for i := range 40 {
			diffs = append(diffs, fmt.Sprintf("package example.com/vendor/lib%02d: plugin %064x, host %064x", i, i, i+1))
		}
		for team := range 5 {
			for plugin := range 10 {
				for version := range 11 {
					if version == 10 && !(previous && team == 0 && plugin == 0) {
						continue // team0/p00@1.10.0 left in this release
					}
					n := (team*10+plugin)*10 + version
					if previous && n%50 == 49 {
						continue // new in this release
					}
					for _, abi := range []string{abiA, abiB} {
						p := Plugin{Team: fmt.Sprintf("team%d", team), Plugin: fmt.Sprintf("p%02d", plugin), Version: fmt.Sprintf("1.%d.0", version), ABI: abi, SHA256: fmt.Sprintf("%064x", n)}
						p.File = fmt.Sprintf("plugins/%s/%s/%s_v%s_linux_amd64_%s.so", p.Team, p.Plugin, p.Plugin, p.Version, abi)
						m.Plugins = append(m.Plugins, p)
						for _, h := range m.Hosts {
							c := Cell{Plugin: p.ID(), Host: h.Name, PluginSHA256: p.SHA256, HostSHA256: h.SHA256, Outcome: OK, Millis: 3, Cached: true}
							switch {
							case p.ABI != h.ABI:
								c.Outcome, c.Detail = "toolchain-mismatch", "go: plugin go1.26.8 (ABI "+p.ABI+"), host go1.26.8 (ABI "+h.ABI+")"
							case h.Name == "h03" && p.Team == "team2":
								c.Outcome, c.Detail = "not-acceptable", "IsAcceptable() returned false: team2 is not for h03"
							case h.Name == "h07":
								c.Outcome, c.Detail, c.Differences = "build-mismatch", "built differently from this host: 40 packages differ", diffs
							case h.Name == "h05" && n%20 == 3:
								c.Outcome, c.Detail = "not-acceptable", "IsAcceptable() returned false: needs a licence"
							case !previous && h.Name == "h01" && p.VersionID() == "team1/p01@1.4.0":
								c.Outcome, c.Detail = "panic", "panic: runtime error: index out of range [3] with length 3"
							case h.Name == "h02" && p.VersionID() == "team3/p07@1.9.0":
								c.Outcome, c.Detail = "missing-symbol", "exports neither Plugin nor NewPlugin"
							}
							m.Cells = append(m.Cells, c)
						}
					}
				}
			}
		}
		m.Sort()
		m.Check()
		return m
	}
	previous, m := gen(true), gen(false)
	m.Changes = Compare(previous, m, "https://github.com/acme/plugins/releases/download/compat-41/matrix.json")
	m.Judge()
	if v := m.Verdict; v.Versions != 500 || v.Hosts != 10 || len(m.Cells) != 10000 || v.Line != "NOT ready: 1 regression, 1 violation" {
		t.Fatalf("big: %d versions, %d hosts, %d cells: %s", v.Versions, v.Hosts, len(m.Cells), v.Line)
	}
	return m
}

// TestAtScale renders the 500 × 10 matrix: matrix.md must stay under
// GitHub's 1 MiB job summary limit, the console short.
func TestAtScale(t *testing.T) {
	m := big(t)
	grid, md, html, js := reports(t, m)
	lines := bytes.Count(grid, []byte("\n"))
	t.Logf("%d plugin versions × %d hosts (%d cells, %d of other ABIs): console %d lines, matrix.md %d bytes, matrix.html %d bytes, matrix.json %d bytes",
		m.Verdict.Versions, m.Verdict.Hosts, len(m.Cells), m.Verdict.OtherABIRefused, lines, len(md), len(html), len(js))
	if len(md) >= 1<<20 {
		t.Errorf("matrix.md is %d bytes, GitHub takes 1 MiB", len(md))
	}
	if lines > 60 {
		t.Errorf("the console grid has %d lines:\n%s", lines, grid)
	}
	for _, want := range []string{
		"NOT ready: 1 regression, 1 violation\n  regression team1/p01@1.4.0 in h01: panic — panic: runtime error",
		"\n  violation  team3/p07@1.9.0 in h02: missing symbol — exports neither Plugin nor NewPlugin\n",
		"5000 builds for other ABIs refused by the preflight, as required\n",
		"plugin versions as expected in every host (not shown)\n",
	} {
		if !bytes.Contains(grid, []byte(want)) {
			t.Errorf("console lacks %q:\n%s", want, grid)
		}
	}
	for _, want := range []string{"## 🔴 NOT ready: 1 regression, 1 violation\n", "| `team1/p01@1.4.0` |", "plugin versions as expected in every host</summary>"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("matrix.md lacks %q", want)
		}
	}
}

// TestMarkdownBudget: however many cells fail, with however long reasons,
// matrix.md stays under 1 MiB and says where the rest is.
func TestMarkdownBudget(t *testing.T) {
	m := big(t)
	long := strings.Repeat("goroutine 7 [running]:\nexample.com/vendor/lib.(*T).Run(0xc000012345)\n", 1000) // 70 KB
	for i := range m.Cells {
		if c := &m.Cells[i]; c.Host == "h04" && c.Outcome == OK {
			c.Outcome, c.Detail = "panic", long
		}
	}
	m.Judge()
	md := m.Markdown()
	t.Logf("%s: matrix.md %d bytes", m.Verdict.Line, len(md))
	if len(md) >= 1<<20 || !strings.Contains(md, "more: matrix.html and matrix.json list them all") || !strings.Contains(md, "more bytes: matrix.html and matrix.json hold it whole") {
		t.Errorf("matrix.md of %d bytes:\n%.3000s", len(md), md)
	}
	if !strings.HasPrefix(md, "## 🔴 NOT ready: 1 regression, 501 violations\n") || !strings.Contains(md, "### Which builds serve which hosts") {
		t.Errorf("matrix.md opens with %.200s", md)
	}
}

// TestHTMLRendersInChromium loads the pages in headless Chromium: the DOM
// after its script ran must hold the grid, a screenshot must show it, and
// the page of 500 plugin versions × 10 hosts must render in under 2 s.
// It skips only where chromium is not installed; .ci/run installs it.
func TestHTMLRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: go run mage.go test installs it (apt-get install chromium)")
	}
	chromium := func(page string, args ...string) []byte {
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
	write := func(m *Matrix) string {
		dir := t.TempDir()
		if err := m.WriteReports(dir); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, HTMLFile)
	}
	renderMs := func(dom []byte) float64 {
		match := regexp.MustCompile(`<body data-render-ms="(\d+)">`).FindSubmatch(dom)
		if match == nil {
			t.Fatalf("the page did not write its render time: %.300s", dom)
		}
		ms, _ := strconv.ParseFloat(string(match[1]), 64)
		return ms
	}

	t.Run("sample", func(t *testing.T) {
		page := write(sample())
		dom := chromium(page, "--dump-dom")
		for _, want := range []string{
			`<div id="verdict" class="verdict notready">NOT ready: 1 violation</div>`,
			`<tr data-r="3"><th>payments/fraud@1.3.0</th><td class="unexpected" data-h="0">✗ panic</td><td class="passed" data-h="1">✓ ok</td><td class="na" data-h="2">n/a</td></tr>`,
			`<tr data-r="1"><th>labs/hwgate@0.2.0</th><td class="notreq" data-h="0">◦ not acceptable</td><td class="refused" data-h="1">⊘ not acceptable</td><td class="na" data-h="2">n/a</td></tr>`,
			`<td class="refused" data-h="2">⊘ build mismatch</td>`,
			"4 of 4 plugin versions shown", "6 builds for other ABIs refused by the preflight, as required",
			`<span class="muted">current · ` + abiA + `</span>`, "<td><code>" + abiA + "</code></td><td>4</td><td>showcase, strict</td><td>current</td>",
		} {
			if !bytes.Contains(dom, []byte(want)) {
				t.Errorf("rendered page lacks %q", want)
			}
		}
		if n := bytes.Count(dom, []byte(`<td class="passed"`)); n != 4 {
			t.Errorf("rendered %d passed cells, want 4", n)
		}
		// A filter stays in the page's address: opened with it, the page
		// shows only what it selects.
		dom = chromium(page+"#team=labs&class=not-required", "--dump-dom")
		if !bytes.Contains(dom, []byte("1 of 4 plugin versions shown")) || !bytes.Contains(dom, []byte(`<option selected="">labs</option>`)) && !bytes.Contains(dom, []byte("labs/hwgate@0.2.0</th>")) || bytes.Contains(dom, []byte("payments/fraud@1.3.0</th>")) {
			t.Errorf("filtered page: %s", dom[bytes.Index(dom, []byte(`<div class="filters">`)):])
		}
		dom = chromium(page+"#class=attention", "--dump-dom")
		if !bytes.Contains(dom, []byte("2 of 4 plugin versions shown")) || bytes.Contains(dom, []byte("payments/fraud@1.10.0</th>")) {
			t.Errorf("the rows not as expected: %s", dom[bytes.Index(dom, []byte(`<div class="filters">`)):])
		}
		// A cell in the address is shown in the panel, its reason whole.
		dom = chromium(page+"#cell="+url.QueryEscape("payments/fraud@1.10.0 in untrimmed"), "--dump-dom")
		panel := dom[bytes.Index(dom, []byte(`<aside id="panel"`)):]
		for _, want := range []string{`<aside id="panel">`, "<h2>payments/fraud@1.10.0 in untrimmed</h2>", "<dd>refused, as the host requires</dd>", "<dd>build mismatch (build-mismatch)</dd>", "<dd>must reject it</dd>",
			"<dd>plugins/payments/fraud/fraud_v1.10.0_linux_amd64_" + abiB + ".so</dd>", "<h3>3 differences</h3>", "<li>package github.com/plugship/plugship/contract: plugin 03, host 04</li>"} {
			if !bytes.Contains(panel, []byte(want)) {
				t.Errorf("the cell's panel lacks %q:\n%.2000s", want, panel)
			}
		}
		if !bytes.Contains(dom, []byte(`<td class="refused selected" data-h="2">⊘ build mismatch</td>`)) {
			t.Errorf("the cell shown is not selected in the grid")
		}
		colours := screenshot(t, page, chromium)
		for _, c := range []string{"passed", "refused", "unexpected", "not required", "banner"} {
			if colours[c] == 0 {
				t.Errorf("the screenshot shows no %s colour: %v", c, colours)
			}
		}
		t.Logf("sample screenshot: a red banner \"NOT ready: 1 violation\", the violation's row, then the grid; sampled pixels per colour: %v", colours)
	})

	t.Run("500x10", func(t *testing.T) {
		page := write(big(t))
		start := time.Now()
		dom := chromium(page, "--dump-dom")
		wall := time.Since(start)
		ms := renderMs(dom)
		rows := len(regexp.MustCompile(`<tr data-r="\d+">`).FindAll(dom, -1))
		cells := len(regexp.MustCompile(`<td class="[a-z ]+" data-h="\d+">`).FindAll(dom, -1))
		t.Logf("500×10 page: %d rows, %d cells in the DOM; rendered at %.0f ms of page time (chromium run %.2fs, page %d bytes)", rows, cells, ms, wall.Seconds(), fileSize(page))
		if rows != 500 || cells != 5000 {
			t.Errorf("the DOM holds %d rows and %d cells, want 500 and 5000", rows, cells)
		}
		if ms >= 2000 {
			t.Errorf("the page rendered at %.0f ms, want under 2 s", ms)
		}
		if !regexp.MustCompile(`<tr data-r="\d+"><th>team1/p01@1.4.0</th><td class="passed" data-h="0">✓ ok</td><td class="unexpected chg" data-h="1">✗ panic<small>was ok</small></td>`).Match(dom) {
			t.Errorf("the regression's row is not on the page")
		}
		if !bytes.Contains(dom, []byte("500 of 500 plugin versions shown")) {
			t.Errorf("the page does not count 500 plugin versions")
		}
		colours := screenshot(t, page, chromium)
		if colours["banner"] == 0 || colours["passed"] == 0 {
			t.Errorf("the screenshot shows %v", colours)
		}
		t.Logf("500×10 screenshot: a red banner \"NOT ready: 1 regression, 1 violation\", the findings table, what changed, the top of the grid; sampled pixels per colour: %v", colours)
	})
}

// screenshot takes a screenshot of page and counts sampled pixels of each
// colour of the page's classes, and of the verdict's red banner.
func screenshot(t *testing.T, page string, chromium func(string, ...string) []byte) map[string]int {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	chromium(page, "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return count(img)
}

func count(img image.Image) map[string]int {
	colours := map[[3]uint32]string{
		{0xe3, 0xf5, 0xe5}: "passed", {0xee, 0xf0, 0xf3}: "refused", {0xfb, 0xea, 0xea}: "unexpected",
		{0xff, 0xf4, 0xd6}: "not required", {0xfd, 0xec, 0xea}: "banner", {0xdf, 0xf3, 0xe4}: "ready banner",
	}
	n := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if name, ok := colours[[3]uint32{r >> 8, g >> 8, bl >> 8}]; ok {
				n[name]++
			}
		}
	}
	return n
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// TestYankedShows: a version the last publish yanked is named, with its
// reason, in the grid, the job summary and the HTML page.
func TestYankedShows(t *testing.T) {
	m := sample()
	const reason = "CVE-2026-4242: approves every payment"
	id := ""
	for i := range m.Plugins {
		if m.Plugins[i].Team == "payments" && m.Plugins[i].Plugin == "fraud" {
			m.Plugins[i].Yanked, id = reason, m.Plugins[i].VersionID()
			break
		}
	}
	if id == "" {
		t.Fatal("sample has no payments/fraud")
	}
	grid, md, html, js := reports(t, m)
	for name, got := range map[string][]byte{"grid": grid, "matrix.md": md, "matrix.html": html, "matrix.json": js} {
		if !strings.Contains(string(got), reason) || name != "matrix.json" && !strings.Contains(string(got), id) {
			t.Errorf("%s does not show that %s is yanked (%s)", name, id, reason)
		}
	}
}
