#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_usage_errors.sh - usage and configuration mistakes exit with code 2 and a
# message that names what is wrong; an unknown snapshot exits 1 or 2 naming it.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
rv_need_binary

# run_rv WANT_RCS WHAT ARGS...: run the binary itself (no implied --config);
# WANT_RCS is a space-separated list of accepted exit codes.
run_rv() {
	local want=$1 what=$2 rc=0
	shift 2
	"$REGVAULT" "$@" >"$RV_OUT" 2>"$RV_ERR" </dev/null || rc=$?
	if [[ " $want " != *" $rc "* ]]; then
		echo "---- stdout" >&2
		cat "$RV_OUT" >&2
		echo "---- stderr" >&2
		cat "$RV_ERR" >&2
		die "$what: regvault $* exited $rc, expected one of: $want"
	fi
	[[ -s $RV_ERR ]] || die "$what: exit $rc but nothing on stderr"
}

# expect_msg WHAT PATTERN: stderr matches PATTERN (grep -Ei).
expect_msg() {
	grep -Eqi -- "$2" "$RV_ERR" ||
		die "$1: the message does not match /$2/: $(cat "$RV_ERR")"
	pass "$1: '$(head -n1 "$RV_ERR")'"
}

# A valid config to start from (a registry URL nothing listens on is fine:
# these runs must fail before any connection).
port=$(rv_free_port)
src_URL=http://127.0.0.1:$port # read by rv_config
export src_URL
rv_config "$RV_WORK/good.yml" src
good=$RV_WORK/good.yml

step "unknown command"
run_rv 2 "unknown command" --config "$good" frobnicate
expect_msg "unknown command" "frobnicate"

step "unknown option"
run_rv 2 "unknown option" --config "$good" backup --no-such-flag
expect_msg "unknown option" "no-such-flag"

step "no command"
run_rv 2 "no command" --config "$good"
expect_msg "no command" "usage|command"

step "restore without --to"
run_rv 2 "restore without --to" --config "$good" restore latest
expect_msg "restore without --to" "--to|destination|usage"

step "missing config file"
missing=$RV_WORK/does-not-exist.yml
run_rv 2 "missing config" --config "$missing" snapshots
expect_msg "missing config" "does-not-exist\.yml"
REGVAULT_CONFIG=$missing run_rv 2 "missing config from REGVAULT_CONFIG" snapshots
expect_msg "missing config from REGVAULT_CONFIG" "does-not-exist\.yml"

step "bad YAML"
bad=$RV_WORK/bad.yml
printf 'catalog: %s\nregistries:\n  - name: src\n    url: [unclosed\n' "$RV_WORK/c.db" >"$bad"
run_rv 2 "bad YAML" --config "$bad" snapshots
expect_msg "bad YAML" "bad\.yml"

step "unknown key in the config"
unk=$RV_WORK/unknown-key.yml
sed 's/^catalog:/catalogue_typo: x\ncatalog:/' "$good" >"$unk"
grep -q catalogue_typo "$unk" || die "fixture: key not inserted"
run_rv 2 "unknown top-level key" --config "$unk" snapshots
expect_msg "unknown top-level key" "catalogue_typo"
unk2=$RV_WORK/unknown-nested.yml
sed 's/^    url: /    urll: /' "$good" >"$unk2"
run_rv 2 "unknown registry key" --config "$unk2" snapshots
expect_msg "unknown registry key" "urll"

step "a key given twice in one mapping (found by fuzz_config: the first value was lost)"
dup=$RV_WORK/dup-key.yml
{ cat "$good"; printf 'catalog: %s\n' "$RV_WORK/other.db"; } >"$dup"
run_rv 2 "duplicate top-level key" --config "$dup" snapshots
expect_msg "duplicate top-level key" "catalog.*twice"

step "restore of an unknown snapshot"
rv_config "$RV_WORK/real.yml" src
rv_run 0 init
unknown=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
run_rv "1 2" "unknown snapshot id" --config "$RV_CONFIG" restore "$unknown" --to src --dry-run
expect_msg "unknown snapshot id" "0123456789abcdef"
run_rv "1 2" "unknown snapshot prefix" --config "$RV_CONFIG" restore deadbeef --to src --dry-run
expect_msg "unknown snapshot prefix" "deadbeef"
run_rv "1 2" "latest with no snapshot" --config "$RV_CONFIG" restore latest --to src --dry-run
expect_msg "latest with no snapshot" "latest|no snapshot"

pass "all usage-error assertions hold"
