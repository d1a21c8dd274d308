#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_schedule.sh - schedules that run themselves, against a real registry.
#
# A daily backup at 02:00 UTC and a verify at 05:00 UTC on Sundays; the
# simulated clock (REGVAULT_TEST_NOW, for tests only) walks a week in
# 30-minute steps calling `schedule run-due`: nothing runs at install time,
# each backup runs once at its slot, the verify once on Sunday, a second
# call at the same instant runs nothing; a 3-day gap catches up with ONE
# backup; `schedule list` shows the next runs, `schedule history` the runs.
# Config errors (forget jobs, bad retentions, keys of another job) are
# refused at load.
# Then `regvault daemon`: runs a due job at start, logs a SIGHUP reload (and
# keeps its config when the new one is invalid), and exits 0 on SIGTERM.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

# run_due EPOCH: `schedule run-due --json` at simulated time EPOCH; the jobs
# that ran are in $RV_OUT, one "schedule slot exit_code" line each in $RAN.
run_due() {
	REGVAULT_TEST_NOW=$1 rv_run 0 schedule run-due --json
	RAN=$(jq -r '.[] | "\(.schedule) \(.slot) \(.exit_code)"' "$RV_OUT")
}

snapshot_count() {
	rv_run 0 snapshots --json
	jq length "$RV_OUT"
}

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

step "a registry with the sample set, a config with two schedules"
rv_start_registry src
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src
cat >>"$RV_CONFIG" <<EOF
schedules:
  - name: nightly
    cron: "0 2 * * *"
    job: backup
    source: src
  - name: sunday-verify
    cron: "0 5 * * SUN"
    timezone: UTC
    job: verify
    level: hash
EOF
rv_run 0 init

# Monday 2026-03-02 00:00 UTC
MON=$(date -u -d '2026-03-02 00:00' +%s)
DAY=86400

step "install time: nothing runs, the slots in the past count as done"
run_due "$MON"
rv_expect_eq "jobs run at first sight" "$RAN" ""
rv_expect_eq "snapshots at first sight" "$(snapshot_count)" 0
REGVAULT_TEST_NOW=$MON rv_run 0 schedule list --json
rv_expect_eq "nightly next run" "$(jq -r '.[0].next_run' "$RV_OUT")" "2026-03-02T02:00:00Z"
rv_expect_eq "nightly last outcome" "$(jq -r '.[0].last_outcome' "$RV_OUT")" "never run"

step "a simulated week in 30-minute steps"
t0=$SECONDS
declare -A want=()
for ((d = 0; d < 7; d++)); do
	want[$((MON + d * DAY + 2 * 3600))]="nightly $(iso $((MON + d * DAY + 2 * 3600))) 0"
done
SUN5=$((MON + 6 * DAY + 5 * 3600))
want[$SUN5]="sunday-verify $(iso "$SUN5") 0"
runs=0
for ((t = MON + 1800; t <= MON + 7 * DAY; t += 1800)); do
	run_due "$t"
	if [[ -n ${want[$t]:-} ]]; then
		[[ $RAN == "${want[$t]}" ]] ||
			die "run-due at $(iso "$t") ran [$RAN], expected [${want[$t]}]"
		runs=$((runs + 1))
		# the same instant again: nothing, never twice for one slot
		run_due "$t"
		[[ -z $RAN ]] || die "second run-due at $(iso "$t") ran [$RAN]"
	else
		[[ -z $RAN ]] || die "run-due at $(iso "$t") ran [$RAN], expected nothing"
	fi
done
rv_expect_eq "jobs over the week" "$runs" 8
rv_expect_eq "snapshots after a week of nightly backups" "$(snapshot_count)" 7
note "the week took $((SECONDS - t0)) s"

step "schedule history"
rv_run 0 schedule history --json --limit 0
rv_expect_eq "history rows" "$(jq length "$RV_OUT")" 8
rv_expect_eq "history nightly rows" "$(jq '[.[] | select(.schedule == "nightly")] | length' "$RV_OUT")" 7
rv_expect_eq "history verify rows" "$(jq '[.[] | select(.schedule == "sunday-verify")] | length' "$RV_OUT")" 1
rv_expect_eq "newest row" "$(jq -r '.[0] | "\(.schedule) \(.slot) \(.outcome) \(.exit_code)"' "$RV_OUT")" \
	"sunday-verify 2026-03-08T05:00:00Z ok 0"
