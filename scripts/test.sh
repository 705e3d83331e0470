#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine,
# then checks formatting and vet and runs every test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real clients the tests talk to: khard reads the vcard-dir sink's folder
# (it brings /usr/bin/python3 with vobject).
packages=()
command -v khard >/dev/null || packages+=(khard)
if ((${#packages[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

unformatted=$(gofmt -l cmd internal)
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
# The systemd units: exposure score 2.0 or lower, and they load cleanly.
scripts/check-units.sh
go test -race -count=1 ./...
