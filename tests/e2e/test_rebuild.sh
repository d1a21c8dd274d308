#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_rebuild.sh - the catalog is a cache: deleted, it is rebuilt from one
# target and the key alone with the same snapshot list; a restore from the
# rebuilt catalog is digest-equal; the next backup fetches nothing; a
# damaged pack is reported with what it held, and the rebuild exits 4.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh
CAT=$RV_WORK/catalog.db

step "two backups with a tag moved between them"
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init
rv_run 0 backup --json
move_tag "$src_URL"
push_new "$src_URL"
rv_run 0 backup --json
rv_run 0 snapshots --json
cp "$RV_OUT" "$RV_WORK/snapshots.before"
rv_expect_eq "snapshots before" "$(jq length "$RV_WORK/snapshots.before")" 2
# counts, and meta: store_id and (signing stores) the pinned fingerprint
counts() {
	sqlite3 "$CAT" 'SELECT count(*) FROM packs; SELECT count(*) FROM chunks;
		SELECT count(*) FROM blobs; SELECT count(*) FROM manifests;
		SELECT key || "=" || value FROM meta ORDER BY key;'
}
counts >"$RV_WORK/counts.before"

step "rebuild refuses to replace an existing catalog without --force"
rv_run 2 catalog rebuild --from local
grep -q "exists" "$RV_ERR" || die "no reason given: $(cat "$RV_ERR")"
rv_expect_eq "catalog untouched" "$(sqlite3 "$CAT" 'SELECT count(*) FROM snapshots')" 2
rv_run 2 catalog rebuild --from nowhere --force
grep -q "no target 'nowhere'" "$RV_ERR" || die "unknown target not named: $(cat "$RV_ERR")"
pass "refusals exit 2 with a reason"

step "delete the catalog, rebuild from the one target"
rm -f "$CAT" "$CAT-wal" "$CAT-shm"
rv_run 0 catalog rebuild --from local --json
jq -e . "$RV_OUT" >/dev/null || die "rebuild --json is not JSON"
rv_expect_eq "rebuild complete" "$(rv_json_field complete)" true
rv_expect_eq "rebuild snapshots" "$(rv_json_field snapshots)" 2
rv_expect_eq "rebuild damaged" "$(jq '.damaged | length' "$RV_OUT")" 0
[[ ! -e $CAT.rebuild ]] || die "the temporary catalog was left behind"
counts >"$RV_WORK/counts.after"
diff -u "$RV_WORK/counts.before" "$RV_WORK/counts.after" ||
	die "packs/chunks/blobs/manifests or meta differ after the rebuild"
pass "same pack, chunk, blob and manifest counts and meta"
rv_run 0 snapshots --json
diff -u "$RV_WORK/snapshots.before" "$RV_OUT" || die "snapshots --json differs after the rebuild"
pass "snapshots --json is identical after the rebuild"

step "restore latest from the rebuilt catalog"
rv_run 0 restore latest --to dst
"$CHECK_EQUAL" "$src_URL" "$dst_URL" || die "restore from the rebuilt catalog differs"
pass "restore from the rebuilt catalog is digest-equal"

step "a backup after the rebuild fetches nothing new"
rv_run 0 backup --json
rv_expect_eq "blobs_fetched" "$(rv_json_field blobs_fetched)" 0
rv_expect_eq "manifests_fetched" "$(rv_json_field manifests_fetched)" 0
rv_expect_eq "packs_written" "$(rv_json_field packs_written)" 0

step "--force replaces a catalog; a damaged pack is reported with what it held"
cp "$CAT" "$RV_WORK/catalog.good"
pack=$(find "$RV_WORK/store/packs" -type f | sort | head -n 1)
printf 'X' | dd of="$pack" bs=1 seek=100 conv=notrunc status=none
rv_run 4 catalog rebuild --from local --force --json
rv_expect_eq "damaged packs" "$(jq '.damaged | length' "$RV_OUT")" 1
jq -e --arg p "${pack#"$RV_WORK/store/"}" '.damaged[0].name == $p' "$RV_OUT" >/dev/null ||
	die "damaged pack not named: $(jq -c .damaged "$RV_OUT")"
skipped=$(jq '.skipped | length' "$RV_OUT")
((skipped > 0)) || die "nothing reported as skipped for a damaged pack"
grep -q "damaged pack" "$RV_ERR" || die "no error line: $(cat "$RV_ERR")"
pass "damaged pack named; $skipped blob(s)/manifest(s)/snapshot(s) reported skipped; exit 4"
[[ -s $CAT && ! -e $CAT.rebuild ]] || die "the rebuilt catalog was not put in place"

step "rebuild under valgrind"
if [[ ${RV_SANITIZE:-0} != 1 && ${RV_SANITIZE:-} != ON ]] && command -v valgrind >/dev/null; then
	rm -f "$CAT" "$CAT-wal" "$CAT-shm"
	rc=0
	valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		"$REGVAULT" --config "$RV_CONFIG" catalog rebuild --from local >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	[[ $rc == 4 ]] || { cat "$RV_ERR" >&2; die "valgrind rebuild exited $rc, expected 4"; }
	pass "no leaks or memory errors"
fi