rv_expect_eq "verify job's figures kept" "$(jq -r '.[0].result.outcome' "$RV_OUT")" "ok"
rv_expect_eq "backup job's figures kept" "$(jq -r '.[1].result.tags' "$RV_OUT")" "$MK_SAMPLE_TAGS"
rv_expect_eq "backup slots are 02:00 UTC" \
	"$(jq -r '[.[] | select(.schedule == "nightly") | .slot[11:]] | unique | join(",")' "$RV_OUT")" "02:00:00Z"
rv_expect_eq "backup start times (simulated)" \
	"$(jq -r '[.[] | select(.schedule == "nightly") | .started == .slot] | all' "$RV_OUT")" true
snap_ids=$(jq -r '[.[] | select(.schedule == "nightly") | .result.snapshot] | unique | length' "$RV_OUT")
rv_expect_eq "distinct snapshots in the history" "$snap_ids" 7
rv_run 0 schedule history --limit 3
rv_expect_eq "history --limit 3 text rows" "$(($(wc -l <"$RV_OUT") - 1))" 3
grep -q 'sunday-verify .* verify .*2026-03-08T05:00:00Z  ok' "$RV_OUT" ||
	die "history text lacks the verify row: $(cat "$RV_OUT")"
pass "history lists every job with its slot, outcome and figures"

step "a 3-day gap catches up with one backup"
NEXT_MON=$((MON + 7 * DAY))
THU=$((NEXT_MON + 3 * DAY + 12 * 3600)) # Thursday 12:00: Tue, Wed, Thu missed
run_due "$THU"
rv_expect_eq "jobs after the gap" "$RAN" "nightly $(iso $((NEXT_MON + 3 * DAY + 2 * 3600))) 0"
run_due "$THU"
rv_expect_eq "jobs at the same instant again" "$RAN" ""
run_due $((THU + 6 * 3600))
rv_expect_eq "jobs later that day" "$RAN" ""
rv_expect_eq "snapshots after the gap" "$(snapshot_count)" 8

step "schedule list shows the last and next runs"
REGVAULT_TEST_NOW=$THU rv_run 0 schedule list --json
rv_expect_eq "nightly last run" "$(jq -r '.[0].last_run' "$RV_OUT")" "$(iso "$THU")"
rv_expect_eq "nightly last outcome" "$(jq -r '.[0].last_outcome' "$RV_OUT")" ok
rv_expect_eq "nightly next run" "$(jq -r '.[0].next_run' "$RV_OUT")" "$(iso $((NEXT_MON + 4 * DAY + 2 * 3600)))"
rv_expect_eq "verify next run" "$(jq -r '.[1].next_run' "$RV_OUT")" "2026-03-15T05:00:00Z"
rv_expect_eq "verify last run" "$(jq -r '.[1].last_run' "$RV_OUT")" "2026-03-08T05:00:00Z"
rv_expect_eq "nothing due" "$(jq -r '[.[].due] | any' "$RV_OUT")" false
REGVAULT_TEST_NOW=$((THU + DAY)) rv_run 0 schedule list
grep -q '^nightly .*backup .*0 2 \* \* \* .*UTC .*ok .*slot .* is due now' "$RV_OUT" ||
	die "schedule list does not show the due slot: $(cat "$RV_OUT")"
pass "schedule list shows the due slot"

step "a failing job: exit code of the first failure, recorded in the history"
rv_stop_registry src
rc=0
REGVAULT_TEST_NOW=$((THU + DAY)) rv schedule run-due >"$RV_OUT" 2>"$RV_ERR" || rc=$?
[[ $rc == 1 ]] || { cat "$RV_OUT" "$RV_ERR" >&2; die "run-due with the registry down exited $rc, expected 1"; }
grep -q "schedule 'nightly': backup for slot .*: FAILED (exit 1)" "$RV_OUT" ||
	die "no FAILED line: $(cat "$RV_OUT")"
rv_run 0 schedule history --json --limit 1
rv_expect_eq "failed job in the history" "$(jq -r '.[0] | "\(.schedule) \(.outcome) \(.exit_code)"' "$RV_OUT")" "nightly failed 1"
REGVAULT_TEST_NOW=$((THU + DAY + 60)) rv_run 0 schedule run-due
rv_expect_eq "the failed slot is not retried" "$(cat "$RV_OUT")" ""
rv_start_registry src
sed -i "s|url: http://127.0.0.1:[0-9]*|url: $src_URL|" "$RV_CONFIG"

