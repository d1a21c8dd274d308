#!/usr/bin/env bash
# Install what regvault needs to build and test on Debian 12, skipping
# what is already there. Needs root (or sudo).
set -euo pipefail

packages=(
	build-essential cmake pkg-config git ca-certificates curl jq sqlite3
	libcurl4-openssl-dev libarchive-dev libzstd-dev libssl-dev
	libsqlite3-dev libjansson-dev libyaml-dev libcmocka-dev
	docker-registry skopeo valgrind time apache2-utils tzdata
	# a throwaway Ceph RADOS Gateway for the s3 target's tests
	# (tests/fixtures/ceph-rgw.sh): mon + memstore OSD + radosgw
	ceph-mon ceph-osd radosgw ceph-common
	# the peers bench/run.sh measures regvault against (time is above)
	restic borgbackup
	# libFuzzer for the parsers' fuzz targets (fuzz/run.sh)
	clang
	# the man page's render check (tests/e2e/test_packaging.sh)
	man-db groff-base
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: everything is installed"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps: need root to install: ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian's docker-registry package may start a system service on :5000;
# regvault's scripts never use it (they start their own on free ports).
