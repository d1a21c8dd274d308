#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, ... are set by rv_start_registry
# test_valgrind_cli.sh - the regvault binary itself under valgrind for the
# whole main flow (init, backup, a no-change backup, snapshots, restore with
# --dry-run and for real, verify --level deep, drill): no leak, no invalid
# read or write, no use of uninitialised memory. Only registered for builds without sanitizers.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v valgrind >/dev/null || die "valgrind is not installed; run scripts/deps.sh"

rv_start_registry src
rv_start_registry dst
rv_start_registry scratch
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst scratch

vg() {
	local log=$RV_WORK/vg.$1.log
	shift
	valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--log-file="$log" "$REGVAULT" --config "$RV_CONFIG" "$@" >"$RV_OUT" 2>"$RV_ERR" || {
		local rc=$?
		cat "$log" "$RV_ERR" >&2
		die "regvault $* under valgrind exited $rc"
	}
	[[ ! -s $log ]] || { cat "$log" >&2; die "valgrind reported problems for: regvault $*"; }
	pass "valgrind clean: regvault $*"
}

vg init init
vg backup1 backup
vg backup2 backup --json
rv_expect_eq "no-change backup fetched blobs" "$(rv_json_field blobs_fetched)" 0
vg snapshots snapshots --json
vg plan restore latest --to dst --dry-run
vg restore restore latest --to dst
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" >/dev/null
pass "restore under valgrind is digest-equal"
vg verify verify --level deep --json
vg drill drill --to scratch --json
vg history verify --history
