#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_locks.sh - locks on the targets (store/lock.h):
# - another host's fresh exclusive lock, written by hand, makes backup (and
#   verify) exit 5 naming that host; with locks.wait_seconds: 3 backup waits
#   about 3 s first;
# - `unlock` keeps that fresh lock, `unlock --all` removes it, and backup
#   then succeeds;
# - a lock not refreshed for hours, or left by a dead process on this host,
#   is stale: backup goes on (warning with its name) and `unlock` removes it;
# - the local run lock makes backup exit 5, or wait with locks.wait_seconds;
# - a target that refuses the lock file: verify (read-only) warns and goes
#   on, backup fails;
# - while a backup of a ~300 MB image runs, store/locks holds its shared
#   lock (kept by `unlock`); when it ends, no lock file is left.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
LOCKS=$RV_WORK/store/locks

# write_lock ID KIND COMMAND HOST PID REFRESHED: a lock file as another run
# would put it on the target.
write_lock() {
	mkdir -p "$LOCKS"
	printf '{"command":"%s","created":%s,"host":"%s","kind":"%s","pid":%s,"refreshed":%s,"version":1}' \
		"$3" "$(($6 - 60))" "$4" "$2" "$5" "$6" >"$LOCKS/$1"
}

# lock_count: files under store/locks.
lock_count() {
	find "$LOCKS" -type f ! -name ".*" 2>/dev/null | wc -l
}

now() {
	date +%s
}

step "a source, a store, one backup that leaves no lock behind"
rv_start_registry src
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src
base_config=$(cat "$RV_CONFIG")
rv_run 0 init
rv_run 0 backup
rv_expect_eq "lock files after a backup" "$(lock_count)" 0

step "(a) another host's fresh exclusive lock: backup exits 5 naming the host"
write_lock 0123456789abcdef exclusive prune backup-host-7 4242 "$(now)"
rv_run 5 backup
grep -q "backup-host-7" "$RV_ERR" || die "the message does not name the host: $(cat "$RV_ERR")"
grep -q "prune" "$RV_ERR" || die "the message does not name the command: $(cat "$RV_ERR")"
grep -q "locks/0123456789abcdef" "$RV_ERR" || die "the message does not name the lock: $(cat "$RV_ERR")"
pass "backup refused: $(tail -n 1 "$RV_ERR")"
rv_expect_eq "lock files after the refused backup (ours removed again)" "$(lock_count)" 1
rv_run 5 verify
grep -q "backup-host-7" "$RV_ERR" || die "verify's message does not name the host: $(cat "$RV_ERR")"
pass "verify (shared lock) refused too"

step "(a) with locks.wait_seconds: 3, backup waits about 3 s, then exits 5"
printf '%s\nlocks:\n  wait_seconds: 3\n' "$base_config" >"$RV_CONFIG"
write_lock 0123456789abcdef exclusive prune backup-host-7 4242 "$(now)"
t0=$(date +%s.%N)
rv_run 5 backup
t1=$(date +%s.%N)
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
awk -v t="$took" 'BEGIN { exit !(t >= 2.9 && t < 15) }' ||
	die "backup gave up after ${took} s, expected about 3 s"
grep -q "backup-host-7" "$RV_ERR" || die "the message does not name the host: $(cat "$RV_ERR")"
grep -q "after waiting 3 s" "$RV_ERR" || die "the message does not say it waited: $(cat "$RV_ERR")"
pass "backup waited ${took} s, then exited 5"
printf '%s\n' "$base_config" >"$RV_CONFIG"

step "(b) unlock keeps a fresh lock; unlock --all removes it; backup then succeeds"
write_lock 0123456789abcdef exclusive prune backup-host-7 4242 "$(now)"
rv_run 0 unlock
grep -q "^kept locks/0123456789abcdef (prune on host backup-host-7, pid 4242, refreshed .* ago): in use" "$RV_OUT" ||
	die "unlock did not report the kept lock: $(cat "$RV_OUT")"
[[ -f $LOCKS/0123456789abcdef ]] || die "unlock removed a fresh lock"
pass "unlock kept the fresh lock"
rv_run 0 unlock --json
rv_expect_eq "unlock --json: removed" "$(jq '.removed | length' "$RV_OUT")" 0
rv_expect_eq "unlock --json: kept" "$(jq -r '.kept[0].name' "$RV_OUT")" locks/0123456789abcdef
rv_expect_eq "unlock --json: kept host" "$(jq -r '.kept[0].host' "$RV_OUT")" backup-host-7
rv_run 0 unlock --all
grep -q "^removed locks/0123456789abcdef (prune on host backup-host-7, pid 4242, refreshed .* ago)" "$RV_OUT" ||
	die "unlock --all did not report the removed lock: $(cat "$RV_OUT")"
[[ ! -e $LOCKS/0123456789abcdef ]] || die "unlock --all left the lock"
pass "unlock --all removed it"
rv_run 0 backup
rv_expect_eq "lock files after the backup" "$(lock_count)" 0

step "(c) a lock not refreshed for 2 h is stale: backup goes on, unlock removes it"
write_lock 00000000000000c1 exclusive prune backup-host-7 4242 "$(($(now) - 7200))"
rv_run 0 backup
grep -q "stale lock 'locks/00000000000000c1'" "$RV_ERR" ||
	die "backup did not warn about the stale lock: $(cat "$RV_ERR")"
