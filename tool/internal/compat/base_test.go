package compat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plugship/plugship/tool/internal/matrix"
)

// TestReadMatrixFromURL reads a previous matrix over HTTP: the token goes
// only to the GitHub API's host, a status other than 200 is an error
// naming the URL and the status.
func TestReadMatrixFromURL(t *testing.T) {
	data, err := (&matrix.Matrix{Schema: matrix.Schema, Platform: "linux/amd64"}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if r.URL.Path != "/matrix.json" {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	t.Setenv("GITHUB_TOKEN", "secret")
	ctx := context.Background()

	t.Setenv("GITHUB_API_URL", "https://api.github.com")
	if m, err := readMatrix(ctx, srv.URL+"/matrix.json"); err != nil || m.Platform != "linux/amd64" {
		t.Fatalf("readMatrix: %v, %+v", err, m)
	}
	if auth != "" {
		t.Errorf("the token went to %s, not GitHub's API: %q", srv.URL, auth)
	}
	t.Setenv("GITHUB_API_URL", srv.URL)
	if _, err := readMatrix(ctx, srv.URL+"/matrix.json"); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer secret" {
		t.Errorf("GITHUB_API_URL's host got Authorization %q, want the token", auth)
	}
	if _, err := readMatrix(ctx, srv.URL+"/gone.json"); err == nil || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "/gone.json") {
		t.Errorf("readMatrix of a missing URL: %v", err)
	}
}
