#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_json_shapes.sh - the exact shape of every command's --json output
# (issue 9): the set of keys of each object (jq `keys`), the JSON type of
# each value, and the keys of the objects inside arrays, on a small real
# setup: a source registry with the sample set, a second registry as the
# restore and drill destination, two dir targets, two backups around a
# change (a tag moved, a tag removed, a new image), a "* * * * *" backup
# schedule run by `schedule run-due`, then every command that takes --json,
# including the outputs that only show their array items when something is
# wrong (a damaged copy, lost packs, a failed drill, config problems, locks).
#
# The expected shapes are written out literally below (README.md's
# "--json output", docs/OPERATIONS.md, docs/CATALOG.md, docs/SCHEDULES.md):
# a key added, removed or retyped fails this test. Update the docs and this
# test together.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
T1=$RV_WORK/store
T2=$RV_WORK/store2

# --- the shape helpers ------------------------------------------------------
# A SPEC is a JSON object literal {"key": "TYPE", ...}: the object must have
# exactly these keys, each of one of the types. TYPE is a jq type name
# (string number boolean null array object), "array<T>" (an array whose
# elements are all of type T), or alternatives joined by "|".
# shellcheck disable=SC2016 # jq's $variables, not the shell's
JQ_DEFS='
def typeok($t):
	if ($t | startswith("array<")) then
		type == "array" and ($t[6:-1] as $e | all(.[]; type == $e))
	else type == $t end;
def conforms($spec):
	type == "object" and (keys == ($spec | keys)) and
	([to_entries[] | .value as $v | $spec[.key] | split("|") |
	  any(.[]; . as $t | $v | typeok($t))] | all);
def typename: if type == "array" and length > 0
	then "array<" + (map(type) | unique | join(",")) + ">" else type end;
def actual: if type == "object" then with_entries(.value |= typename) else typename end;
def diff($spec): if type == "object" then
	{missing: (($spec | keys) - keys), extra: (keys - ($spec | keys)), types: actual}
	else {type: type} end;
'

# shape NAME PATH SPEC: the value at jq PATH of $RV_OUT is an object of SPEC.
shape() {
	local name=$1 path=$2 spec=$3
	jq -e --argjson spec "$spec" "$JQ_DEFS $path | conforms(\$spec)" "$RV_OUT" >/dev/null ||
		die "$name: '$path' is not $(jq -c . <<<"$spec"); got $(jq -c --argjson spec "$spec" "$JQ_DEFS $path | diff(\$spec)" "$RV_OUT")"
	pass "$name: $path has keys $(jq -c 'keys' <<<"$spec")"
}

# items NAME PATH SPEC [MIN]: the value at PATH is an array of at least MIN
# (default 1) elements, every one an object of SPEC.
items() {
	local name=$1 path=$2 spec=$3 min=${4:-1}
	jq -e --argjson spec "$spec" --argjson min "$min" \
		"$JQ_DEFS $path | type == \"array\" and length >= \$min and all(.[]; conforms(\$spec))" \
		"$RV_OUT" >/dev/null ||
		die "$name: '$path' is not an array of >= $min $(jq -c . <<<"$spec"); got $(jq -c --argjson spec "$spec" \
			"$JQ_DEFS $path | if type == \"array\" then {length: length, items: (map(diff(\$spec)) | unique)} else {type: type} end" "$RV_OUT")"
	pass "$name: ${path}[] ($(jq "$path | length" "$RV_OUT")) have keys $(jq -c 'keys' <<<"$spec")"
}

# empty_array NAME PATH: the value at PATH is [] (its items cannot be checked
# on this setup).
empty_array() {
	jq -e "$2 == []" "$RV_OUT" >/dev/null || die "$1: '$2' is not []: $(jq -c "$2" "$RV_OUT")"
}

# --- the expected shapes ----------------------------------------------------
S_INIT='{"store_id": "string", "targets": "number", "fingerprint": "string"}'
S_BACKUP='{"snapshot": "string", "snapshots": "array<string>", "repositories": "number",
	"tags": "number", "tags_failed": "number", "tags_skipped": "number",
	"manifest_heads": "number", "manifests_fetched": "number", "blobs_fetched": "number",
	"bytes_fetched": "number", "chunks_written": "number", "bytes_written": "number",
	"packs_written": "number", "requests": "number", "retries": "number",
	"throttled": "number", "resumed": "number"}'