step "config errors are refused at load"
bad=$RV_WORK/bad.yml
for spec in "job: forget|there is no 'forget' job" \
	"job: backup\n    level: deep|'level' belongs to verify jobs, not 'backup'" \
	"job: verify\n    retention: { keep_daily: 7 }|'retention' belongs to backup jobs" \
	"job: backup\n    retention: { keep_daily: 0 }|'retention' keeps nothing" \
	"job: backup\n    retention: { keep_dayly: 7 }|keep_dayly" \
	"job: backup\n    retention: { keep_within: 3w }|keep_within" \
	"job: prune\n    repack_threshold: 0|percentage from 1 to 100" \
	"job: backup\n    repack_threshold: 40|'repack_threshold' belongs to prune jobs" \
	"job: drill|a drill needs 'to'" \
	"job: verify\n    sample: 300|percentage from 1 to 100" \
	"job: backup\n    timezone: Mars/Base|unknown time zone 'Mars/Base'"; do
	body=${spec%%|*}
	msg=${spec#*|}
	{
		sed '/^schedules:/,$d' "$RV_CONFIG"
		printf 'schedules:\n  - name: x\n    cron: "0 2 * * *"\n    %b\n' "$body"
	} >"$bad"
	rc=0
	"$REGVAULT" --config "$bad" schedule list >/dev/null 2>"$RV_ERR" || rc=$?
	[[ $rc == 2 ]] || die "config with [$body] exited $rc, expected 2"
	grep -qF "$msg" "$RV_ERR" || die "config with [$body]: message lacks '$msg': $(cat "$RV_ERR")"
done
{
	sed '/^schedules:/,$d' "$RV_CONFIG"
	printf 'schedules:\n  - name: x\n    cron: "0 2 * * *"\n    job: backup\n  - name: x\n    cron: "@daily"\n    job: backup\n'
} >"$bad"
rc=0
"$REGVAULT" --config "$bad" schedule run-due 2>"$RV_ERR" || rc=$?
if [[ $rc != 2 ]] || ! grep -q "schedule name 'x' is used twice" "$RV_ERR"; then
	die "duplicate names: exit $rc: $(cat "$RV_ERR")"
fi
pass "forget jobs, bad retentions, misplaced keys, bad zones and duplicate names are refused"

step "daemon: runs what is due at start, reloads on SIGHUP, exits 0 on SIGTERM"
dcfg=$RV_WORK/daemon.yml
{
	sed '/^schedules:/,$d' "$RV_CONFIG"
	printf 'schedules:\n  - name: minutely\n    cron: "* * * * *"\n    job: backup\n'
} >"$dcfg"
D0=$((NEXT_MON + 10 * DAY))
REGVAULT_TEST_NOW=$D0 "$REGVAULT" --config "$dcfg" schedule run-due >/dev/null # first sight
before=$(snapshot_count)
dlog=$RV_WORK/daemon.log
: >"$dlog"
REGVAULT_TEST_NOW=$((D0 + 120)) "$REGVAULT" --config "$dcfg" daemon >"$dlog" 2>&1 &
dpid=$!
echo "$dpid" >>"$RV_PIDS_FILE"
for ((i = 0; i < 200; i++)); do
	grep -q "schedule 'minutely': backup for slot .*: ok" "$dlog" && break
	kill -0 "$dpid" 2>/dev/null || { cat "$dlog" >&2; die "the daemon exited"; }
	sleep 0.1
done
grep -q "schedule 'minutely': backup for slot $(iso $((D0 + 120))): ok" "$dlog" ||
	{ cat "$dlog" >&2; die "the daemon did not run the due backup within 20 s"; }
rv_expect_eq "snapshots after the daemon's job" "$(snapshot_count)" $((before + 1))
# SIGHUP with a new schedule: logged, the daemon keeps running
printf '  - name: sunday\n    cron: "0 5 * * SUN"\n    job: verify\n' >>"$dcfg"
kill -HUP "$dpid"
for ((i = 0; i < 50; i++)); do
	grep -q "reloaded: 2 schedule(s)" "$dlog" && break
	sleep 0.1
done
grep -q "reloaded: 2 schedule(s)" "$dlog" || { cat "$dlog" >&2; die "SIGHUP reload not logged"; }
pass "SIGHUP reloaded the config"
# an invalid config on SIGHUP: logged, the old one kept
cp "$dcfg" "$dcfg.good"
printf '  - name: bad\n    cron: "0 25 * * *"\n    job: backup\n' >>"$dcfg"
kill -HUP "$dpid"
for ((i = 0; i < 50; i++)); do
	grep -q "cannot reload the config" "$dlog" && break
	sleep 0.1
done
grep -q "cannot reload the config: .*hour field '25'.*keeping the previous one (2 schedule(s))" "$dlog" ||
	{ cat "$dlog" >&2; die "invalid config on SIGHUP not logged"; }
kill -0 "$dpid" 2>/dev/null || die "the daemon died on an invalid config"
pass "an invalid config on SIGHUP is logged and the previous one kept"
cp "$dcfg.good" "$dcfg"
kill -TERM "$dpid"
rc=0
for ((i = 0; i < 50; i++)); do
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$dpid" 2>/dev/null && { cat "$dlog" >&2; die "the daemon did not exit within 5 s of SIGTERM"; }
wait "$dpid" || rc=$?
rv_expect_eq "daemon exit code on SIGTERM" "$rc" 0
grep -q "stopping on a signal" "$dlog" || { cat "$dlog" >&2; die "no stop line in the daemon log"; }
rv_expect_eq "the daemon ran the backup once" "$(snapshot_count)" $((before + 1))
note "daemon log:"
sed 's/^/#      /' "$dlog"

step "daemon: SIGTERM lets the running job finish; a second SIGTERM abandons it"
# The passphrase file is a FIFO: the job blocks reading it until we write.
fifo=$RV_WORK/passphrase.fifo
mkfifo "$fifo"
slow=$RV_WORK/slow.yml
sed "s|passphrase_file: .*|passphrase_file: $fifo|" "$dcfg" >"$slow"
: >"$dlog"
REGVAULT_TEST_NOW=$((D0 + 240)) "$REGVAULT" --config "$slow" daemon >"$dlog" 2>&1 &
dpid=$!
echo "$dpid" >>"$RV_PIDS_FILE"
for ((i = 0; i < 100; i++)); do
	grep -q "backup for slot .* starts" "$dlog" && break
	sleep 0.1
done
grep -q "backup for slot .* starts" "$dlog" || { cat "$dlog" >&2; die "the daemon did not start the job"; }
kill -TERM "$dpid"
sleep 1
kill -0 "$dpid" 2>/dev/null || { cat "$dlog" >&2; die "the daemon exited on SIGTERM while its job was running"; }
cat "$RV_WORK/passphrase" >"$fifo" # the job goes on and finishes
rc=0
wait "$dpid" || rc=$?
rv_expect_eq "exit code after the job finished" "$rc" 0
grep -q "schedule 'minutely': backup for slot $(iso $((D0 + 240))): ok" "$dlog" ||
	{ cat "$dlog" >&2; die "the job did not finish after SIGTERM"; }
rv_expect_eq "snapshots after the finished job" "$(snapshot_count)" $((before + 2))
: >"$dlog"
REGVAULT_TEST_NOW=$((D0 + 360)) "$REGVAULT" --config "$slow" daemon >"$dlog" 2>&1 &
dpid=$!
echo "$dpid" >>"$RV_PIDS_FILE"
for ((i = 0; i < 100; i++)); do
	grep -q "backup for slot .* starts" "$dlog" && break
	sleep 0.1
done
kill -TERM "$dpid"
sleep 0.5
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
rv_expect_eq "exit code of an abandoned job (killed by SIGTERM)" "$rc" 143
grep -q "second signal: abandoning the current job" "$dlog" || { cat "$dlog" >&2; die "no abandon line"; }
REGVAULT_TEST_NOW=$((D0 + 420)) "$REGVAULT" --config "$dcfg" schedule run-due >"$RV_OUT" 2>"$RV_ERR"
grep -q "schedule 'minutely': the backup job started at $(iso $((D0 + 360))) never finished" "$RV_ERR" ||
	{ cat "$RV_ERR" >&2; die "the abandoned job was not recorded as interrupted"; }
rv_run 0 schedule history --json --limit 2
rv_expect_eq "history after the abandoned job" \
	"$(jq -r '[.[] | "\(.slot[11:16]) \(.outcome)"] | join(", ")' "$RV_OUT")" "00:07 ok, 00:06 interrupted"

pass "schedules run themselves: once per slot, catch-up once, daemon signals"
