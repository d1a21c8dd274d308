#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_signed_snapshots.sh - the targets, not the catalog, decide what a
# snapshot is: a snapshot record altered on the target, a seal whose
# signature is broken, a catalog whose tags were edited, and a store whose
# signing key is not the pinned one are all refused with exit code 4, and
# nothing is pushed. The untouched snapshot restores digest-equal.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init
fp=$(grep -o 'sha256:[0-9a-f]\{64\}' "$RV_OUT" | head -n1)
[[ -n $fp ]] || die "init printed no signing key fingerprint: $(cat "$RV_OUT")"
pass "init printed the signing key fingerprint $fp"
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
store=$RV_WORK/store
record=$store/snapshots/$snap
seal=$store/seals/$snap
[[ -f $record ]] || die "no snapshot record at $record"
[[ -f $seal ]] || die "no seal at $seal"
jq -e '.seal | fromjson | .packs | length > 0' "$seal" >/dev/null || die "the seal lists no pack"
pass "the snapshot has a record and a signed seal listing its packs"

dst_blobs() { find "$dst_DIR" -type f -name data 2>/dev/null | wc -l; }

flip() { # FILE OFFSET: invert one byte in place
	local b
	b=$(od -An -v -tx1 -j "$2" -N 1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "\\x$(printf '%02x' $((255 - 0x$b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

step "a snapshot record altered on the target"
cp -p "$record" "$RV_WORK/record.orig"
flip "$record" $(($(stat -c %s "$record") / 2))
rv_run 4 restore latest --to dst
grep -q "altered\|damaged" "$RV_ERR" || die "the message does not say the record is damaged: $(cat "$RV_ERR")"
rv_expect_eq "blobs pushed to the destination" "$(dst_blobs)" 0
cp -p "$RV_WORK/record.orig" "$record"

step "a seal whose signature does not verify"
cp -p "$seal" "$RV_WORK/seal.orig"
jq -c '.seal |= sub("\"sequence\":1"; "\"sequence\":7")' "$RV_WORK/seal.orig" >"$seal"
cmp -s "$seal" "$RV_WORK/seal.orig" && die "fixture: the seal was not changed"
rv_run 4 restore latest --to dst
grep -q "signature" "$RV_ERR" || die "the message does not mention the signature: $(cat "$RV_ERR")"
cp -p "$RV_WORK/seal.orig" "$seal"

step "a catalog whose tag was pointed at another manifest"
cp -p "$RV_WORK/catalog.db" "$RV_WORK/catalog.orig"
sqlite3 "$RV_WORK/catalog.db" "update snapshot_tags set manifest = (select id from manifests order by id desc limit 1) where rowid in (select rowid from snapshot_tags where repo = 'team-a/api' limit 1)" 2>/dev/null ||
	sqlite3 "$RV_WORK/catalog.db" "update snapshot_tags set manifest = (select max(id) from manifests) where repo = 'team-a/api' and tag = 'v1'"
rv_run 4 restore latest --to dst
grep -q "catalog" "$RV_ERR" || die "the message does not blame the catalog: $(cat "$RV_ERR")"
cp -p "$RV_WORK/catalog.orig" "$RV_WORK/catalog.db"
rm -f "$RV_WORK/catalog.db-wal" "$RV_WORK/catalog.db-shm"

step "a config that pins another signing key"
cp -p "$RV_CONFIG" "$RV_WORK/regvault.orig.yml"
sed -i "s|^  passphrase_file:.*|&\n  fingerprint: sha256:$(printf '0%.0s' {1..64})|" "$RV_CONFIG"
rv_run 4 restore latest --to dst
grep -q "fingerprint" "$RV_ERR" || die "the message does not mention the fingerprint: $(cat "$RV_ERR")"
sed -i "s|fingerprint: .*|fingerprint: $fp|" "$RV_CONFIG"

step "with everything back in place, the restore is digest-equal"
rv_run 0 restore latest --to dst
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" >/dev/null
pass "the restore with the pinned fingerprint is digest-equal"