S_SNAPSHOT='{"id": "string", "time": "string", "source": "string", "url": "string",
	"repositories": "number", "tags": "number"}'
S_RESTORE='{"snapshot": "string", "dry_run": "boolean", "repositories": "number",
	"tags": "number", "manifests_pushed": "number", "blobs_pushed": "number",
	"blobs_mounted": "number", "blobs_skipped": "number", "bytes_pushed": "number",
	"verified": "number", "tags_unchanged": "number", "tags_kept": "number",
	"tags_overwritten": "number", "referrers_pushed": "number",
	"referrer_indexes": "number", "chunks_sent": "number"}'
# export: documented nowhere (README's command table describes the files only)
S_EXPORT='{"snapshot": "string", "time": "string", "repository": "string",
	"tag": "string|null", "format": "string", "path": "string", "tags": "number",
	"manifests": "number", "blobs": "number", "bytes": "number",
	"foreign_layers": "number"}'
S_DRILL='{"snapshot": "string", "registry": "string", "store_id": "string",
	"source": "string", "snapshot_time": "string", "started": "string",
	"finished": "string", "sample": "number", "tags_selected": "number",
	"tags_checked": "number", "tags_ok": "number", "manifests_checked": "number",
	"blobs_checked": "number", "blobs_missing": "number", "bytes": "number",
	"bytes_pushed": "number", "bytes_present": "number", "bytes_mounted": "number",
	"seconds": "number", "throughput_bytes_per_second": "number|null",
	"rpo_seconds": "number", "rto_seconds_projected": "number|null",
	"rto_bytes": "number", "rto_basis": "string", "sources": "array",
	"tags": "array<string>", "failures": "array", "exit_code": "number",
	"ok": "boolean", "error": "string|null"}'
S_DRILL_SOURCE='{"source": "string", "snapshot": "string", "time": "string",
	"rpo_seconds": "number", "bytes": "number", "rto_seconds_projected": "number|null"}'
S_DRILL_FAILURE='{"repository": "string", "tag": "string|null", "digest": "string|null",
	"reason": "string"}'
S_VERIFY='{"level": "string", "keyless": "boolean", "catalog": "boolean",
	"store_id": "string", "store": "string", "scope": "string", "started": "string",
	"finished": "string", "duration_s": "number", "sample": "number",
	"targets": "array<string>", "snapshots": "number", "packs_needed": "number",
	"packs_checked": "number", "copies_checked": "number", "bytes_checked": "number",
	"mb_per_s": "number", "chunks_checked": "number", "blobs_checked": "number",
	"seals_checked": "number", "records_checked": "number", "checked": "array",
	"damaged": "array", "problems": "array", "failed": "array", "notes": "array",
	"at_risk": "array", "lost_snapshots": "array<string>", "lost_tags": "array",
	"lost_blobs": "array<string>", "lost_manifests": "array<string>",
	"outcome": "string", "exit_code": "number"}'
S_VERIFY_CHECKED='{"pack": "string", "target": "string", "result": "string"}'
S_NAMED='{"name": "string", "target": "string", "reason": "string"}'
S_AT_RISK='{"pack": "string", "size": "number", "repairable": "boolean",
	"lost": "boolean", "damaged_on": "array<string>", "good_on": "array<string>",
	"sealed_by": "array<string>", "snapshots": "array<string>",
	"blobs": "array<string>", "manifests": "array<string>", "tags": "array"}'
S_TAG_AT_RISK='{"snapshot": "string", "repo": "string", "tag": "string", "digest": "string"}'
# verify --history: OPERATIONS.md names the columns, not the JSON keys
S_VERIFY_RUN='{"id": "number", "kind": "string", "started": "string",
	"finished": "string", "exit_code": "number", "level": "string",
	"scope": "string", "outcome": "string", "summary": "object"}'
S_REPAIR='{"dry_run": "boolean", "packs_checked": "number", "copies_checked": "number",
	"bytes_checked": "number", "bytes_copied": "number", "locations_added": "number",
	"locations_removed": "number", "adopted": "array", "removable": "array",
	"damaged": "array", "copied": "array", "lost": "array", "failed": "array",
	"notes": "array", "complete": "boolean"}'
S_STATUS='{"time": "string", "ok": "boolean", "attention": "array", "sources": "array",
	"schedules": "array", "last_verify": "object|null", "last_drill": "object|null",
	"targets": "array", "store": "object"}'
