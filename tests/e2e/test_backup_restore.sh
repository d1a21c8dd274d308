#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_backup_restore.sh - a full backup of a real registry restores digest for
# digest into an empty one; --repo restores only the matching repositories;
# --dry-run pushes nothing; a second restore into a full registry pushes no blob.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

step "start registries and fill the source"
rv_start_registry src
rv_start_registry dst
rv_start_registry part
rv_start_registry dry
populate "$src_URL"
want_repos=$(rv_repos "$src_URL" | wc -l)
want_tags=$(rv_tag_count "$src_URL")
want_blobs=$(rv_blob_set "$src_URL" | wc -l)
want_pairs=$(rv_blob_pairs "$src_URL" | wc -l)
note "source: $want_repos repositories, $want_tags tags, $want_blobs blobs"
[[ $want_repos == "$MK_SAMPLE_REPOS" && $want_tags == "$MK_SAMPLE_TAGS" ]] ||
	die "fixture: source holds $want_repos repos / $want_tags tags, expected $MK_SAMPLE_REPOS / $MK_SAMPLE_TAGS"

rv_config "$RV_WORK/regvault.yml" src dst part

step "init"
rv_run 0 init
[[ -f $RV_WORK/store/regvault.json ]] || die "init left no regvault.json in the dir target"
pass "init created the store"

step "backup"
rv_run 0 backup --json
jq -e . "$RV_OUT" >/dev/null || die "backup --json is not JSON: $(cat "$RV_OUT")"
snap=$(rv_json_field snapshot)
[[ $snap =~ ^[0-9a-f]{64}$ ]] || die "backup --json: snapshot '$snap' is not 64 hex digits"
rv_expect_eq "backup repositories" "$(rv_json_field repositories)" "$want_repos"
rv_expect_eq "backup tags" "$(rv_json_field tags)" "$want_tags"
rv_expect_eq "backup blobs_fetched (every distinct blob once)" "$(rv_json_field blobs_fetched)" "$want_blobs"
bw=$(rv_json_field bytes_written)
pw=$(rv_json_field packs_written)
((bw > 0 && pw > 0)) || die "backup wrote bytes_written=$bw packs_written=$pw"
pass "backup wrote $pw pack(s), $bw bytes"

step "snapshots --json"
rv_run 0 snapshots --json
rv_expect_eq "snapshot count" "$(jq 'length' "$RV_OUT")" 1
rv_expect_eq "snapshot id" "$(jq -r '.[0].id' "$RV_OUT")" "$snap"
rv_expect_eq "snapshot source" "$(jq -r '.[0].source' "$RV_OUT")" src
rv_expect_eq "snapshot url" "$(jq -r '.[0].url' "$RV_OUT")" "$src_URL"
rv_expect_eq "snapshot repositories" "$(jq -r '.[0].repositories' "$RV_OUT")" "$want_repos"
rv_expect_eq "snapshot tags" "$(jq -r '.[0].tags' "$RV_OUT")" "$want_tags"
t=$(jq -r '.[0].time' "$RV_OUT")
[[ $t =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]] ||
	die "snapshot time '$t' is not RFC 3339 UTC"
pass "snapshot time $t is RFC 3339 UTC"

step "restore latest into an empty registry"
rv_run 0 restore latest --to dst --json
rv_expect_eq "restore snapshot" "$(rv_json_field snapshot)" "$snap"
rv_expect_eq "restore tags" "$(rv_json_field tags)" "$want_tags"
# A blob shared by several repositories is uploaded once and mounted or
# uploaded again in the others: either way it lies in these bounds.
bp=$(rv_json_field blobs_pushed)
((bp >= want_blobs && bp <= want_pairs)) ||
	die "restore blobs_pushed=$bp, expected between $want_blobs and $want_pairs"
pass "restore blobs_pushed=$bp (distinct blobs $want_blobs, repo/blob pairs $want_pairs)"
v=$(jq -c '.verified' "$RV_OUT")
[[ $v == true || $v == "$want_tags" ]] || die "restore verified=$v"
pass "restore reports verified=$v"
"$CHECK_EQUAL" "$src_URL" "$dst_URL" || die "restored registry differs from the source"
pass "destination is digest-equal to the source"

step "restore again into the full registry: nothing to upload"
rv_run 0 restore "$snap" --to dst --json
rv_expect_eq "second restore blobs_pushed" "$(rv_json_field blobs_pushed)" 0
bs=$(rv_json_field blobs_skipped)
((bs >= want_blobs)) || die "second restore blobs_skipped=$bs, expected at least $want_blobs"
pass "second restore skipped $bs blobs already present"
"$CHECK_EQUAL" "$src_URL" "$dst_URL" || die "registry differs after a second restore"

step "restore --repo 'team-a/**' by id prefix into a third registry"
rv_run 0 restore "${snap:0:12}" --to part --repo 'team-a/**' --json
want_part=$(rv_repos "$src_URL" | grep '^team-a/' | sort | tr '\n' ' ')
got_part=$(rv_repos "$part_URL" | sort | tr '\n' ' ')
[[ $got_part == "$want_part" ]] ||
	die "--repo 'team-a/**' restored [$got_part], expected [$want_part]"
pass "--repo 'team-a/**' restored exactly: $got_part"
part_tags=0
for r in $want_part; do
	part_tags=$((part_tags + $(rv_tags "$src_URL" "$r" | wc -l)))
done
rv_expect_eq "partial restore tags" "$(rv_json_field tags)" "$part_tags"
# shellcheck disable=SC2086
"$CHECK_EQUAL" "$src_URL" "$part_URL" $want_part || die "partial restore differs"
pass "team-a/* repositories are digest-equal"

step "restore --dry-run pushes nothing (destination given as a URL)"
rv_run 0 restore latest --to "$dry_URL" --dry-run
got=$(rv_repos "$dry_URL" | wc -l)
rv_expect_eq "repositories in the dry-run destination" "$got" 0
files=$(find "$dry_DIR" -type f | wc -l)
rv_expect_eq "files in the dry-run destination's storage" "$files" 0

pass "all backup/restore assertions hold"
