module github.com/plugship/plugship

go 1.26.0

require (
	github.com/google/renameio/v2 v2.0.2
	github.com/magefile/mage v1.17.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/mod v0.43.0
	golang.org/x/sync v0.25.0
)
