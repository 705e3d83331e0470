#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine,
# then checks formatting and vet and runs every test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
# Go 1.27.3, which the go command fetches from the module proxy: go.mod
# requires it, since govulncheck (below) finds standard-library
# vulnerabilities reachable from our code in older releases, and a Go that
# is older refuses to build rather than build a vulnerable binary.
export GOTOOLCHAIN=go1.27.3

# Real peers the tests talk to: khard reads the vcard-dir sink's folder;
# the carddav sink writes to Radicale (with htpasswd from apache2-utils for
# its basic auth) and Xandikos, which its tests start on loopback ports.
# /usr/bin/python3 is Debian's, which these programs run on, whatever
# python3 comes first on PATH.
packages=()
command -v khard >/dev/null || packages+=(khard)
command -v radicale >/dev/null || packages+=(radicale)
command -v xandikos >/dev/null || packages+=(xandikos)
command -v htpasswd >/dev/null || packages+=(apache2-utils)
# The nats sink publishes to real nats-server processes with JetStream (one,
# and a three-node cluster) that its tests start on loopback ports.
command -v nats-server >/dev/null || packages+=(nats-server)
# Radicale reads htpasswd's MD5 hashes through passlib, which it only suggests.
/usr/bin/python3 -c 'import passlib' 2>/dev/null || packages+=(python3-passlib)
# The completion scripts are checked by the shells they are for, and the man
# page by groff.
command -v zsh >/dev/null || packages+=(zsh)
command -v fish >/dev/null || packages+=(fish)
command -v groff >/dev/null || packages+=(groff-base)
if ((${#packages[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
# With the servers installed, a CardDAV test that cannot find one fails
# rather than skips.
export CONNECT_SYNC_DAV_TESTS=1

# The Standard Webhooks reference library, which the webhook sink's tests
# verify every signature with (pinned in its package-lock.json).
npm ci --prefix internal/sinks/webhook/testdata/verifier --no-audit --no-fund --silent

unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
# The systemd units: exposure score 2.0 or lower, and they load cleanly.
scripts/check-units.sh
go test -race -count=1 ./...

# Known vulnerabilities that the code can reach, the standard library's
# included: govulncheck, pinned, from the Go module proxy. vuln.go.dev is
# out of reach, so the database is the one the golang.org/x/vulndb module
# ships (data/osv, indexed by its own tool): bump vulndb to check against
# newer reports.
govulncheck=golang.org/x/vuln/cmd/govulncheck@v1.9.0
vulndb=golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
vulndir=$(mktemp -d)
trap 'rm -rf "$vulndir"' EXIT
go mod download "$vulndb"
go run "${vulndb%@*}/cmd/indexdb@${vulndb#*@}" -vulns "$(go env GOMODCACHE)/$vulndb/data/osv" -out "$vulndir"
go run "$govulncheck" -db "file://$vulndir" ./...
# And the binary as the README builds it: what was compiled in, the
# standard library's version included.
go build -o "$vulndir/connect-sync" ./cmd/connect-sync
go run "$govulncheck" -db "file://$vulndir" -mode binary "$vulndir/connect-sync"
