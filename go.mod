module github.com/plugship/plugship

go 1.25.8

require (
	github.com/fsnotify/fsnotify v1.10.1
	github.com/google/renameio/v2 v2.0.2
	golang.org/x/mod v0.40.0
)

require (
	github.com/magefile/mage v1.17.0 // indirect
	golang.org/x/sys v0.13.0 // indirect
)

tool github.com/magefile/mage
