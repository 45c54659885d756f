package registrytest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd" // the basic-auth access controller
	_ "github.com/distribution/distribution/v3/registry/auth/token"    // the bearer-token access controller
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // the storage driver
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
)

// Server is a registry on loopback.
type Server struct {
	URL  string // http://127.0.0.1:<port>
	Host string // 127.0.0.1:<port>, as references name it

	srv *httptest.Server
	app *handlers.App

	mu       sync.Mutex
	requests map[string]int // "PUT blob", "POST upload", "PUT manifest", "GET manifest", ...
	fail     func(r *http.Request) int
	tokens   *tokenService // with StartWithToken
}

// Start starts a registry storing into a temporary folder of t, stopped
// when t ends. It lets anyone push and pull.
func Start(t testing.TB) *Server { return start(t, "", "", false) }

// StartWithPassword starts a registry as Start does that asks for HTTP
// basic authentication (Distribution's htpasswd access controller) as
// user with password.
func StartWithPassword(t testing.TB, user, password string) *Server {
	return start(t, user, password, false)
}

// StartWithToken starts a registry as Start does that asks for bearer
// tokens (Distribution's token access controller, as GHCR, Docker Hub and
// Harbor do), from a token service at /token on the same server that
// gives user, authenticated with password, every action asked for.
func StartWithToken(t testing.TB, user, password string) *Server {
	return start(t, user, password, true)
}

func start(t testing.TB, user, password string, token bool) *Server {
	t.Helper()
	t.Setenv("OTEL_TRACES_EXPORTER", "none") // the registry would export traces to localhost:4318
	logrus.SetOutput(io.Discard)             // it logs every 404 a client asks for on purpose
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{
		"filesystem":  configuration.Parameters{"rootdirectory": t.TempDir()},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	var tokens *tokenService
	var ln net.Listener
	if token {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		tokens = newTokenService(t, user, password, "http://"+ln.Addr().String()+"/token")
		cfg.Auth = configuration.Auth{"token": tokens.options()}
	} else if user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(file, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "plugship-test", "path": file}}
	}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{app: handlers.NewApp(ctx, cfg), requests: map[string]int{}, tokens: tokens}
	if ln != nil {
		s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(s.serve)}}
		s.srv.Start()
	} else {
		s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	}
	s.URL = s.srv.URL
	s.Host = strings.TrimPrefix(s.URL, "http://")
	t.Cleanup(func() {
		s.srv.Close()
		s.app.Shutdown()
		cancel()
	})
	return s
}

// Fail makes the registry answer a request with the status f returns for
// it (0: answer it as usual); nil stops that.
func (s *Server) Fail(f func(r *http.Request) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.Method+" "+kind(r.URL.Path)]++
	fail := s.fail
	s.mu.Unlock()
	if s.tokens != nil && r.URL.Path == "/token" {
		s.tokens.ServeHTTP(w, r)
		return
	}
	if fail != nil {
		if code := fail(r); code != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			io.WriteString(w, `{"errors":[{"code":"UNKNOWN","message":"injected by the test"}]}`)
			return
		}
	}
	s.app.ServeHTTP(w, r)
}

// kind is what a request's path addresses: blob, upload, manifest, tags
// or base.
func kind(path string) string {
	switch {
	case strings.Contains(path, "/blobs/uploads"):
		return "upload"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	case strings.Contains(path, "/tags/"):
		return "tags"
	}
	return "base"
}

// Requests returns how many requests of each kind ("PUT blob", "POST
// upload", "PUT manifest", ...) the registry answered, and resets them.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = map[string]int{}
	return r
}
