#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, ... are set by rv_start_registry
# test_write_policy.sh - two targets, one of which fails every write (its
# packs/ folder is replaced by a file, so nothing can be created there):
#  - write_policy: all  -> the backup fails naming the target; no snapshot;
#    the pack that did reach the good target is adopted by the next run;
#  - write_policy: { quorum: 1 } -> the backup succeeds with a warning
#    naming the target, and the catalog records the packs on the good
#    target only; a restore from it is digest-equal.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst
cat >>"$RV_CONFIG" <<EOC
  - name: second
    type: dir
    path: $RV_WORK/store2
EOC
rv_run 0 init
[[ -f $RV_WORK/store2/regvault.json ]] || die "init did not initialise the second target"

# The second target cannot take any pack from now on.
mkdir -p "$RV_WORK/store2"
rm -rf "$RV_WORK/store2/packs"
echo "not a folder" >"$RV_WORK/store2/packs"

step "write_policy: all (the default)"
rv_run 1 backup
grep -q "second" "$RV_ERR" || die "the failing target is not named: $(cat "$RV_ERR")"
rv_expect_eq "snapshots after the failed backup" "$(sqlite3 "$RV_WORK/catalog.db" 'select count(*) from snapshots')" 0
rv_expect_eq "packs recorded" "$(sqlite3 "$RV_WORK/catalog.db" 'select count(*) from packs')" 0

step "write_policy: { quorum: 1 }"
echo "write_policy: { quorum: 1 }" >>"$RV_CONFIG"
# something new to pack, beside what the failed run left on 'local'
push_new "$src_URL"
rv_run 0 backup --json
grep -q "adopted" "$RV_ERR" || die "the pack the failed run left on 'local' was not adopted: $(cat "$RV_ERR")"
grep -q "second" "$RV_ERR" || die "the failing target is not named in a warning: $(cat "$RV_ERR")"
[[ $(rv_json_field packs_written) -ge 1 ]] || die "no pack written"
on_local=$(sqlite3 "$RV_WORK/catalog.db" "select count(*) from pack_locations l join targets t on t.id = l.target where t.name = 'local'")
on_second=$(sqlite3 "$RV_WORK/catalog.db" "select count(*) from pack_locations l join targets t on t.id = l.target where t.name = 'second'")
packs=$(sqlite3 "$RV_WORK/catalog.db" "select count(*) from packs")
rv_expect_eq "packs recorded on target 'local'" "$on_local" "$packs"
rv_expect_eq "packs recorded on target 'second'" "$on_second" 0
rv_run 0 restore latest --to dst
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" >/dev/null
pass "with a quorum of 1 the backup went to the good target and restores digest-equal"
