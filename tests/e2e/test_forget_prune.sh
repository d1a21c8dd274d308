#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_forget_prune.sh - six nightly backups over simulated days, each with a
# new 4 MiB image under app/daily:latest; forget keeps the last two; prune
# deletes the packs only forgotten snapshots needed and repacks the first
# pack (mostly the forgotten day-1 layer) on every target (a dir and an S3
# bucket); the space comes back on both, verify stays clean (the chain of
# seals holds: tombstones and re-signed seals), a catalog rebuilt from the
# S3 target agrees, and both kept snapshots restore digest-equal. A prune
# started while another host's backup holds the lock exits 5 (or waits).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/s3lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh
DAY=86400
T0=1795000000 # 2026-11-18T07:06:40Z

step "start a registry and an S3 server, fill the source"
rv_start_registry src
rv_start_registry dst5
rv_start_registry dst6
rv_start_rgw
bucket=rvprune
rv_s3_bucket "$bucket"
populate "$src_URL"
layout=$(_mk_layout_dir)
# one connection: the blobs go into packs in walk order, so the pack
# layout, and with it prune's figures, are the same on every run
rv_config --max-connections 1 "$RV_WORK/regvault.yml" src dst5 dst6
rv_s3_target_yaml offsite "$bucket" "prefix: vault/" >>"$RV_CONFIG"
rv_run 0 init

# daily K: push a new image with its own 4 MiB layer as app/daily:latest
daily() {
	mk_image "$layout" "day$1" "day$1" linux amd64 "" "day$1:4194304"
	push "$layout" "day$1" "$src_URL" app/daily:latest
}

