package oci

import (
	"strings"
	"testing"

	"github.com/plugship/plugship/internal/artifact"
)

// The registry itself is tested in tool/internal/publish and registrytest
// (a real Distribution on loopback); these are the names it is given.

func TestTag(t *testing.T) {
	got, err := Tag("payments", "fraud", "1.3.0+hotfix.1", "go1.26.8-166835a9")
	if want := "payments.fraud.v1.3.0_hotfix.1.go1.26.8-166835a9"; err != nil || got != want {
		t.Errorf("Tag = %q, %v; want %q", got, err, want)
	}
	if _, err := Tag("payments", strings.Repeat("x", 120), "1.0.0", "go1.26.8-166835a9"); err == nil || !strings.Contains(err.Error(), "shorten the team or plugin name") {
		t.Errorf("a 150-character tag: %v", err)
	}
}

func TestLocationAndLoopback(t *testing.T) {
	if got := Location("oci://127.0.0.1:5000/acme/plugins/", "ab12"); got != "oci://127.0.0.1:5000/acme/plugins@sha256:ab12" {
		t.Errorf("Location = %q", got)
	}
	for ref, want := range map[string]bool{
		"oci://127.0.0.1:5000/acme/plugins": true,
		"oci://localhost/acme/plugins":      true,
		"oci://[::1]:5000/acme":             true,
		"oci://ghcr.io/acme/plugins":        false,
		"oci://10.0.0.1:5000/acme":          false,
	} {
		if Loopback(ref) != want {
			t.Errorf("Loopback(%s) = %v", ref, !want)
		}
	}
}

// TestIndexTags: the tags this package reads are the ones
// artifact.RegistryTag gives the readers that link no OCI client.
func TestIndexTags(t *testing.T) {
	if got := artifact.RegistryTag(artifact.IndexFile); got != IndexTag {
		t.Errorf("RegistryTag(index.json) = %q, IndexTag %q", got, IndexTag)
	}
	if got := artifact.RegistryTag("matrix.json"); got != MatrixTag {
		t.Errorf("RegistryTag(matrix.json) = %q, MatrixTag %q", got, MatrixTag)
	}
}