S_STATUS_ATTENTION='{"kind": "string", "subject": "string", "message": "string"}'
S_STATUS_SOURCE='{"source": "string", "snapshot": "string", "time": "string",
	"age_seconds": "number", "tags": "number"}'
S_STATUS_SCHEDULE='{"name": "string", "job": "string", "cron": "string",
	"last_run": "string", "last_outcome": "string", "last_exit_code": "number",
	"last_success": "string", "next_run": "string", "stale": "boolean"}'
S_STATUS_RUN='{"time": "string", "exit_code": "number", "outcome": "string"}'
S_STATUS_TARGET='{"target": "string", "packs": "number", "missing_packs": "number",
	"bytes": "number", "last_verify": "string", "damaged": "number", "unchecked": "number"}'
S_STATUS_STORE='{"snapshots": "number", "logical_bytes": "number", "unique_bytes": "number",
	"packs": "number", "packed_bytes": "number", "dedup_ratio": "number",
	"compression_ratio": "number"}'
S_JOB='{"schedule": "string", "job": "string", "slot": "string", "started": "string",
	"finished": "string", "exit_code": "number", "outcome": "string", "result": "object"}'
S_JOB_HISTORY='{"id": "number", "schedule": "string", "job": "string", "slot": "string",
	"started": "string", "finished": "string", "exit_code": "number",
	"outcome": "string", "result": "object"}'
S_SCHEDULE_NOT_DUE='{"name": "string", "cron": "string", "timezone": "string",
	"job": "string", "last_run": "string", "last_exit_code": "number",
	"last_outcome": "string", "next_run": "string", "due": "boolean", "due_slot": "null"}'
S_SCHEDULE_DUE='{"name": "string", "cron": "string", "timezone": "string",
	"job": "string", "last_run": "string", "last_exit_code": "number",
	"last_outcome": "string", "next_run": "string", "due": "boolean", "due_slot": "string"}'
S_CAT_SNAP='{"id": "string", "time": "string", "source": "string"}'
S_CAT_LS='{"snapshot": "object", "repositories": "array"}'
S_CAT_LS_REPO='{"repository": "string", "logical_size": "number", "objects": "number",
	"tags": "array"}'
S_CAT_LS_TAG='{"tag": "string", "digest": "string", "media_type": "string",
	"size": "number", "objects": "number"}'
S_CAT_DIFF='{"from": "object", "to": "object", "added": "array", "removed": "array",
	"moved": "array", "unchanged": "number", "bytes_added": "number",
	"objects_added": "number", "bytes_removed": "number", "objects_removed": "number"}'
S_CAT_DIFF_TAG='{"repository": "string", "tag": "string", "digest": "string"}'
S_CAT_DIFF_MOVED='{"repository": "string", "tag": "string", "from": "string", "to": "string"}'
S_CAT_STATS='{"snapshot": "object", "repositories": "array", "total": "object"}'
S_CAT_STATS_REPO='{"repository": "string", "tags": "number", "objects": "number",
	"logical_size": "number", "unique_size": "number", "unique_objects": "number",
	"shared_size": "number", "shared_objects": "number"}'
S_CAT_STATS_TOTAL='{"repositories": "number", "logical_size": "number",
	"deduplicated_size": "number", "objects": "number"}'
S_CAT_FIND_MANIFEST='{"digest": "string", "kind": "string", "media_type": "string",
	"size": "number", "holders": "array"}'
S_CAT_FIND_BLOB='{"digest": "string", "kind": "string", "media_type": "null",
	"size": "number", "holders": "array"}'
S_CAT_HOLDER='{"snapshot": "string", "time": "string", "source": "string",
	"repository": "string", "tag": "string|null", "root": "string", "via": "string",
	"parent": "string|null"}'
# catalog history: README describes the text only
S_CAT_HISTORY='{"repository": "string", "tag": "string", "changes": "number",
	"history": "array"}'
S_CAT_HISTORY_ENTRY='{"snapshot": "string", "time": "string", "source": "string",
	"digest": "string|null", "changed": "boolean", "absent": "boolean"}'
S_REBUILD='{"catalog": "string", "from": "string", "packs": "number",
	"pack_bytes": "number", "chunks": "number", "blobs": "number",
	"manifests": "number", "snapshots": "number", "damaged": "array",
	"skipped": "array", "notes": "array", "complete": "boolean"}'
