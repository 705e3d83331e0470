#!/usr/bin/env bash
# Checks the systemd units in contrib/systemd: each service's exposure
# score from `systemd-analyze security` must be 2.0 or lower, and
# `systemd-analyze verify` must find nothing wrong with any unit.
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd-analyze comes with the systemd package.
if ! command -v systemd-analyze >/dev/null; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq systemd >/dev/null
fi

threshold=20 # exposure 2.0, in the tenths --threshold takes
binary=/usr/local/bin/connect-sync
failed=0

shopt -s nullglob
services=(contrib/systemd/*.service)
if ((${#services[@]} == 0)); then
	echo "no units in contrib/systemd" >&2
	exit 1
fi

for unit in "${services[@]}"; do
	name=$(basename "$unit")
	rc=0
	out=$(systemd-analyze security --offline=true --threshold="$threshold" "$unit" 2>&1) || rc=$?
	# "→ Overall exposure level for NAME: 1.1 OK 🙂"
	score=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\).*$/\1/p' <<<"$out")
	if [ -z "$score" ]; then
		echo "$out" >&2
		echo "$name: no exposure score" >&2
		failed=1
	elif ((rc != 0)); then
		grep '✗' <<<"$out" >&2 || true
		echo "$name: $score above 2.0" >&2
		failed=1
	else
		echo "$name: $score OK"
	fi
done

# verify loads the units as systemd would. Where connect-sync is not
# installed it complains that ExecStart= is not executable: ignore that.
rc=0
out=$(systemd-analyze verify contrib/systemd/*.service contrib/systemd/*.timer 2>&1) || rc=$?
problems=$(grep -vF "Command $binary is not executable: No such file or directory" <<<"$out" || true)
if [ -n "$problems" ]; then
	echo "$problems" >&2
	echo "systemd-analyze verify: failed" >&2
	failed=1
elif ((rc != 0)) && [ -x "$binary" ]; then
	echo "systemd-analyze verify: failed (exit $rc)" >&2
	failed=1
else
	echo "systemd-analyze verify: OK"
fi

exit "$failed"
