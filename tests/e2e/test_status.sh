#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_status.sh - `regvault status` (issue 9), on a real registry and two
# dir targets:
# - a fresh store with an hourly backup schedule: nothing needs attention,
#   exit 0; the JSON has its documented shape and the figures the catalog
#   holds (newest snapshot, packs per target, ratios);
# - a stale schedule (a weekly verify that never succeeded), a damaged
#   target (a flipped byte that verify found) and a fresh snapshot: status
#   says exactly those three things (two attention items, exit 1, and the
#   snapshot's age in seconds), in text and in JSON;
# - a schedule whose last job failed, and one killed mid-job, are named;
# - a source without any snapshot is named;
# - after repair and a clean verify (by hand: it counts for the verify
#   schedule, as a backup by hand does for a backup one) nothing is left;
# - no catalog yet: a clear error, exit 1.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to inspect the catalog"
CAT=$RV_WORK/catalog.db
T2=$RV_WORK/store2

# status_rc RC: run status --json, check the exit code and the JSON's "ok"
status_rc() {
	rv_run "$1" status --json
	jq -e --argjson ok "$([[ $1 == 0 ]] && echo true || echo false)" '.ok == $ok' "$RV_OUT" >/dev/null ||
		die "status: .ok is $(jq .ok "$RV_OUT") with exit $1"
}

# attention: the attention items as "kind subject" lines, sorted
attention() {
	jq -r '.attention[] | "\(.kind) \(.subject)"' "$RV_OUT" | sort
}

step "no catalog yet"
rv_start_registry src
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src
cat >>"$RV_CONFIG" <<EOF
  - name: second
    type: dir
    path: $T2
schedules:
  - name: hourly
    cron: "0 * * * *"
    job: backup
    source: src
EOF
mkdir -p "$T2"
rv_run 1 status
grep -q "no catalog at '$CAT' yet: run 'regvault init'" "$RV_ERR" || die "no catalog: $(cat "$RV_ERR")"
pass "status without a catalog says to init and back up (exit 1)"

step "a fresh store with an hourly backup schedule: nothing needs attention"
rv_run 0 init
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
status_rc 0
rv_expect_eq "attention" "$(attention)" ""
jq -e 'has("time") and has("ok") and (.attention | type == "array")
	and (.sources | type == "array") and (.schedules | type == "array")
	and (.targets | type == "array") and (.store | type == "object")
	and has("last_verify") and has("last_drill")
	and (.sources[0] | keys == ["age_seconds", "snapshot", "source", "tags", "time"])
	and (.schedules[0] | keys == ["cron", "job", "last_exit_code", "last_outcome", "last_run",
		"last_success", "name", "next_run", "stale"])
	and (.targets[0] | keys == ["bytes", "damaged", "last_verify", "missing_packs", "packs",
		"target", "unchecked"])
	and (.store | keys == ["compression_ratio", "dedup_ratio", "logical_bytes", "packed_bytes",
		"packs", "snapshots", "unique_bytes"])' "$RV_OUT" >/dev/null ||
	die "status --json shape: $(jq -c . "$RV_OUT")"
pass "the JSON has its documented shape"
rv_expect_eq "newest snapshot of src" "$(jq -r '.sources[0].snapshot' "$RV_OUT")" "$snap"
rv_expect_eq "tags" "$(jq -r '.sources[0].tags' "$RV_OUT")" "$(rv_tag_count "$src_URL")"
packs=$(sqlite3 "$CAT" 'SELECT count(*) FROM packs')
packed=$(sqlite3 "$CAT" 'SELECT sum(size) FROM packs')
unique=$(sqlite3 "$CAT" 'SELECT sum(size) FROM blobs')
rv_expect_eq "packs on each target" "$(jq -r '[.targets[].packs] | join(" ")' "$RV_OUT")" "$packs $packs"
rv_expect_eq "store: packs, packed, unique bytes" \
	"$(jq -r '.store | "\(.packs) \(.packed_bytes) \(.unique_bytes)"' "$RV_OUT")" "$packs $packed $unique"
jq -e '.store.logical_bytes >= .store.unique_bytes and .store.dedup_ratio >= 1
	and .store.compression_ratio > 0' "$RV_OUT" >/dev/null || die "store ratios: $(jq -c .store "$RV_OUT")"
rv_expect_eq "the hourly schedule (never run by a scheduler, but the snapshot is fresh)" \
	"$(jq -r '.schedules[0] | "\(.last_outcome) \(.stale)"' "$RV_OUT")" "never run false"