# space SUBDIR: bytes under the dir target's SUBDIR and the S3 prefix's
dir_bytes() { find "$RV_WORK/store/packs" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
s3_bytes() {
	rv_s3 GET "/$bucket?list-type=2&prefix=vault%2Fpacks%2F" |
		grep -o '<Size>[0-9]*</Size>' | tr -dc '0-9\n' | awk '{s += $1} END {print s + 0}'
}
s3_has() { rv_s3 HEAD "/$bucket/vault/$1" -I -o /dev/null 2>/dev/null; }

declare -a snaps=() digests=()
for k in 1 2 3 4 5 6; do
	step "day $k: new image, backup"
	daily "$k"
	digests[k]=$(rv_manifest_digest "$src_URL" app/daily latest)
	REGVAULT_TEST_NOW=$((T0 + (k - 1) * DAY)) rv_run 0 backup --json
	snaps[k]=$(rv_json_field snapshot)
done
rv_run 0 snapshots --json
rv_expect_eq "snapshots after six days" "$(jq length "$RV_OUT")" 6
packs_before=$(find "$RV_WORK/store/packs" -type f | wc -l)
dir_before=$(dir_bytes)
s3_before=$(s3_bytes)
note "before: $packs_before packs, dir $dir_before bytes, s3 $s3_before bytes"

step "forget --dry-run: says what it would keep and why, changes nothing"
now=$((T0 + 5 * DAY + 3600))
REGVAULT_TEST_NOW=$now rv_run 0 forget --keep-last 2 --dry-run --json
rv_expect_eq "dry run kept" "$(rv_json_field kept)" 2
rv_expect_eq "dry run would forget" "$(rv_json_field forgotten)" 4
rv_expect_eq "newest is kept as 'last snapshot'" \
	"$(jq -r --arg id "${snaps[6]}" '.groups[0].snapshots[] | select(.id == $id) | .reasons' "$RV_OUT")" \
	"last snapshot"
rv_expect_eq "day 1 would be forgotten" \
	"$(jq -r --arg id "${snaps[1]}" '.groups[0].snapshots[] | select(.id == $id) | .keep' "$RV_OUT")" false
REGVAULT_TEST_NOW=$now rv_run 0 forget --keep-last 2 --dry-run
grep -q "would be forgotten" "$RV_OUT" || die "the text dry run does not say what would be forgotten"
rv_run 0 snapshots --json
rv_expect_eq "snapshots after the dry run" "$(jq length "$RV_OUT")" 6
rv_expect_eq "records after the dry run" "$(find "$RV_WORK/store/snapshots" -type f | wc -l)" 6

step "forget without a policy is a usage error"
rv_run 2 forget
grep -q "keep" "$RV_ERR" || die "the error does not name the --keep-* options"

step "forget --keep-last 2"
REGVAULT_TEST_NOW=$now rv_run 0 forget --keep-last 2 --json
rv_expect_eq "forgotten" "$(rv_json_field forgotten)" 4
rv_run 0 snapshots --json
rv_expect_eq "snapshots left" "$(jq -r '[.[].id] | sort | join(" ")' "$RV_OUT")" \
	"$(printf '%s\n' "${snaps[5]}" "${snaps[6]}" | sort | paste -sd' ')"
for k in 1 2 3 4; do
	[[ ! -e $RV_WORK/store/snapshots/${snaps[k]} ]] || die "record of forgotten day $k is still on the dir target"
	! s3_has "snapshots/${snaps[k]}" || die "record of forgotten day $k is still on the S3 target"
	kind=$(jq -r .seal "$RV_WORK/store/seals/${snaps[k]}" | jq -r .kind)
	rv_expect_eq "seal of day $k" "$kind" forgotten
done
rv_run 0 verify --json
rv_expect_eq "verify after forget" "$(rv_json_field outcome)" ok
rv_expect_eq "forget freed no pack yet" "$(find "$RV_WORK/store/packs" -type f | wc -l)" "$packs_before"

step "a prune while another host's backup holds a lock on the targets exits 5"
lock=$RV_WORK/store/locks/00112233deadbeef
mkdir -p "$(dirname "$lock")"
printf '{"command":"backup","created":%s,"host":"other-host.example","kind":"shared","pid":1,"refreshed":%s,"version":1}\n' \
	"$(date +%s)" "$(date +%s)" >"$lock"
rv_run 5 prune
grep -q "other-host.example" "$RV_ERR" || die "the lock error does not name the holder's host"
cp "$RV_CONFIG" "$RV_WORK/wait.yml"
printf 'locks:\n  wait_seconds: 2\n' >>"$RV_WORK/wait.yml"
t=$(date +%s)
rc=0
"$REGVAULT" --config "$RV_WORK/wait.yml" prune >"$RV_OUT" 2>"$RV_ERR" || rc=$?
rv_expect_eq "prune exit after waiting" "$rc" 5
(($(date +%s) - t >= 2)) || die "prune did not wait for locks.wait_seconds"
rm -f "$lock"
rv_expect_eq "packs untouched by the refused prune" "$(find "$RV_WORK/store/packs" -type f | wc -l)" "$packs_before"

step "prune --dry-run: what would go, nothing deleted"
rv_run 0 prune --dry-run --json
rv_expect_eq "dry run: packs to delete" "$(rv_json_field packs_deleted)" 3
rv_expect_eq "dry run: packs to repack" "$(rv_json_field packs_repacked)" 1
rv_expect_eq "packs after the dry run" "$(find "$RV_WORK/store/packs" -type f | wc -l)" "$packs_before"

step "prune"
rv_run 0 prune --json
cp "$RV_OUT" "$RV_WORK/prune.json"
rv_expect_eq "packs deleted" "$(rv_json_field packs_deleted)" 3
rv_expect_eq "packs repacked" "$(rv_json_field packs_repacked)" 1
rv_expect_eq "packs written" "$(rv_json_field packs_written)" 1
rv_expect_eq "seals re-signed" "$(rv_json_field snapshots_resealed)" 2
rv_expect_eq "nothing left waiting" "$(jq '.pending | length' "$RV_OUT")" 0
packs_after=$(find "$RV_WORK/store/packs" -type f | wc -l)
dir_after=$(dir_bytes)
s3_after=$(s3_bytes)
rv_expect_eq "packs on the dir target" "$packs_after" $((packs_before - 3))
# four forgotten day layers (about 3 MiB each once gzip'd) went
((dir_after < dir_before - 10 * 1048576)) ||
	die "dir target: $dir_before -> $dir_after bytes, expected at least 10 MiB less"
((s3_after < s3_before - 10 * 1048576)) ||
	die "S3 target: $s3_before -> $s3_after bytes, expected at least 10 MiB less"
rv_expect_eq "the S3 target holds as many bytes as the dir target" "$s3_after" "$dir_after"
pass "space reclaimed: dir $dir_before -> $dir_after bytes, S3 $s3_before -> $s3_after bytes"
echo "FIGURES prune: dir $dir_before -> $dir_after, s3 $s3_before -> $s3_after bytes"

step "a second prune finds nothing to do"
rv_run 0 prune --json
rv_expect_eq "second prune deletes" "$(rv_json_field packs_deleted)" 0
rv_expect_eq "second prune repacks" "$(rv_json_field packs_repacked)" 0

step "verify: every kept snapshot intact, the chain whole"
rv_run 0 verify --level deep --json
rv_expect_eq "verify after prune" "$(rv_json_field outcome)" ok

step "the kept snapshots restore digest-equal"
rv_run 0 restore "${snaps[6]}" --to dst6
"$CHECK_EQUAL" "$src_URL" "$dst6_URL" || die "day 6 restore differs from the source"
pass "day 6 restores digest-equal to the source"
rv_run 0 restore "${snaps[5]}" --to dst5
rv_expect_eq "app/daily:latest in day 5's restore" "$(rv_manifest_digest "$dst5_URL" app/daily latest)" "${digests[5]}"
"$CHECK_EQUAL" "$src_URL" "$dst5_URL" a/b/c team-a/api team-b/web multi/arch many/tags legacy/docker ||
	die "day 5 restore differs from the source"
pass "day 5 restores digest-equal (app/daily:latest at its day-5 image)"

step "a forgotten snapshot cannot be restored"
rv_run 1 restore "${snaps[1]}" --to dst5
grep -q "${snaps[1]:0:12}" "$RV_ERR" || die "the error does not name the snapshot: $(cat "$RV_ERR")"

step "the catalog rebuilt from the S3 target agrees"
rv_run 0 catalog rebuild --from offsite --force --json
rv_run 0 snapshots --json
rv_expect_eq "snapshots in the rebuilt catalog" "$(jq length "$RV_OUT")" 2
rv_run 0 verify --json
rv_expect_eq "verify after rebuild" "$(rv_json_field outcome)" ok
rv_run 0 restore "${snaps[6]}" --to dst6
pass "day 6 restores from the rebuilt catalog"

step "schedules: a nightly backup with a retention, then a prune job"
cat >>"$RV_CONFIG" <<YAML
schedules:
  - name: nightly
    cron: "0 2 * * *"
    timezone: Europe/Berlin
    job: backup
    retention: { keep_last: 1 }
  - name: prune
    cron: "0 4 * * *"
    job: prune
    repack_threshold: 40
YAML
d7=$((T0 + 6 * DAY))
day0=$(date -u -d "@$d7" +%Y-%m-%d)
first=$(date -u -d "$day0 00:00" +%s)
REGVAULT_TEST_NOW=$first rv_run 0 schedule run-due --json # first sight: nothing runs
rv_expect_eq "jobs at first sight" "$(jq length "$RV_OUT")" 0
daily 7
REGVAULT_TEST_NOW=$((first + 3 * 3600)) rv_run 0 schedule run-due --json
rv_expect_eq "nightly ran with its forget" \
	"$(jq -r '.[0] | "\(.schedule) \(.exit_code) \(.result.forget.forgotten)"' "$RV_OUT")" "nightly 0 2"
rv_run 0 snapshots --json
rv_expect_eq "snapshots kept by the retention" "$(jq length "$RV_OUT")" 1
packs_mid=$(find "$RV_WORK/store/packs" -type f | wc -l)
REGVAULT_TEST_NOW=$((first + 4 * 3600 + 60)) rv_run 0 schedule run-due --json
rv_expect_eq "prune job ran" "$(jq -r '.[0] | "\(.schedule) \(.exit_code)"' "$RV_OUT")" "prune 0"
(($(find "$RV_WORK/store/packs" -type f | wc -l) < packs_mid)) || die "the prune job freed no pack"
rv_run 0 schedule history --json --limit 2
rv_expect_eq "history" "$(jq -r '[.[].schedule] | join(" ")' "$RV_OUT")" "prune nightly"
rv_run 0 verify --json
rv_expect_eq "verify after the scheduled prune" "$(rv_json_field outcome)" ok
rv_run 0 restore latest --to dst6 --force # dst6 holds day 6: overwrite
"$CHECK_EQUAL" "$src_URL" "$dst6_URL" || die "the last snapshot differs from the source after the scheduled prune"
pass "scheduled backup + retention + prune: the last snapshot restores digest-equal"

step "forget --prune adopts what a killed run left first, and gives the space back"
# a backup whose catalog rows are lost (as when it is killed after putting
# its packs): its packs are on the target, unknown to the catalog
sqlite3 "$RV_WORK/catalog.db" ".backup '$RV_WORK/catalog.before'"
push_new "$src_URL"
rv_run 0 backup
cp "$RV_WORK/catalog.before" "$RV_WORK/catalog.db"
rm -f "$RV_WORK/catalog.db-wal" "$RV_WORK/catalog.db-shm"
target_packs() { find "$RV_WORK/store/packs" -type f -printf '%f\n' | sort; }
catalog_packs() { sqlite3 "$RV_WORK/catalog.db" 'SELECT pack_id FROM packs ORDER BY 1'; }
orphans=$(comm -23 <(target_packs) <(catalog_packs) | grep -c . || true)
((orphans > 0)) || die "the lost backup left no unknown pack"
rv_run 0 forget --keep-last 1 --prune --json
grep -q "adopting pack" "$RV_ERR" || die "forget --prune did not adopt the unknown packs: $(cat "$RV_ERR")"
rv_expect_eq "packs on the target that the catalog does not know" "$(comm -23 <(target_packs) <(catalog_packs) | grep -c . || true)" 0
pass "forget --prune adopted the $orphans pack(s) a lost run left, then judged them like any other"
