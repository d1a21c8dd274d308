#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_corrupt_blob.sh - a real registry that serves wrong bytes under a
# blob's digest (the file in its storage flipped, same length) makes the
# backup fail with exit code 4 naming the digest; the catalog records neither
# that blob nor a snapshot; once the file is repaired, a backup succeeds.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to inspect the catalog"

step "start registries, fill the source, init"
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init
CATALOG=$RV_WORK/catalog.db

# The layer unique to team-b/web (its last layer; the first is the shared base).
digest=$(rv_get_manifest "$src_URL" team-b/web latest | jq -r '.layers[-1].digest')
hex=${digest#sha256:}
[[ $hex =~ ^[0-9a-f]{64}$ ]] || die "fixture: bad layer digest '$digest'"
data=$src_DIR/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
[[ -f $data ]] || die "fixture: blob file not found at $data"
cp -p "$data" "$RV_WORK/blob.orig"

step "corrupt $digest in the source registry's storage"
size=$(stat -c %s "$data")
off=$((size / 2))
# 16 bytes at the middle, each one inverted.
flipped=
for b in $(od -An -v -tx1 -j "$off" -N 16 "$data"); do
	flipped+=$(printf '\\x%02x' $((255 - 0x$b)))
done
# shellcheck disable=SC2059
printf "$flipped" | dd of="$data" bs=1 seek="$off" conv=notrunc status=none
rv_expect_eq "corrupted file size" "$(stat -c %s "$data")" "$size"
[[ $(sha256sum <"$data" | cut -c1-64) != "$hex" ]] || die "fixture: the file still matches its digest"
served=$(curl -fsS "$src_URL/v2/team-b/web/blobs/$digest" | sha256sum | cut -c1-64)
[[ $served != "$hex" ]] || die "fixture: the registry still serves the right bytes"
pass "registry serves $size bytes hashing to sha256:${served:0:12}... under $digest"

step "backup must fail with exit 4 naming the digest"
rv_run 4 backup
grep -q "$hex" "$RV_ERR" || die "the error does not name $digest: $(cat "$RV_ERR")"
pass "backup: exit 4, '$(grep -m1 "$hex" "$RV_ERR")'"
n=$(sqlite3 "$CATALOG" "select count(*) from blobs where digest='$digest'")
rv_expect_eq "catalog rows for the corrupt blob" "$n" 0
n=$(sqlite3 "$CATALOG" "select count(*) from snapshots")
rv_expect_eq "catalog snapshots after the failed run" "$n" 0
rv_run 0 snapshots --json
rv_expect_eq "snapshots --json after the failed run" "$(jq length "$RV_OUT")" 0

step "repair the file: the next backup succeeds"
cp -p "$RV_WORK/blob.orig" "$data"
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
n=$(sqlite3 "$CATALOG" "select count(*) from blobs where digest='$digest'")
rv_expect_eq "catalog rows for the repaired blob" "$n" 1
rv_run 0 snapshots --json
rv_expect_eq "snapshots after the repaired run" "$(jq -r '.[].id' "$RV_OUT")" "$snap"
rv_run 0 restore latest --to dst
"$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" || die "restore after repair differs"
pass "all corrupt-blob assertions hold"
