package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"net/http"

	"github.com/digitorus/timestamp"
)

const tsaPath = "/api/v1/timestamp"

// tsaServer is an RFC 3161 timestamp authority as Sigstore's
// timestamp-authority serves it.
type tsaServer struct {
	s            *Sigstore
	root         *x509.Certificate
	intermediate *x509.Certificate
	leaf         *x509.Certificate
	key          *ecdsa.PrivateKey
}

var (
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKPTimeStamping   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidSigstoreTSPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}
)

func newTSAServer(s *Sigstore) (*tsaServer, error) {
	r, i, ik, err := newCA("sigstoretest-tsa", x509.ExtKeyUsageTimeStamping, s.created)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// RFC 3161 2.3: the only extended key usage, critical.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamping})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial(),
		Subject:         pkix.Name{CommonName: "sigstoretest-tsa-leaf", Organization: []string{"sigstoretest"}},
		NotBefore:       i.NotBefore,
		NotAfter:        i.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, i, key.Public(), ik)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tsaServer{s: s, root: r, intermediate: i, leaf: leaf, key: key}, nil
}

func (t *tsaServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tsaPath, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": err.Error()})
			return
		}
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "error parsing timestamp request: " + err.Error()})
			return
		}
		ts := timestamp.Timestamp{
			HashAlgorithm:     req.HashAlgorithm,
			HashedMessage:     req.HashedMessage,
			Time:              t.s.now().UTC(),
			SerialNumber:      serial(),
			Policy:            oidSigstoreTSPolicy,
			Nonce:             req.Nonce,
			AddTSACertificate: req.Certificates,
			Certificates:      []*x509.Certificate{t.intermediate, t.root},
			ExtraExtensions:   req.Extensions,
		}
		if !req.Certificates {
			ts.Certificates = nil
		}
		resp, err := ts.CreateResponseWithOpts(t.leaf, t.key, crypto.SHA256)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"code": 500, "message": err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.WriteHeader(http.StatusCreated)
		w.Write(resp)
	})
	return mux
}
