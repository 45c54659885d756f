package badinput_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/internal/fingerprint"
	"github.com/plugship/plugship/keyless"
	"github.com/plugship/plugship/loader"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/tool/internal/publish"
	"github.com/plugship/plugship/tool/internal/sign"
	"github.com/plugship/plugship/trust"
)

// fleet is a module whose team ok has the given plugins (version 1.0.0,
// each the good plugin), built and signed by the real steps.
type fleet struct {
	root, mod, dist string
	abi             string
	files           map[string]string // plugin -> its file in dist
}

func (f *fleet) manifest(plugins ...string) string {
	s := "name: ok\nowners: [\"@ok\"]\nplugins:\n"
	for _, p := range plugins {
		s += fmt.Sprintf("  - name: %s\n    source: ok/%s\n    version: 1.0.0\n", p, p)
	}
	return s
}

func signedFleet(t *testing.T, plugins ...string) *fleet {
	t.Helper()
	root, err := plugtest.Root()
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{root: root, mod: t.TempDir(), files: map[string]string{}}
	f.dist = filepath.Join(f.mod, "dist")
	files := map[string]string{"teams/ok/team.yaml": f.manifest(plugins...)}
	for _, p := range plugins {
		files["plugin_sources/ok/"+p+"/main.go"] = good
	}
	if err := plugtest.Module(root, f.mod, files); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := build.Main(context.Background(), build.Selection{}, build.Options{Root: f.mod}, &out); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	for _, p := range plugins {
		if f.files[p], err = plugtest.Find(artifact.PluginDir(f.dist, "ok", p), p, "1.0.0"); err != nil {
			t.Fatal(err)
		}
	}
	if f.abi, err = plugtest.ABIOf(f.files[plugins[0]]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := sign.Main(context.Background(), sign.Options{Root: f.mod}, &out); err != nil {
		t.Fatalf("sign: %v\n%s", err, out.String())
	}
	return f
}

func (f *fleet) policy(t *testing.T) *trust.Policy {
	t.Helper()
	p, err := keyless.Load(filepath.Join(f.dist, sign.TrustFile))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// try runs the loader's checks of one file against the showcase host, as
// a matrix cell does.
func (f *fleet) try(t *testing.T, file string, policy *trust.Policy) *loader.Decision {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return loader.Try(ctx, file, loader.Options{Trust: policy, Host: showcaseHost(t), Contract: fingerprint.ContractPackage, ProbeTimeout: 10 * time.Second})
}

// hostsConfig writes a matrix configuration with the showcase host and
// returns its path.
func (f *fleet) hostsConfig(t *testing.T) string {
	t.Helper()
	cfg := filepath.Join(f.mod, "hosts.yaml")
	if err := os.WriteFile(cfg, []byte("timeout: 10s\nhosts:\n  - name: showcase\n    package: ./compat/hosts/showcase\n    flags: [-trimpath]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// channel is the package's channel, its index signed with the index key
// of the fleet's dist as publish signs it.
func (f *fleet) channel(t *testing.T, dir string, files ...string) string {
	t.Helper()
	index := channel(t, dir, files...)
	signChannel(t, f.mod, f.dist, dir)
	return index
}

// signChannel signs the index of the channel in dir again, as publish and
// refresh do: a statement naming its content, with the next version.
func signChannel(t *testing.T, mod, dist, dir string) {
	t.Helper()
	signChannelAt(t, mod, dist, dir, time.Now())
}

// signChannelAt is signChannel with the publisher's clock at now.
func signChannelAt(t *testing.T, mod, dist, dir string, now time.Time) {
	t.Helper()
	var out bytes.Buffer
	opts := publish.Options{Root: mod, Dist: dist, Store: &publish.Channel{Dir: dir}, Now: func() time.Time { return now }}
	if err := publish.Refresh(context.Background(), opts, &out); err != nil {
		t.Fatalf("signing the index of %s: %v\n%s", dir, err, out.String())
	}
}

// channel writes a channel (index.json and the assets beside it, as the
// publish step lays them out) holding the plugin files given, each with
// its signature and provenance, into dir; it returns the index's path.
func channel(t *testing.T, dir string, files ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ix := &artifact.Index{Schema: artifact.IndexSchema}
	for _, file := range files {
		m, err := artifact.ReadMetadata(file + artifact.MetadataSuffix)
		if err != nil {
			t.Fatal(err)
		}
		e := artifact.Entry{Team: m.Team, Plugin: m.Plugin, Version: m.Version, Tag: m.Team + "/" + m.Plugin + "/v" + m.Version,
			File: m.File, SHA256: m.SHA256, Size: m.Size,
			ABI:    artifact.ABI{Tag: m.ABI, GoVersion: m.GoVersion, GOOS: m.GOOS, GOARCH: m.GOARCH},
			Assets: map[string]string{}}
		for _, suffix := range []string{"", trust.SignatureSuffix, trust.ProvenanceSuffix} {
			data, err := os.ReadFile(file + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, m.File+suffix), data, 0o644); err != nil {
				t.Fatal(err)
			}
			e.Assets[m.File+suffix] = m.File + suffix
		}
		ix.Entries = append(ix.Entries, e)
	}
	data, err := ix.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(dir, artifact.IndexFile)
	if err := os.WriteFile(index, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return index
}

// The showcase host, built once for the whole run.
var host struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func showcaseHost(t *testing.T) string {
	t.Helper()
	host.once.Do(func() {
		root, err := plugtest.Root()
		if err != nil {
			host.err = err
			return
		}
		if host.dir, host.err = os.MkdirTemp("", "badinput-host-"); host.err != nil {
			return
		}
		host.path = filepath.Join(host.dir, "showcase")
		host.err = plugtest.BuildHost(root, "./compat/hosts/showcase", host.path)
	})
	if host.err != nil {
		t.Fatal(host.err)
	}
	return host.path
}

// bytesRead is what this process has read so far (rchar of
// /proc/self/io: every read call, files and pipes alike); -1 where there
// is no such file.
func bytesRead() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// readDuring returns how many bytes this process read while fn ran.
func readDuring(fn func()) int64 {
	before := bytesRead()
	fn()
	return bytesRead() - before
}

// absurd makes path a sparse file of size bytes that starts with junk.
func absurd(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.WriteFile(path, []byte("junk, not what this file should hold\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// names lists a folder's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
