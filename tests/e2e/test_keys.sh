#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, ... are set by rv_start_registry
# test_keys.sh - key slots: `key add` then `key remove` of the original slot;
# the new passphrase opens the store, the old one exits 3, no pack was
# rewritten; the last slot cannot be removed; a key file works as a slot.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config --no-passfile "$RV_WORK/regvault.yml" src dst
export REGVAULT_PASSWORD=old-passphrase
rv_run 0 init
rv_run 0 backup
packs_before=$(cd "$RV_WORK/store" && find packs snapshots seals -type f -exec sha256sum {} + | sort)
rv_run 0 key list --json
orig=$(jq -r '.[] | select(.current) | .id' "$RV_OUT")
[[ $orig =~ ^[0-9a-f]{16}$ ]] || die "key list did not name the current slot: $(cat "$RV_OUT")"

step "key add, then key remove of the original slot"
REGVAULT_NEW_PASSWORD=new-passphrase rv_run 0 key add --json
added=$(rv_json_field added)
rv_run 0 key list --json
rv_expect_eq "key slots after add" "$(jq length "$RV_OUT")" 2
export REGVAULT_PASSWORD=new-passphrase
rv_run 0 key list --json
rv_expect_eq "slot opened by the new passphrase" "$(jq -r '.[] | select(.current) | .id' "$RV_OUT")" "$added"
rv_run 0 key remove "$orig"
rv_run 0 key list --json
rv_expect_eq "key slots after remove" "$(jq -c 'map(.id)' "$RV_OUT")" "[\"$added\"]"

step "the old passphrase no longer opens the store; the new one does"
REGVAULT_PASSWORD=old-passphrase rv_run 3 backup
grep -qi "passphrase" "$RV_ERR" || die "exit 3 without a message about the passphrase"
rv_run 0 backup --json
rv_expect_eq "packs written by the backup after the key change" "$(rv_json_field packs_written)" 0
packs_after=$(cd "$RV_WORK/store" && find packs -type f -exec sha256sum {} + | sort)
[[ $(grep -c . <<<"$packs_after") -gt 0 ]] || die "no packs?"
while read -r line; do
	grep -qxF "$line" <<<"$packs_before" || die "a pack changed or appeared: $line"
done <<<"$packs_after"
pass "no pack was rewritten by adding and removing key slots"

step "the last slot cannot be removed"
rv_run 2 key remove "$added"
grep -q "last key slot" "$RV_ERR" || die "no clear message: $(cat "$RV_ERR")"

step "a key file as a slot"
head -c 64 /dev/urandom | base64 -w0 >"$RV_WORK/keyfile"
rv_run 0 key add --passphrase-file "$RV_WORK/keyfile"
REGVAULT_PASSWORD=$(cat "$RV_WORK/keyfile") rv_run 0 restore latest --to dst
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" >/dev/null
pass "the key file opens the store and the restore is digest-equal"
