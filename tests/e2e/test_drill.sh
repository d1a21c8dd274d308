#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_drill.sh - `regvault drill` restores into a scratch registry and checks
# it independently: a full drill finds every tag digest-equal and reports
# numeric RPO/RTO figures and a report naming the snapshot; `--sample 3`
# restores exactly 3 tags; after the packs only one tag needs are deleted
# from the only target, a drill exits 4 and names exactly that tag (stdout,
# the catalog's trail, the report) while the other tags still arrive; after
# the first backup's packs are deleted, a drill of three repositories names
# every one of their tags, not just the first.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to read the catalog's trail"
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh
CAT=$RV_WORK/catalog.db
STORE=$RV_WORK/store

# is_number X: X is a JSON number (not null, not a string).
is_number() {
	[[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]
}

# last_run_summary: the JSON summary of the newest drill in the catalog.
last_run_summary() {
	sqlite3 "$CAT" "SELECT summary FROM runs WHERE kind = 'drill' ORDER BY id DESC LIMIT 1"
}

step "start registries, fill the source, back it up"
rv_start_registry src
rv_start_registry full
rv_start_registry sample
rv_start_registry broken
rv_start_registry lost
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src full sample broken lost
rv_run 0 init
rv_run 0 backup --json
snap1=$(rv_json_field snapshot)

step "full drill into an empty registry"
rv_run 0 drill --to full --json --report "$RV_WORK/full.md"
jq -e . "$RV_OUT" >/dev/null || die "drill --json is not JSON"
rv_expect_eq "drill snapshot" "$(rv_json_field snapshot)" "$snap1"
rv_expect_eq "drill registry" "$(rv_json_field registry)" full
rv_expect_eq "tags_checked" "$(rv_json_field tags_checked)" "$MK_SAMPLE_TAGS"
rv_expect_eq "tags_ok" "$(rv_json_field tags_ok)" "$MK_SAMPLE_TAGS"
rv_expect_eq "blobs_missing" "$(rv_json_field blobs_missing)" 0
rv_expect_eq "failures" "$(jq -c '.failures' "$RV_OUT")" "[]"
want_pairs=$(rv_blob_pairs "$src_URL" | wc -l)
rv_expect_eq "blobs_checked (every repository/blob pair)" "$(rv_json_field blobs_checked)" "$want_pairs"
for f in bytes seconds throughput_bytes_per_second rpo_seconds rto_seconds_projected; do
	v=$(jq -c ".$f" "$RV_OUT")
	is_number "$v" || die "drill --json: $f is '$v', not a number"
done
bytes=$(rv_json_field bytes)
((bytes > 2000000)) || die "drill restored only $bytes bytes"
jq -e '.seconds > 0 and .throughput_bytes_per_second > 0 and .rpo_seconds >= 0
	and .rpo_seconds < 600 and .rto_seconds_projected > 0' "$RV_OUT" >/dev/null ||
	die "drill figures out of range: $(jq -c '{seconds, throughput_bytes_per_second, rpo_seconds, rto_seconds_projected}' "$RV_OUT")"
rv_expect_eq "per-source RPO/RTO" "$(jq -r '.sources | map(.source) | join(",")' "$RV_OUT")" src
jq -e '.sources[0].rto_seconds_projected > 0 and .sources[0].bytes > 0' "$RV_OUT" >/dev/null ||
	die "per-source figures missing: $(jq -c '.sources' "$RV_OUT")"
pass "RPO $(rv_json_field rpo_seconds) s, projected RTO $(rv_json_field rto_seconds_projected) s, $bytes bytes in $(rv_json_field seconds) s"
"$CHECK_EQUAL" "$src_URL" "$full_URL" || die "the drilled registry differs from the source"
pass "scratch registry is digest-equal to the source"
[[ -s $RV_WORK/full.md ]] || die "no report file"
grep -q "$snap1" "$RV_WORK/full.md" || die "the report does not name snapshot $snap1"
grep -q 'PASSED' "$RV_WORK/full.md" || die "the report does not say the drill passed"
grep -qi 'projection' "$RV_WORK/full.md" || die "the report does not say the RTO is a projection"
store_id=$(jq -r .store_id "$STORE/regvault.json")
grep -q "$store_id" "$RV_WORK/full.md" || die "the report does not name the store $store_id"
pass "the report names the snapshot and the store and says PASSED"
rv_expect_eq "runs recorded" "$(sqlite3 "$CAT" "SELECT count(*) FROM runs WHERE kind = 'drill'")" 1
rv_expect_eq "recorded exit code" "$(sqlite3 "$CAT" "SELECT exit_code FROM runs WHERE kind = 'drill'")" 0
rv_expect_eq "recorded summary snapshot" "$(last_run_summary | jq -r .snapshot)" "$snap1"

step "drill --sample 3 restores exactly 3 tags"
rv_run 0 drill --to "$sample_URL" --sample 3 --snapshot "${snap1:0:12}" --json
rv_expect_eq "sample tags_checked" "$(rv_json_field tags_checked)" 3
rv_expect_eq "sample tags_ok" "$(rv_json_field tags_ok)" 3
rv_expect_eq "tags in the scratch registry" "$(rv_tag_count "$sample_URL")" 3
while IFS=: read -r repo tag; do
	got=$(rv_manifest_digest "$sample_URL" "$repo" "$tag") || die "$repo:$tag is not in the scratch registry"
	want=$(rv_manifest_digest "$src_URL" "$repo" "$tag")
	[[ $got == "$want" ]] || die "$repo:$tag: scratch has $got, source $want"
done < <(jq -r '.tags[]' "$RV_OUT")
pass "the 3 sampled tags ($(jq -r '.tags | join(" ")' "$RV_OUT")) are digest-equal"

step "the packs only team-b/web:v2 needs go missing"
mapfile -t packs_before < <(cd "$STORE" && find packs -type f | sort)
push_new "$src_URL"
rv_run 0 backup --json
snap2=$(rv_json_field snapshot)
# the new image's blobs and manifests: in packs of their own (one per
# fetch worker that got a blob, one for the manifests)
mapfile -t new_packs < <(cd "$STORE" && find packs -type f | sort | comm -13 <(printf '%s\n' "${packs_before[@]}") -)
(( ${#new_packs[@]} >= 1 )) || die "the second backup wrote no pack"
for p in "${new_packs[@]}"; do rm "$STORE/$p"; done
rv_run 4 drill --to broken --report "$RV_WORK/broken.md"
grep -q '^FAILED team-b/web:v2: ' "$RV_OUT" || die "stdout does not name team-b/web:v2: $(cat "$RV_OUT")"
rv_expect_eq "tags named FAILED on stdout" "$(grep -c '^FAILED' "$RV_OUT")" 1
grep -q 'team-b/web:v2' "$RV_ERR" || die "the error message does not name the tag: $(cat "$RV_ERR")"
summary=$(last_run_summary)
rv_expect_eq "recorded exit code" "$(sqlite3 "$CAT" "SELECT exit_code FROM runs WHERE kind = 'drill' ORDER BY id DESC LIMIT 1")" 4
rv_expect_eq "recorded snapshot" "$(jq -r .snapshot <<<"$summary")" "$snap2"
rv_expect_eq "recorded failures" "$(jq -r '[.failures[] | "\(.repository):\(.tag)"] | join(" ")' <<<"$summary")" team-b/web:v2
rv_expect_eq "tags that still check out" "$(jq -r .tags_ok <<<"$summary")" "$MK_SAMPLE_TAGS"
[[ -s $RV_WORK/broken.md ]] || die "no report file for the failed drill"
grep -q 'FAILED' "$RV_WORK/broken.md" || die "the report does not say FAILED"
grep -q 'team-b/web:v2' "$RV_WORK/broken.md" || die "the report does not name team-b/web:v2"
grep -q "$snap2" "$RV_WORK/broken.md" || die "the report does not name snapshot $snap2"
grep -qi 'repair' "$RV_WORK/broken.md" || die "the report does not say what to do"
pass "exit 4; team-b/web:v2, and only it, named on stdout, in the trail and in the report"
for t in latest stable; do
	got=$(rv_manifest_digest "$broken_URL" team-b/web "$t") || die "team-b/web:$t did not arrive beside the broken tag"
	[[ $got == "$(rv_manifest_digest "$src_URL" team-b/web "$t")" ]] || die "team-b/web:$t differs"
done
pass "the tags of team-b/web that do not need the lost pack were restored all the same"

step "the packs of the first backup go missing: every tag of every selected repository is named"
for p in "${packs_before[@]}"; do rm "$STORE/$p"; done
rv_run 4 drill --to lost --snapshot "$snap1" --repo 'team-a/**' --json --report "$RV_WORK/lost.md"
want=$(rv_repos "$src_URL" | grep '^team-a/' | while read -r r; do
	rv_tags "$src_URL" "$r" | sed "s|^|$r:|"
done | sort | tr '\n' ' ')
got=$(jq -r '.failures[] | "\(.repository):\(.tag)"' "$RV_OUT" | sort | tr '\n' ' ')
rv_expect_eq "tags named" "$got" "$want"
rv_expect_eq "tags_ok" "$(rv_json_field tags_ok)" 0
for t in $want; do
	grep -qF "$t" "$RV_WORK/lost.md" || die "the report does not name $t"
done
pass "every team-a tag is named in --json and in the report"

pass "all drill assertions hold"
