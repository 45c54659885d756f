package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/sharding"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"

	// The entry kinds sigstore-go submits: hashedrekord for a message
	// signature, dsse for a DSSE envelope.
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
)

const entriesPath = "/api/v1/log/entries"

// rekorServer is a Rekor v1 log: one shard, an in-memory RFC 6962 Merkle
// tree, SETs and checkpoints signed with an ECDSA P-256 key.
type rekorServer struct {
	s        *Sigstore
	key      *ecdsa.PrivateKey
	signer   signature.SignerVerifier
	logID    string // hex SHA-256 of the DER public key
	treeID   int64
	hostname string

	mu     sync.Mutex
	bodies [][]byte // canonicalized entries
	hashes [][]byte // their leaf hashes
	times  []int64  // integrated times
	index  map[string]int
}

func newRekorServer(s *Sigstore, addr string) (*rekorServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	tid, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return &rekorServer{
		s: s, key: key, signer: signer,
		logID:    hex.EncodeToString(keyID(key.Public())),
		treeID:   tid.Int64() + 1,
		hostname: host,
		index:    map[string]int{},
	}, nil
}

func (r *rekorServer) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hashes)
}

func (r *rekorServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+entriesPath, r.serveCreate)
	mux.HandleFunc("GET "+entriesPath+"/{id}", r.serveGetByUUID)
	mux.HandleFunc("GET "+entriesPath, r.serveGetByIndex)
	mux.HandleFunc("GET /api/v1/log", r.serveLogInfo)
	mux.HandleFunc("GET /api/v1/log/publicKey", func(w http.ResponseWriter, _ *http.Request) {
		pemKey, err := cryptoutils.MarshalPublicKeyToPEM(r.key.Public())
		if err != nil {
			rekorError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pemKey)
	})
	return mux
}

func rekorError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, models.Error{Code: int64(code), Message: msg})
}

func (r *rekorServer) entryID(i int) string {
	uuid := hex.EncodeToString(r.hashes[i])
	id, err := sharding.CreateEntryIDFromParts(fmt.Sprintf("%x", r.treeID), uuid)
	if err != nil {
		return uuid
	}
	return id.ReturnEntryIDString()
}

func (r *rekorServer) serveCreate(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 32<<20))
	if err != nil {
		rekorError(w, http.StatusBadRequest, err.Error())
		return
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		rekorError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	// As Rekor: build the typed entry (which verifies the signature over
	// the digest, or the DSSE envelope's signatures, with the given key or
	// certificate) and log its canonical form.
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		rekorError(w, http.StatusBadRequest, "error processing entry: "+err.Error())
		return
	}
	leaf, err := types.CanonicalizeEntry(req.Context(), entry)
	if err != nil {
		var verr *types.InputValidationError
		if errors.As(err, &verr) {
			rekorError(w, http.StatusBadRequest, "error processing entry: "+err.Error())
			return
		}
		rekorError(w, http.StatusInternalServerError, "error generating canonicalized entry")
		return
	}
	leafHash := rfc6962.DefaultHasher.HashLeaf(leaf)

	r.mu.Lock()
	if i, ok := r.index[hex.EncodeToString(leafHash)]; ok {
		id := r.entryID(i)
		r.mu.Unlock()
		w.Header().Set("Location", entriesPath+"/"+id)
		rekorError(w, http.StatusConflict, "an equivalent entry already exists in the transparency log with UUID "+id)
		return
	}
	i := len(r.hashes)
	r.bodies = append(r.bodies, leaf)
	r.hashes = append(r.hashes, leafHash)
	r.times = append(r.times, r.s.now().Unix())
	r.index[hex.EncodeToString(leafHash)] = i
	id, anon, err := r.entryLocked(req.Context(), i)
	r.mu.Unlock()
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("ETag", id)
	w.Header().Set("Location", entriesPath+"/"+id)
	writeJSON(w, http.StatusCreated, models.LogEntry{id: anon})
}

