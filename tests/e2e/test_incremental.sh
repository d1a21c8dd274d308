#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_incremental.sh - a backup with nothing new fetches and writes nothing
# (one HEAD per tag); after a tag move and one new image, the next backup
# fetches exactly the new blobs; each snapshot restores its own state.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

step "start registries, fill the source, first backup"
rv_start_registry src
rv_start_registry new
rv_start_registry old
populate "$src_URL"
tags1=$(rv_tag_count "$src_URL")
rv_config "$RV_WORK/regvault.yml" src new old
rv_run 0 init
rv_run 0 backup --json
snap1=$(rv_json_field snapshot)
rv_expect_eq "first backup tags" "$(rv_json_field tags)" "$tags1"
((${#snap1} == 64)) || die "first backup: bad snapshot id '$snap1'"

step "second backup, nothing changed: HEADs only"
rv_run 0 backup --json
snap2=$(rv_json_field snapshot)
rv_expect_eq "unchanged backup blobs_fetched" "$(rv_json_field blobs_fetched)" 0
rv_expect_eq "unchanged backup manifests_fetched" "$(rv_json_field manifests_fetched)" 0
rv_expect_eq "unchanged backup packs_written" "$(rv_json_field packs_written)" 0
rv_expect_eq "unchanged backup bytes_written" "$(rv_json_field bytes_written)" 0
rv_expect_eq "unchanged backup bytes_fetched" "$(rv_json_field bytes_fetched)" 0
rv_expect_eq "unchanged backup manifest_heads (one per tag)" "$(rv_json_field manifest_heads)" "$tags1"
[[ $snap2 != "$snap1" ]] || die "second backup reused the first snapshot id"

step "move team-a/api:prod to v1, push team-b/web:v2 (new layer on the shared base)"
old_prod=$(rv_manifest_digest "$src_URL" team-a/api prod)
v1=$(rv_manifest_digest "$src_URL" team-a/api v1)
rv_blob_set "$src_URL" >"$RV_WORK/blobs.before"
move_tag "$src_URL"
push_new "$src_URL"
rv_blob_set "$src_URL" >"$RV_WORK/blobs.after"
new_prod=$(rv_manifest_digest "$src_URL" team-a/api prod)
web_v2=$(rv_manifest_digest "$src_URL" team-b/web v2)
[[ $new_prod == "$v1" && $new_prod != "$old_prod" ]] || die "fixture: prod did not move ($old_prod -> $new_prod)"
new_blobs=$(comm -13 "$RV_WORK/blobs.before" "$RV_WORK/blobs.after" | wc -l)
rv_expect_eq "fixture: new blob digests pushed (layer + config)" "$new_blobs" 2
tags3=$(rv_tag_count "$src_URL")

step "third backup fetches exactly the new blobs"
rv_run 0 backup --json
snap3=$(rv_json_field snapshot)
rv_expect_eq "third backup blobs_fetched" "$(rv_json_field blobs_fetched)" "$new_blobs"
rv_expect_eq "third backup manifests_fetched" "$(rv_json_field manifests_fetched)" 1
rv_expect_eq "third backup tags" "$(rv_json_field tags)" "$tags3"
rv_expect_eq "third backup manifest_heads" "$(rv_json_field manifest_heads)" "$tags3"
pw=$(rv_json_field packs_written)
((pw >= 1)) || die "third backup packs_written=$pw, expected at least 1"
pass "third backup wrote $pw pack(s)"

rv_run 0 snapshots --json
rv_expect_eq "snapshot count" "$(jq length "$RV_OUT")" 3
rv_expect_eq "tags in the first snapshot" \
	"$(jq -r --arg id "$snap1" '.[] | select(.id == $id) | .tags' "$RV_OUT")" "$tags1"
rv_expect_eq "tags in the third snapshot" \
	"$(jq -r --arg id "$snap3" '.[] | select(.id == $id) | .tags' "$RV_OUT")" "$tags3"

step "restore the third snapshot: digest-equal to the source"
rv_run 0 restore "$snap3" --to new
"$CHECK_EQUAL" "$src_URL" "$new_URL" || die "restore of the third snapshot differs from the source"
pass "third snapshot restores digest-equal"

step "restore the first snapshot: the old tag position"
rv_run 0 restore "$snap1" --to old
got=$(rv_manifest_digest "$old_URL" team-a/api prod) || die "team-a/api:prod missing after restoring the first snapshot"
rv_expect_eq "team-a/api:prod in the first snapshot" "$got" "$old_prod"
if got=$(rv_manifest_digest "$old_URL" team-b/web v2); then
	die "team-b/web:v2 ($got) restored from the first snapshot, which predates it"
fi
pass "team-b/web:v2 absent from the first snapshot's restore"
rv_expect_eq "tags restored from the first snapshot" "$(rv_tag_count "$old_URL")" "$tags1"
[[ -n $web_v2 ]]

pass "all incremental assertions hold"