S_NOTE='{"name": "string", "reason": "string"}'
S_CONFIG_CHECK='{"config": "string", "ok": "boolean", "problems": "array", "checked": "object"}'
S_CONFIG_CHECKED='{"registries": "array<string>", "targets": "array<string>",
	"catalog": "array<string>"}'
S_CONFIG_PROBLEM='{"line": "number|null", "key": "string", "message": "string",
	"kind": "string"}'
# a file that does not load: the same shape, "checked" empty, "key" the
# unknown or repeated key (null for other problems)
S_CONFIG_LOAD='{"config": "string", "ok": "boolean", "problems": "array", "checked": "object"}'
S_CONFIG_LOAD_PROBLEM='{"line": "number|null", "key": "string|null", "message": "string",
	"kind": "string"}'
S_KEY='{"id": "string", "current": "boolean"}'
S_KEY_ADD='{"added": "string"}'
S_FORGET='{"dry_run": "boolean", "groups": "array", "kept": "number", "forgotten": "number"}'
S_FORGET_PRUNE='{"dry_run": "boolean", "groups": "array", "kept": "number",
	"forgotten": "number", "prune": "object"}'
S_FORGET_GROUP='{"source": "string", "snapshots": "array"}'
S_FORGET_SNAPSHOT='{"id": "string", "time": "string", "keep": "boolean", "reasons": "string"}'
S_FORGET_PRUNE_SUMMARY='{"packs_deleted": "number", "packs_repacked": "number",
	"packs_written": "number", "copies_deleted": "number", "bytes_freed": "number"}'
# prune: "packs_kept_for_others" is not in README's list
S_PRUNE='{"dry_run": "boolean", "packs_total": "number", "bytes_total": "number",
	"packs_deleted": "number", "bytes_deleted": "number", "packs_repacked": "number",
	"bytes_repacked": "number", "packs_written": "number", "bytes_written": "number",
	"chunks_moved": "number", "entries_moved": "number", "manifests_dropped": "number",
	"blobs_dropped": "number", "snapshots_resealed": "number", "copies_deleted": "number",
	"bytes_freed": "number", "packs_kept_for_others": "number", "pending": "array"}'
S_UNLOCK='{"removed": "array", "kept": "array"}'
S_LOCK='{"name": "string", "target": "string", "kind": "string", "command": "string",
	"host": "string", "pid": "number", "created": "string", "refreshed": "string",
	"age_seconds": "number", "stale": "boolean", "unreadable": "boolean",
	"reason": "string"}'

# check_verify NAME: the whole verify document and its always-filled arrays.
check_verify() {
	shape "$1" . "$S_VERIFY"
	items "$1" .checked "$S_VERIFY_CHECKED"
}

# --- setup ------------------------------------------------------------------
step "a source with the sample set, a destination, two dir targets, a schedule"
t_start=$SECONDS
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst
mkdir -p "$T2"
cat >>"$RV_CONFIG" <<EOF
  - name: second
    type: dir
    path: $T2
schedules:
  - name: every-minute
    cron: "* * * * *"
    job: backup
EOF

step "init"
rv_run 0 init --json
shape init . "$S_INIT"

