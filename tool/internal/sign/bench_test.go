package sign

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plugship/plugship/internal/artifact"
	"github.com/plugship/plugship/tool/internal/keys"
	"github.com/plugship/plugship/tool/internal/plugtest"
	"github.com/plugship/plugship/trust"
)

// BenchmarkSignVerify measures, in one run, the throughput of signing a
// 64 MiB plugin file (signature, bundle and provenance: the whole step) and
// of verifying its signature, each as a ratio of a plain sha256 over the
// same bytes. Both stream the file once, so the target is at least 0.7.
func BenchmarkSignVerify(b *testing.B) {
	dir := b.TempDir()
	file := filepath.Join(dir, plugtest.FileName("big", "1.0.0", plugtest.AnyABI))
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := plugtest.WriteMetadata(file, "big"); err != nil {
		b.Fatal(err)
	}
	m, err := artifact.ReadMetadata(file + artifact.MetadataSuffix)
	if err != nil {
		b.Fatal(err)
	}
	s, err := keys.SignerFor(context.Background(), dir, filepath.Join(dir, "teams"), dir, "big")
	if err != nil {
		b.Fatal(err)
	}
	plainSHA := func() time.Duration {
		start := time.Now()
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		return time.Since(start)
	}
	var plain, signing, verifying time.Duration
	plainSHA() // page cache
	pub, err := s.PublicKey()
	if err != nil {
		b.Fatal(err)
	}
	v, err := trust.NewVerifier(pub) // as hosts verify: the standard library's crypto
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		plain += plainSHA()
		start := time.Now()
		if err := sign(file, m, s); err != nil {
			b.Fatal(err)
		}
		signing += time.Since(start)
		sig, err := trust.ReadSignature(file + trust.SignatureSuffix)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := trust.VerifyFile(v, sig, file); err != nil {
			b.Fatal(err)
		}
		verifying += time.Since(start)
	}
	mb := float64(len(data)) / (1 << 20) * float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(mb/plain.Seconds(), "sha256-MiB/s")
	b.ReportMetric(mb/signing.Seconds(), "sign-MiB/s")
	b.ReportMetric(mb/verifying.Seconds(), "verify-MiB/s")
	b.ReportMetric(plain.Seconds()/signing.Seconds(), "sign/sha256")
	b.ReportMetric(plain.Seconds()/verifying.Seconds(), "verify/sha256")
}
