#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_history.sh - `regvault catalog history REPO:TAG` lists every snapshot
# (oldest first) with the digest the tag had, marks where it changed and
# where it was absent: after team-a/api:prod moves between two backups the
# history shows both digests and the change; a tag deleted from the source
# shows as absent; a new tag starts at the snapshot that first had it.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

backup() {
	sleep 1 # snapshots are ordered by their time, in seconds
	rv_run 0 backup --json
	rv_json_field snapshot
}

step "three backups around a tag move, then one after a tag is deleted"
rv_start_registry src
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src
rv_run 0 init
old_prod=$(rv_manifest_digest "$src_URL" team-a/api prod)
worker=$(rv_manifest_digest "$src_URL" team-a/worker latest)
snap1=$(backup)
snap2=$(backup)
move_tag "$src_URL"
push_new "$src_URL"
new_prod=$(rv_manifest_digest "$src_URL" team-a/api prod)
[[ $new_prod != "$old_prod" ]] || die "fixture: prod did not move"
snap3=$(backup)
curl -fsS -X DELETE "$src_URL/v2/team-a/worker/manifests/$worker" >/dev/null ||
	die "fixture: cannot delete team-a/worker:latest"
snap4=$(backup)

step "history of team-a/api:prod, text"
rv_run 0 catalog history team-a/api:prod
cat "$RV_OUT"
rv_expect_eq "history lines" "$(wc -l <"$RV_OUT")" 4
mapfile -t lines <"$RV_OUT"
re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z  [0-9a-f]{12}  sha256:[0-9a-f]{64}'
for l in "${lines[@]}"; do
	[[ $l =~ $re ]] || die "history line not in the documented form: '$l'"
done
[[ ${lines[0]} == *"  ${snap1:0:12}  $old_prod" && ${lines[0]} != *"(changed)"* ]] ||
	die "first line: '${lines[0]}'"
[[ ${lines[1]} == *"  ${snap2:0:12}  $old_prod" ]] || die "second line: '${lines[1]}'"
[[ ${lines[2]} == *"  ${snap3:0:12}  $new_prod  (changed)" ]] || die "third line: '${lines[2]}'"
[[ ${lines[3]} == *"  ${snap4:0:12}  $new_prod" ]] || die "fourth line: '${lines[3]}'"
pass "prod: $old_prod twice, then $new_prod marked (changed)"

step "history of team-a/api:prod, JSON"
rv_run 0 catalog history team-a/api:prod --json
rv_expect_eq "json changes" "$(rv_json_field changes)" 1
rv_expect_eq "json snapshots" "$(jq -r '[.history[].snapshot] | join(",")' "$RV_OUT")" "$snap1,$snap2,$snap3,$snap4"
rv_expect_eq "json digests" "$(jq -r '[.history[].digest] | join(",")' "$RV_OUT")" \
	"$old_prod,$old_prod,$new_prod,$new_prod"
rv_expect_eq "json changed flags" "$(jq -r '[.history[].changed] | join(",")' "$RV_OUT")" false,false,true,false

step "a deleted tag shows as absent; a new tag starts where it appeared"
rv_run 0 catalog history team-a/worker:latest
cat "$RV_OUT"
rv_expect_eq "worker lines" "$(wc -l <"$RV_OUT")" 4
[[ $(tail -1 "$RV_OUT") == *"  ${snap4:0:12}  -"*"(absent)" ]] || die "last worker line: '$(tail -1 "$RV_OUT")'"
rv_run 0 catalog history team-a/worker:latest --json
rv_expect_eq "worker json absent flags" "$(jq -r '[.history[].absent] | join(",")' "$RV_OUT")" false,false,false,true
rv_expect_eq "worker json last digest" "$(jq -r '.history[3].digest' "$RV_OUT")" null
rv_run 0 catalog history team-b/web:v2 --json
rv_expect_eq "team-b/web:v2 starts at the third snapshot" \
	"$(jq -r '[.history[].snapshot] | join(",")' "$RV_OUT")" "$snap3,$snap4"

step "refusals"
rv_run 1 catalog history team-a/api:nope
grep -q "no snapshot holds 'team-a/api:nope'" "$RV_ERR" || die "unknown tag: $(cat "$RV_ERR")"
rv_run 2 catalog history team-a/api
rv_run 2 catalog history
rv_run 2 catalog history a:b c:d
rv_run 2 catalog history team-a/api:prod --bogus
pass "catalog history works"
