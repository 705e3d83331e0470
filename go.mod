module github.com/connect-sync/connect-sync

go 1.26.8

require (
	github.com/emersion/go-vcard v0.0.0-20260618161152-d854b7e0e2d3
	github.com/google/uuid v1.6.0
	go.etcd.io/bbolt v1.4.3
	go.yaml.in/yaml/v3 v3.0.4
	golang.org/x/term v0.48.0
)

require golang.org/x/sys v0.50.0 // indirect
