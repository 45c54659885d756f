package nakamatest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
)

// ReleasePath is where Serve serves its file: the path of Nakama 3.40.0's
// release download on github.com.
const ReleasePath = "/heroiclabs/nakama/releases/download/v3.40.0/nakama"

// Serve serves the bytes file holds now at ReleasePath of a new HTTP
// server on loopback, closed when the test ends, and returns the file's
// URL and the hex SHA-256 of its bytes. A GET of ReleasePath returns the
// bytes; any other request is 404 with a text body.
func Serve(t testing.TB, file string) (url, sha string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != ReleasePath {
			http.Error(w, "404 not found: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + ReleasePath, hex.EncodeToString(sum[:])
}
