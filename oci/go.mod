module github.com/plugship/plugship/oci

go 1.25.8

require (
	github.com/opencontainers/go-digest v1.0.0
	github.com/opencontainers/image-spec v1.1.1
	github.com/plugship/plugship v0.0.0-00010101000000-000000000000
	oras.land/oras-go/v2 v2.6.2
)

require (
	github.com/google/renameio/v2 v2.0.2 // indirect
	golang.org/x/mod v0.40.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)

replace github.com/plugship/plugship => ../