pass "backup went on past the stale lock: $(grep -m1 'stale lock' "$RV_ERR")"
[[ -f $LOCKS/00000000000000c1 ]] || die "backup removed the stale lock (that is unlock's job)"
rv_run 0 unlock
grep -q "^removed locks/00000000000000c1 (prune on host backup-host-7, pid 4242, refreshed 120 min ago): stale" "$RV_OUT" ||
	die "unlock did not report the stale lock: $(cat "$RV_OUT")"
rv_expect_eq "lock files after unlock" "$(lock_count)" 0

step "(c) a lock of a dead process on this host is stale; a non-lock file is unreadable"
sh -c 'exit 0' &
dead=$!
wait "$dead"
write_lock 00000000000000c2 exclusive prune "$(hostname)" "$dead" "$(now)"
printf 'garbage' >"$LOCKS/00000000000000c3"
rv_run 0 backup
grep -q "stale lock 'locks/00000000000000c2'" "$RV_ERR" ||
	die "backup did not warn about the dead process's lock: $(cat "$RV_ERR")"
rv_run 0 unlock --json
rv_expect_eq "unlock removed (dead pid, unreadable)" \
	"$(jq -r '[.removed[] | .name + ":" + .reason] | join(",")' "$RV_OUT")" \
	"locks/00000000000000c2:stale,locks/00000000000000c3:unreadable"
rv_expect_eq "lock files after unlock" "$(lock_count)" 0

step "the local run lock: exit 5 at once, or wait for it with locks.wait_seconds"
flock "$RV_WORK/catalog.db.lock" sleep 2 &
holder=$!
sleep 0.3
rv_run 5 backup
grep -q "another regvault run holds the lock" "$RV_ERR" || die "unexpected message: $(cat "$RV_ERR")"
printf '%s\nlocks:\n  wait_seconds: 10\n' "$base_config" >"$RV_CONFIG"
rv_run 0 backup
wait "$holder"
printf '%s\n' "$base_config" >"$RV_CONFIG"
pass "backup waited for the local run lock"

step "a target that refuses the lock file: verify warns and goes on, backup fails"
rm -rf "$LOCKS"
: >"$LOCKS" # a file where the folder should be: no lock can be put
rv_run 0 verify
grep -q "goes on without one" "$RV_ERR" || die "verify did not warn: $(cat "$RV_ERR")"
pass "verify went on: $(grep -m1 'without one' "$RV_ERR")"
rv_run 1 backup
rm -f "$LOCKS"
rv_run 0 backup

step "(d) a long backup holds a shared lock while it runs and leaves none"
layout=$RV_WORK/big-layout
oci_init "$layout"
RV_LAYER_COMPRESS=none mk_image "$layout" big big linux amd64 "" big-a:314572800
push "$layout" big "$src_URL" heavy/app:1
rm -rf "$layout"
"$REGVAULT" --config "$RV_CONFIG" -q backup >"$RV_WORK/bg.out" 2>"$RV_WORK/bg.err" &
bg=$!
seen=
for ((i = 0; i < 600; i++)); do
	f=$(find "$LOCKS" -type f ! -name ".*" 2>/dev/null | head -n 1)
	if [[ -n $f ]]; then
		seen=$f
		break
	fi
	kill -0 "$bg" 2>/dev/null || break
	sleep 0.05
done
[[ -n $seen ]] || die "no lock file appeared while the backup ran"
note "while the backup runs: $(ls "$LOCKS")"
rv_expect_eq "running backup's lock kind" "$(jq -r .kind "$seen")" shared
rv_expect_eq "running backup's lock command" "$(jq -r .command "$seen")" backup
rv_expect_eq "running backup's lock pid" "$(jq -r .pid "$seen")" "$bg"
rv_expect_eq "running backup's lock host" "$(jq -r .host "$seen")" "$(hostname)"
if kill -0 "$bg" 2>/dev/null; then
	# prune on this host: the local run lock stops it at once
	rv_run 5 prune
	# prune from "another host" (its own catalog, so no shared local
	# lock): the backup's shared lock on the targets stops it
	sed "s|^catalog: .*|catalog: $RV_WORK/other-host/catalog.db|" "$RV_CONFIG" >"$RV_WORK/other.yml"
	rc=0
	"$REGVAULT" --config "$RV_WORK/other.yml" prune >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	if kill -0 "$bg" 2>/dev/null; then
		rv_expect_eq "prune from another host while the backup runs" "$rc" 5
		grep -q "backup" "$RV_ERR" || die "the prune's message does not name the backup: $(cat "$RV_ERR")"
	else
		note "the backup finished before the other host's prune could be tried (exit $rc)"
	fi
	rv_run 0 unlock
	grep -q "^kept locks/" "$RV_OUT" || die "unlock did not keep the running backup's lock: $(cat "$RV_OUT")"
	[[ -f $seen ]] || die "unlock removed a running backup's lock"
	pass "unlock kept the running backup's lock"
else
	note "the backup finished before unlock could be tried"
fi
rc=0
wait "$bg" || rc=$?
[[ $rc == 0 ]] || {
	cat "$RV_WORK/bg.err" >&2
	die "the background backup exited $rc"
}
rv_expect_eq "lock files after the long backup" "$(lock_count)" 0
pass "store locks work"