func (r *rekorServer) serveGetByUUID(w http.ResponseWriter, req *http.Request) {
	uuid, err := sharding.GetUUIDFromIDString(req.PathValue("id"))
	if err != nil {
		rekorError(w, http.StatusBadRequest, err.Error())
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[uuid]
	if !ok {
		rekorError(w, http.StatusNotFound, "entry not found")
		return
	}
	r.writeEntryLocked(w, req, i)
}

func (r *rekorServer) serveGetByIndex(w http.ResponseWriter, req *http.Request) {
	i, err := strconv.Atoi(req.URL.Query().Get("logIndex"))
	if err != nil || i < 0 {
		rekorError(w, http.StatusBadRequest, "logIndex must be a non-negative integer")
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.hashes) {
		rekorError(w, http.StatusNotFound, "entry not found")
		return
	}
	r.writeEntryLocked(w, req, i)
}

func (r *rekorServer) writeEntryLocked(w http.ResponseWriter, req *http.Request, i int) {
	id, anon, err := r.entryLocked(req.Context(), i)
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, models.LogEntry{id: anon})
}

func (r *rekorServer) serveLogInfo(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	n := len(r.hashes)
	rootHash := mth(r.hashes)
	r.mu.Unlock()
	cp, err := util.CreateAndSignCheckpoint(req.Context(), r.hostname, r.treeID, uint64(n), rootHash, r.signer)
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err.Error())
		return
	}
	size := int64(n)
	writeJSON(w, http.StatusOK, models.LogInfo{
		RootHash:       ptr(hex.EncodeToString(rootHash)),
		SignedTreeHead: ptr(string(cp)),
		TreeID:         ptr(strconv.FormatInt(r.treeID, 10)),
		TreeSize:       &size,
		InactiveShards: []*models.InactiveShardLogInfo{},
	})
}

// entryLocked is entry i as Rekor returns it: the canonical body, its
// integrated time, a SET over both, and an inclusion proof in the current
// tree with a signed checkpoint.
func (r *rekorServer) entryLocked(ctx context.Context, i int) (string, models.LogEntryAnon, error) {
	idx := int64(i)
	anon := models.LogEntryAnon{
		Body:           r.bodies[i],
		IntegratedTime: ptr(r.times[i]),
		LogID:          ptr(r.logID),
		LogIndex:       &idx,
	}
	payload, err := anon.MarshalBinary()
	if err != nil {
		return "", anon, err
	}
	canonical, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return "", anon, err
	}
	set, err := r.signer.SignMessage(bytes.NewReader(canonical))
	if err != nil {
		return "", anon, err
	}
	n := len(r.hashes)
	rootHash := mth(r.hashes)
	var hashes []string
	for _, h := range inclusionPath(i, r.hashes) {
		hashes = append(hashes, hex.EncodeToString(h))
	}
	cp, err := util.CreateAndSignCheckpoint(ctx, r.hostname, r.treeID, uint64(n), rootHash, r.signer)
	if err != nil {
		return "", anon, err
	}
	treeSize := int64(n)
	anon.Verification = &models.LogEntryAnonVerification{
		SignedEntryTimestamp: strfmt.Base64(set),
		InclusionProof: &models.InclusionProof{
			Checkpoint: ptr(string(cp)),
			Hashes:     hashes,
			LogIndex:   &idx,
			RootHash:   ptr(hex.EncodeToString(rootHash)),
			TreeSize:   &treeSize,
		},
	}
	return r.entryID(i), anon, nil
}

// mth is RFC 6962's Merkle Tree Hash of the leaf hashes.
func mth(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		return rfc6962.DefaultHasher.EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := split(len(leaves))
	return rfc6962.DefaultHasher.HashChildren(mth(leaves[:k]), mth(leaves[k:]))
}

// inclusionPath is RFC 6962's PATH(m, D[n]).
func inclusionPath(m int, leaves [][]byte) [][]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := split(len(leaves))
	if m < k {
		return append(inclusionPath(m, leaves[:k]), mth(leaves[k:]))
	}
	return append(inclusionPath(m-k, leaves[k:]), mth(leaves[:k]))
}

// split is the largest power of two smaller than n (n > 1).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

func ptr[T any](v T) *T { return &v }
