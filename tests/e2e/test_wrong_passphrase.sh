#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_wrong_passphrase.sh - a wrong passphrase (from REGVAULT_PASSWORD or from
# key.passphrase_file) stops backup and restore with exit code 3 and a message
# about the passphrase, and changes nothing: the store folder and the catalog
# stay byte-identical and the snapshot list is unchanged.
# This is the one test that uses the default (slow) key derivation.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
unset REGVAULT_TEST_FAST_KDF

GOOD="the right passphrase, 24 chars+"
BAD="not the right passphrase"

step "start registries, init and back up with the right passphrase (default KDF)"
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config --no-passfile "$RV_WORK/regvault.yml" src dst
export REGVAULT_PASSWORD=$GOOD
rv_run 0 init
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
rv_run 0 snapshots --json
cp "$RV_OUT" "$RV_WORK/snapshots.before"

# State to compare: every file of the store and the catalog (with any
# -wal/-shm/-journal beside it).
state() {
	rv_tree_sums "$RV_WORK/store" "$RV_WORK"/catalog.db*
}
state >"$RV_WORK/state.before"
[[ -s $RV_WORK/state.before ]] || die "no store or catalog files found"
note "$(wc -l <"$RV_WORK/state.before") store/catalog files recorded"

expect_key_error() {
	local what=$1
	shift
	rv_run 3 "$@"
	grep -qi 'passphrase' "$RV_ERR" ||
		die "$what: exit 3 but the message does not mention the passphrase: $(cat "$RV_ERR")"
	grep -Eqi 'wrong|incorrect|invalid|does not (match|open|unlock)|cannot unlock|no key slot' "$RV_ERR" ||
		die "$what: exit 3 but the message does not say the passphrase is wrong: $(cat "$RV_ERR")"
	if grep -qF "$BAD" "$RV_ERR" "$RV_OUT" || grep -qF "$GOOD" "$RV_ERR" "$RV_OUT"; then
		die "$what: the passphrase itself appears in the output"
	fi
	pass "$what: exit 3, '$(head -n1 "$RV_ERR")'"
}

step "wrong REGVAULT_PASSWORD"
export REGVAULT_PASSWORD=$BAD
expect_key_error "backup with a wrong REGVAULT_PASSWORD" backup
expect_key_error "backup --json with a wrong REGVAULT_PASSWORD" backup --json
expect_key_error "restore with a wrong REGVAULT_PASSWORD" restore latest --to dst
rv_expect_eq "repositories in the restore destination" "$(rv_repos "$dst_URL" | wc -l)" 0

step "wrong key.passphrase_file, no REGVAULT_PASSWORD"
unset REGVAULT_PASSWORD
good_config=$RV_CONFIG
rv_config --passphrase "$BAD" "$RV_WORK/regvault-badfile.yml" src dst
expect_key_error "backup with a wrong passphrase_file" backup

step "no passphrase at all: a configuration error"
rv_config --no-passfile "$RV_WORK/regvault-nopass.yml" src dst
rv_run 2 backup
grep -qi 'passphrase\|REGVAULT_PASSWORD' "$RV_ERR" ||
	die "no passphrase: the message does not say what is missing: $(cat "$RV_ERR")"
pass "no passphrase: exit 2, '$(head -n1 "$RV_ERR")'"

step "nothing changed"
state >"$RV_WORK/state.after"
if ! diff -u "$RV_WORK/state.before" "$RV_WORK/state.after"; then
	die "the store or the catalog changed after runs with a wrong passphrase"
fi
pass "store and catalog byte-identical ($(wc -l <"$RV_WORK/state.after") files)"
RV_CONFIG=$good_config
export REGVAULT_PASSWORD=$GOOD
rv_run 0 snapshots --json
diff -u "$RV_WORK/snapshots.before" "$RV_OUT" || die "snapshots --json changed"
pass "snapshot list unchanged"

step "the right passphrase still works"
rv_run 0 restore "$snap" --to dst
"$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" || die "restore with the right passphrase differs"
pass "all wrong-passphrase assertions hold"