step "backup, a change, backup"
rv_run 0 backup --json
shape backup . "$S_BACKUP"
snap1=$(rv_json_field snapshot)
packs1=$(cd "$T1" && find packs -type f | sort)
move_tag "$src_URL"
push_new "$src_URL"
# a tag removed (distribution 2.8 deletes tags only with their manifest)
rm -r "$src_DIR/docker/registry/v2/repositories/team-b/web/_manifests/tags/stable"
sleep 1 # snapshots are ordered by their time, in seconds
rv_run 0 backup --json
shape "backup (second)" . "$S_BACKUP"
snap2=$(rv_json_field snapshot)
mapfile -t new_packs < <(cd "$T1" && find packs -type f | sort | comm -13 <(printf '%s\n' "$packs1") -)
((${#new_packs[@]} >= 1)) || die "the second backup wrote no pack"

step "schedule run-due: the first pass records the slot, the second runs the backup"
now=$(date +%s)
REGVAULT_TEST_NOW=$((now - 120)) rv_run 0 schedule run-due --json
empty_array "run-due (first sight)" .
REGVAULT_TEST_NOW=$now rv_run 0 schedule run-due --json
items "schedule run-due" . "$S_JOB"
rv_expect_eq "run-due: jobs" "$(jq -r '[.[] | "\(.schedule):\(.exit_code)"] | join(" ")' "$RV_OUT")" "every-minute:0"
shape "schedule run-due" '.[0].result' "$S_BACKUP"
snap3=$(jq -r '.[0].result.snapshot' "$RV_OUT")
REGVAULT_TEST_NOW=$now rv_run 0 schedule list --json
items "schedule list" . "$S_SCHEDULE_NOT_DUE"
REGVAULT_TEST_NOW=$((now + 60)) rv_run 0 schedule list --json
items "schedule list (a slot due)" . "$S_SCHEDULE_DUE"
rv_run 0 schedule history --json
items "schedule history" . "$S_JOB_HISTORY"
shape "schedule history" '.[0].result' "$S_BACKUP"

step "snapshots"
rv_run 0 snapshots --json
items snapshots . "$S_SNAPSHOT" 3
rv_expect_eq "snapshot ids" "$(jq -r 'map(.id) | join(" ")' "$RV_OUT")" "$snap1 $snap2 $snap3"
cp "$RV_OUT" "$RV_WORK/snapshots.json"
"$REGVAULT" --config "$RV_CONFIG" --json snapshots >"$RV_OUT"
cmp -s "$RV_OUT" "$RV_WORK/snapshots.json" || die "'--json snapshots' differs from 'snapshots --json'"
pass "the global --json gives the command's own --json"

step "catalog queries"
rv_run 0 catalog ls latest --json
shape "catalog ls" . "$S_CAT_LS"
shape "catalog ls" .snapshot "$S_CAT_SNAP"
items "catalog ls" .repositories "$S_CAT_LS_REPO" "$MK_SAMPLE_REPOS"
items "catalog ls" '[.repositories[].tags[]]' "$S_CAT_LS_TAG" 30
rv_run 0 catalog ls "$snap2" team-a/api --json
shape "catalog ls REPO" . "$S_CAT_LS"
items "catalog ls REPO" .repositories "$S_CAT_LS_REPO"
items "catalog ls REPO" '.repositories[0].tags' "$S_CAT_LS_TAG" 3
rv_run 0 catalog diff "$snap1" "$snap2" --json
shape "catalog diff" . "$S_CAT_DIFF"
shape "catalog diff" .from "$S_CAT_SNAP"
shape "catalog diff" .to "$S_CAT_SNAP"
items "catalog diff" .added "$S_CAT_DIFF_TAG"
items "catalog diff" .removed "$S_CAT_DIFF_TAG"
items "catalog diff" .moved "$S_CAT_DIFF_MOVED"
rv_expect_eq "diff: added, removed, moved" \
	"$(jq -r '[.added[], .removed[], .moved[]] | map("\(.repository):\(.tag)") | join(" ")' "$RV_OUT")" \
	"team-b/web:v2 team-b/web:stable team-a/api:prod"
rv_run 0 catalog stats --json
shape "catalog stats" . "$S_CAT_STATS"
shape "catalog stats" .snapshot "$S_CAT_SNAP"
items "catalog stats" .repositories "$S_CAT_STATS_REPO" "$MK_SAMPLE_REPOS"
shape "catalog stats" .total "$S_CAT_STATS_TOTAL"
rv_run 0 catalog stats --snapshot "$snap1" --json
shape "catalog stats --snapshot" . "$S_CAT_STATS"
api_v1=$(rv_manifest_digest "$src_URL" team-a/api v1)
rv_run 0 catalog find "$api_v1" --json
shape "catalog find (manifest)" . "$S_CAT_FIND_MANIFEST"
items "catalog find (manifest)" .holders "$S_CAT_HOLDER" 3
layer=$(rv_get_manifest "$src_URL" team-a/api v1 | jq -r '.layers[-1].digest')
rv_run 0 catalog find "$layer" --json
shape "catalog find (blob)" . "$S_CAT_FIND_BLOB"
items "catalog find (blob)" .holders "$S_CAT_HOLDER" 3
rv_run 0 catalog history team-b/web:stable --json
shape "catalog history" . "$S_CAT_HISTORY"
items "catalog history" .history "$S_CAT_HISTORY_ENTRY" 3
rv_expect_eq "history: present, then removed" "$(jq -c '[.history[] | .absent]' "$RV_OUT")" "[false,true,true]"

step "export (archive of a repository, layout of one tag)"
rv_run 0 export latest --repo team-a/api --oci-archive "$RV_WORK/api.tar" --json
shape "export --oci-archive" . "$S_EXPORT"
rv_run 0 export latest --repo team-a/api:v1 --oci-layout "$RV_WORK/api-v1" --json
shape "export --oci-layout" . "$S_EXPORT"
rv_expect_eq "export: tag" "$(jq -r .tag "$RV_OUT")" v1

step "config check (ready, a problem found after loading, a file that does not load)"
rv_run 0 config check --json
shape "config check" . "$S_CONFIG_CHECK"
shape "config check" .checked "$S_CONFIG_CHECKED"
empty_array "config check" .problems
sed "s|passphrase_file: .*|passphrase_file: $RV_WORK/no-such-passphrase|" "$RV_CONFIG" >"$RV_WORK/bad-file.yml"
rc=0
"$REGVAULT" --config "$RV_WORK/bad-file.yml" config check --json >"$RV_OUT" 2>"$RV_ERR" || rc=$?
[[ $rc == 2 ]] || die "config check of a missing passphrase file exited $rc: $(cat "$RV_OUT" "$RV_ERR")"
shape "config check (problem)" . "$S_CONFIG_CHECK"
items "config check (problem)" .problems "$S_CONFIG_PROBLEM"
{ cat "$RV_CONFIG"; echo "bogus_key: 1"; } >"$RV_WORK/bad-key.yml"
rc=0
"$REGVAULT" --config "$RV_WORK/bad-key.yml" config check --json >"$RV_OUT" 2>"$RV_ERR" || rc=$?
[[ $rc == 2 ]] || die "config check of an unknown key exited $rc: $(cat "$RV_OUT" "$RV_ERR")"
shape "config check (does not load)" . "$S_CONFIG_LOAD"
items "config check (does not load)" .problems "$S_CONFIG_LOAD_PROBLEM"

step "key add, key list"
REGVAULT_NEW_PASSWORD=another-passphrase rv_run 0 key add --json
shape "key add" . "$S_KEY_ADD"
rv_run 0 key list --json
items "key list" . "$S_KEY" 2

step "verify on a healthy store"
rv_run 0 verify --json
check_verify verify
for a in damaged problems failed notes at_risk lost_snapshots lost_tags lost_blobs lost_manifests; do
	empty_array verify ".$a"
done

step "the second backup's packs damaged on 'second': verify, status, repair"
for p in "${new_packs[@]}"; do
	rv_flip_byte "$T2/$p" $(($(stat -c %s "$T2/$p") / 2))
done
rv_run 4 verify --json
check_verify "verify (repairable)"
rv_expect_eq "verify outcome" "$(rv_json_field outcome)" repairable
items "verify (repairable)" .damaged "$S_NAMED"
items "verify (repairable)" .at_risk "$S_AT_RISK"
items "verify (repairable)" '[.at_risk[].tags[]]' "$S_TAG_AT_RISK"
REGVAULT_TEST_NOW=$((now + 5)) rv_run 1 status --json
shape "status (attention)" . "$S_STATUS"
items "status (attention)" .attention "$S_STATUS_ATTENTION"
rv_run 0 repair --dry-run --json
shape "repair --dry-run" . "$S_REPAIR"
items "repair --dry-run" .damaged "$S_NAMED"
items "repair --dry-run" .copied "$S_NAMED"
rv_run 0 repair --json
shape repair . "$S_REPAIR"
items repair .copied "$S_NAMED"
rv_run 0 verify --json
rv_expect_eq "verify after repair" "$(rv_json_field outcome)" ok

step "the second backup's packs lost on every target: verify, repair, drill"
mkdir -p "$RV_WORK/away"
for p in "${new_packs[@]}"; do
	mv "$T1/$p" "$RV_WORK/away/${p##*/}.1"
	mv "$T2/$p" "$RV_WORK/away/${p##*/}.2"
done
rv_run 4 verify --level quick --json
check_verify "verify (lost)"
items "verify (lost)" .at_risk "$S_AT_RISK"
items "verify (lost)" .lost_tags "$S_TAG_AT_RISK"
jq -e '.lost_snapshots | length > 0' "$RV_OUT" >/dev/null || die "verify (lost): no lost snapshot"
rv_run 4 repair --dry-run --json
shape "repair (lost)" . "$S_REPAIR"
items "repair (lost)" .lost "$S_NOTE"
rv_run 4 drill --to dst --repo 'team-b/**' --json
shape "drill (failed)" . "$S_DRILL"
items "drill (failed)" .failures "$S_DRILL_FAILURE"
items "drill (failed)" .sources "$S_DRILL_SOURCE"
for p in "${new_packs[@]}"; do
	mv "$RV_WORK/away/${p##*/}.1" "$T1/$p"
	mv "$RV_WORK/away/${p##*/}.2" "$T2/$p"
done
rv_run 0 verify --json
rv_expect_eq "verify with the packs back" "$(rv_json_field outcome)" ok

step "restore --dry-run, restore, drill into the destination"
rv_run 0 restore latest --to dst --dry-run --json
shape "restore --dry-run" . "$S_RESTORE"
rv_run 0 restore latest --to dst --json
shape restore . "$S_RESTORE"
rv_run 0 drill --to dst --json
shape drill . "$S_DRILL"
items drill .sources "$S_DRILL_SOURCE"
empty_array drill .failures

step "verify --history, status"
rv_run 0 verify --history --json
items "verify --history" . "$S_VERIFY_RUN" 5
rv_expect_eq "history kinds" "$(jq -r 'map(.kind) | unique | join(" ")' "$RV_OUT")" "drill verify"
jq -e --argjson spec "$S_VERIFY" "$JQ_DEFS"' all(.[] | select(.kind == "verify"); .summary | conforms($spec))' \
	"$RV_OUT" >/dev/null || die "verify --history: a verify summary is not the verify --json shape"
jq -e --argjson spec "$S_DRILL" "$JQ_DEFS"' all(.[] | select(.kind == "drill"); .summary | conforms($spec))' \
	"$RV_OUT" >/dev/null || die "verify --history: a drill summary is not the drill --json shape"
pass "verify --history: each summary is its command's --json"
REGVAULT_TEST_NOW=$((now + 5)) rv_run 0 status --json
shape status . "$S_STATUS"
empty_array status .attention
items status .sources "$S_STATUS_SOURCE"
items status .schedules "$S_STATUS_SCHEDULE"
shape status .last_verify "$S_STATUS_RUN"
shape status .last_drill "$S_STATUS_RUN"
items status .targets "$S_STATUS_TARGET" 2
shape status .store "$S_STATUS_STORE"

step "unlock (a stale lock and another host's live one), unlock --all"
t=$(date +%s)
mkdir -p "$T1/locks"
printf '{"command":"prune","created":%s,"host":"other-host","kind":"exclusive","pid":4242,"refreshed":%s,"version":1}' \
	$((t - 7260)) $((t - 7200)) >"$T1/locks/00000000000000a1"
printf '{"command":"backup","created":%s,"host":"other-host","kind":"shared","pid":4242,"refreshed":%s,"version":1}' \
	$((t - 60)) "$t" >"$T1/locks/00000000000000a2"
rv_run 0 unlock --json
shape unlock . "$S_UNLOCK"
items unlock .removed "$S_LOCK"
items unlock .kept "$S_LOCK"
rv_run 0 unlock --all --json
shape "unlock --all" . "$S_UNLOCK"
items "unlock --all" .removed "$S_LOCK"
empty_array "unlock --all" .kept

step "forget --dry-run, forget, prune --dry-run, forget --prune, prune"
rv_run 0 forget --keep-last 1 --dry-run --json
shape "forget --dry-run" . "$S_FORGET"
items "forget --dry-run" .groups "$S_FORGET_GROUP"
items "forget --dry-run" '[.groups[].snapshots[]]' "$S_FORGET_SNAPSHOT" 3
rv_run 0 forget --keep-last 2 --json
shape forget . "$S_FORGET"
items forget '[.groups[].snapshots[]]' "$S_FORGET_SNAPSHOT" 3
rv_run 0 prune --dry-run --json
shape "prune --dry-run" . "$S_PRUNE"
rv_run 0 forget --keep-last 1 --prune --json
shape "forget --prune" . "$S_FORGET_PRUNE"
items "forget --prune" '[.groups[].snapshots[]]' "$S_FORGET_SNAPSHOT" 2
shape "forget --prune" .prune "$S_FORGET_PRUNE_SUMMARY"
rv_run 0 prune --json
shape prune . "$S_PRUNE"

step "catalog rebuild (last: it drops the run history)"
rv_run 0 catalog rebuild --from local --force --json
shape "catalog rebuild" . "$S_REBUILD"
items "catalog rebuild" .notes "$S_NOTE"

pass "every --json shape holds ($((SECONDS - t_start)) s)"
