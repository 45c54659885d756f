package server

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/heroiclabs/nakama-common/runtime"
)

// RpcHandler serves POST /v2/rpc/<id> as Nakama does with ?unwrap: the
// raw body is the payload and the RPC's result is the raw response body.
// An unknown id is 404, an RPC's error is 500 with the error's text (the
// real server wraps both in JSON). Query parameters (http_key, unwrap)
// are accepted and ignored.
func RpcHandler(logger *Logger, rpcs map[string]RuntimeRpcFunction) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/rpc/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		id := strings.ToLower(r.PathValue("id"))
		fn, ok := rpcs[id]
		if !ok {
			http.Error(w, "RPC function not found", http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ctx := context.WithValue(r.Context(), runtime.RUNTIME_CTX_HEADERS, map[string][]string(r.Header.Clone()))
		ctx = context.WithValue(ctx, runtime.RUNTIME_CTX_QUERY_PARAMS, map[string][]string(r.URL.Query()))
		result, err := fn(ctx, string(body))
		if err != nil {
			logger.Debug("RPC returned an error", String("id", id), Error(err))
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, result)
	})
	return mux
}
