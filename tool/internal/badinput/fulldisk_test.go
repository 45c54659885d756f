package badinput_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/loader/fetch"
	"github.com/plugship/plugship/tool/internal/build"
	"github.com/plugship/plugship/tool/internal/sign"
)

// mountFull mounts a tmpfs of size bytes at dir (which must exist) and
// unmounts it at cleanup. It returns false, recording why for the stages
// given, where this machine does not let the test mount.
func mountFull(t *testing.T, dir string, size int64, stages ...string) bool {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+itoa(size)); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			for _, st := range stages {
				record(t, "full-disk", st, NotPermitted, "mount -t tmpfs: "+err.Error())
			}
			return false
		}
		t.Fatalf("mount -t tmpfs -o size=%d tmpfs %s: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("umount %s: %v", dir, err)
		}
	})
	return true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// fill writes a file into dir until the disk is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	if f == nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// noPartial fails unless dir holds only the names given (and the filler):
// nothing under a final name, no temporary file left behind.
func noPartial(t *testing.T, stage, dir string, allowed ...string) {
	t.Helper()
	for _, n := range names(t, dir) {
		if n != "filler" && !contains(allowed, n) {
			t.Errorf("%s left %s in the full folder %s", stage, n, dir)
		}
	}
}

// TestFullDisk: a plugin folder on a full disk (a 1 MiB tmpfs; the plugin
// file is larger). The build, writing the plugin there, the sign step,
// writing its signature, bundle and provenance there, and fetch,
// downloading into it, each fail naming the file and the reason, and leave
// no partial file under a final name and no temporary file.
func TestFullDisk(t *testing.T) {
	f := signedFleet(t, "good")
	ctx := context.Background()
	dir := artifact.PluginDir(f.dist, "ok", "good")
	file := f.files["good"]
	saved := t.TempDir()
	for _, n := range names(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(saved, n), data, 0o755)
		os.Remove(filepath.Join(dir, n))
	}
	fi, err := os.Stat(filepath.Join(saved, filepath.Base(file)))
	if err != nil {
		t.Fatal(err)
	}

	// build: the output folder is full. (Its state under dist/.work goes
	// too, so that it builds again.)
	if err := os.RemoveAll(filepath.Join(f.dist, ".work")); err != nil {
		t.Fatal(err)
	}
	t.Run("build", func(t *testing.T) {
		if !mountFull(t, dir, 1<<20, "build") {
			return
		}
		var out bytes.Buffer
		err := build.Main(ctx, build.Selection{}, build.Options{Root: f.mod}, &out)
		if err == nil {
			t.Errorf("the build succeeded with its output folder full:\n%s", out.String())
			record(t, "full-disk", "build", Unnoticed, linesWith(out.String(), "ok/good")+"; exit status 0, and the folder holds "+strings.Join(names(t, dir), ", "))
			return
		}
		msg := linesWith(out.String(), "no space left on device")
		if !strings.Contains(msg, filepath.Base(file)) && !strings.Contains(msg, dir) {
			t.Errorf("the build's message does not name the file or folder:\n%s", out.String())
		}
		noPartial(t, "build", dir)
		record(t, "full-disk", "build", Refused, msg)
	})

	// sign: the plugin and its metadata are there, and nothing else fits.
	t.Run("sign", func(t *testing.T) {
		if !mountFull(t, dir, fi.Size()+256<<10, "sign") {
			return
		}
		for _, n := range []string{filepath.Base(file), filepath.Base(file) + artifact.MetadataSuffix} {
			data, _ := os.ReadFile(filepath.Join(saved, n))
			if err := os.WriteFile(filepath.Join(dir, n), data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		fill(t, dir)
		var out bytes.Buffer
		err := sign.Main(ctx, sign.Options{Root: f.mod}, &out)
		if err == nil {
			t.Fatalf("signing into a full folder succeeded:\n%s", out.String())
		}
		msg := around(out.String(), "plugins/ok/good/")
		if !strings.Contains(msg, "no space left on device") || !strings.Contains(msg, filepath.Base(file)) {
			t.Errorf("the sign step's message does not name the file and the reason:\n%s", out.String())
		}
		noPartial(t, "sign", dir, filepath.Base(file), filepath.Base(file)+artifact.MetadataSuffix)
		record(t, "full-disk", "sign", Refused, msg)
	})

	// fetch: the plugin folder it downloads into is full.
	t.Run("fetch", func(t *testing.T) {
		index := f.channel(t, filepath.Join(t.TempDir(), "channel"), filepath.Join(saved, filepath.Base(file)))
		target := filepath.Join(t.TempDir(), "plugins")
		os.MkdirAll(target, 0o755)
		if !mountFull(t, target, 1<<20, "fetch") {
			return
		}
		res, err := fetch.Plugins(ctx, fetch.Options{Index: index, Plugin: "good", Dir: target, Trust: f.policy(t)})
		if err == nil || len(res) != 1 || res[0].Outcome != "refused" {
			t.Fatalf("fetch into a full folder: %v %+v", err, res)
		}
		if !strings.Contains(res[0].Reason, "no space left on device") || !strings.Contains(res[0].Reason, filepath.Base(file)) {
			t.Errorf("fetch's reason does not name the file and the reason: %s", res[0].Reason)
		}
		// the index it read and its statement: whole, written first
		noPartial(t, "fetch", target, filepath.Base(artifact.FetchedIndexFile(target, "good")), filepath.Base(artifact.FetchedStatementFile(target, "good")))
		record(t, "full-disk", "fetch", Refused, res[0].Reason)
	})
}
