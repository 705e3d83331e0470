#!/usr/bin/env bash
# The benchmark command: installs what the CardDAV figures compare against
# (Radicale and vdirsyncer, from Debian), builds connect-sync, and prints
# the table of cmd/connect-sync-bench. Not part of the tests: the figures
# are ratios measured in one run, but a busy machine still moves them.
# Arguments go to connect-sync-bench (--contacts, --events, --cards).
set -euo pipefail
cd "$(dirname "$0")/.."
# The toolchain the tests use; see scripts/test.sh.
export GOTOOLCHAIN=go1.27.3

packages=()
command -v radicale >/dev/null || packages+=(radicale)
command -v vdirsyncer >/dev/null || packages+=(vdirsyncer)
# GNU time measures each connect-sync process's peak RSS.
[ -x /usr/bin/time ] || packages+=(time)
if ((${#packages[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/connect-sync" ./cmd/connect-sync
go build -o "$bin/connect-sync-bench" ./cmd/connect-sync-bench
"$bin/connect-sync-bench" --bin "$bin/connect-sync" "$@"