rv_run 0 status
grep -q "nothing needs attention" "$RV_OUT" || die "text: $(cat "$RV_OUT")"
grep -q "newest snapshot ${snap:0:12}" "$RV_OUT" || die "text lacks the snapshot: $(cat "$RV_OUT")"

step "a stale schedule, a damaged target and a fresh snapshot"
cat >>"$RV_CONFIG" <<EOF
  - name: weekly-verify
    cron: "0 3 * * 1"
    job: verify
EOF
pack=$(sqlite3 "$CAT" 'SELECT pack_id FROM packs ORDER BY size DESC LIMIT 1')
f=$T2/packs/${pack:0:2}/$pack
rv_flip_byte "$f" $(($(stat -c %s "$f") / 2))
rv_run 4 verify --level hash --json
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
status_rc 1
rv_expect_eq "attention: exactly the stale schedule and the damaged target" "$(attention)" \
	"$(printf '%s\n' "schedule_stale weekly-verify" "target_damaged second")"
age=$(jq -r '.sources[0].age_seconds' "$RV_OUT")
((age >= 0 && age < 300)) || die "the fresh snapshot is $age s old"
rv_expect_eq "the fresh snapshot" "$(jq -r '.sources[0].snapshot' "$RV_OUT")" "$snap"
rv_expect_eq "target second: damaged copies" "$(jq -r '.targets[] | select(.target == "second") | .damaged' "$RV_OUT")" 1
rv_expect_eq "target local: damaged copies" "$(jq -r '.targets[] | select(.target == "local") | .damaged' "$RV_OUT")" 0
rv_expect_eq "last verify outcome" "$(jq -r '.last_verify.outcome' "$RV_OUT")" repairable
rv_run 1 status
grep -q "needs attention (2)" "$RV_OUT" || die "text: $(cat "$RV_OUT")"
grep -q "schedule 'weekly-verify' (verify, '0 3 \* \* 1') is stale: it has never succeeded" "$RV_OUT" ||
	die "text lacks the stale schedule: $(cat "$RV_OUT")"
grep -q "target 'second': the last verify that covered it (.*) found 1 damaged copy; run 'regvault repair'" "$RV_OUT" ||
	die "text lacks the damaged target: $(cat "$RV_OUT")"
grep -q "src .*newest snapshot ${snap:0:12} .*([0-9]* s ago)" "$RV_OUT" || die "text lacks the fresh snapshot: $(cat "$RV_OUT")"
pass "status says exactly: weekly-verify is stale, target second is damaged, src's snapshot is fresh"

step "a failing schedule and an interrupted one are named"
now=$(date +%s)
sqlite3 "$CAT" "INSERT INTO schedule_state (name, timing, last_slot, last_started, last_finished, last_exit)
	VALUES ('hourly', '0 * * * *|UTC', $now - 60, $now - 60, $now - 30, 1)" ||
	die "cannot set up the schedule state: $(sqlite3 "$CAT" '.schema schedule_state')"
status_rc 1
attention | grep -qx "schedule_failing hourly" || die "failing schedule not named: $(attention)"
jq -e '.schedules[] | select(.name == "hourly") | .last_outcome == "failed" and .last_exit_code == 1' "$RV_OUT" >/dev/null ||
	die "hourly: $(jq -c '.schedules' "$RV_OUT")"
sqlite3 "$CAT" "UPDATE schedule_state SET last_finished = NULL WHERE name = 'hourly'"
status_rc 1
attention | grep -qx "schedule_interrupted hourly" || die "interrupted schedule not named: $(attention)"
sqlite3 "$CAT" "DELETE FROM schedule_state WHERE name = 'hourly'"
pass "a failed last job and a job that never finished are each named"

step "a source without a snapshot"
rv_start_registry other
sed -i "s|^sources:|sources:\n  - registry: other|; s|^registries:|registries:\n  - name: other\n    url: $other_URL|" "$RV_CONFIG"
status_rc 1
attention | grep -qx "source_no_snapshot other" || die "the source without a snapshot is not named: $(attention)"
sed -i '/name: other/,+1d; /registry: other/d' "$RV_CONFIG"
pass "a source without a snapshot is named"

step "after repair and a clean verify, nothing needs attention"
rv_run 0 repair
rv_run 0 verify --level hash
status_rc 0
rv_expect_eq "attention" "$(attention)" ""
jq -e '.schedules[] | select(.name == "weekly-verify") | .stale == false and .last_success != null' "$RV_OUT" >/dev/null ||
	die "weekly-verify after a clean verify: $(jq -c '.schedules' "$RV_OUT")"
pass "a clean verify (run by hand) keeps the verify schedule fresh; the repaired target is clean"
