package sign

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/trust"
)

// TestSigningStreams signs a 64 MiB file and checks that signing allocated
// far less than the file's size: the file is streamed, never read whole.
func TestSigningStreams(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, plugtest.FileName("big", "1.0.0", plugtest.AnyABI))
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	const size = 64 << 20
	for n := 0; n < size; n += len(chunk) {
		f.Write(chunk)
	}
	f.Close()
	if err := plugtest.WriteMetadata(file, "big"); err != nil {
		t.Fatal(err)
	}
	m, err := artifact.ReadMetadata(file + artifact.MetadataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.SignerFor(context.Background(), dir, filepath.Join(dir, "teams"), dir, "big")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := sign(file, m, s); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Errorf("signing a %d MiB file allocated %d MiB; it must stream", size>>20, alloc>>20)
	} else {
		t.Logf("signing a %d MiB file allocated %d KiB", size>>20, alloc>>10)
	}
	runtime.ReadMemStats(&before)
	if _, err := trust.ReadSignature(file + trust.SignatureSuffix); err != nil {
		t.Fatal(err)
	}
	if !upToDate(file, m, s) {
		t.Errorf("a freshly signed file is not up to date")
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Errorf("verifying a %d MiB file allocated %d MiB; it must stream", size>>20, alloc>>20)
	}
}
