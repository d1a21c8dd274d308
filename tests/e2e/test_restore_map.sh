#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_restore_map.sh - restore under other repository names (--map), with the
# shared base layer uploaded once and mounted everywhere else (counted in the
# destination registry's access log); --at picks the snapshot of a time; --tag
# restores one tag's old state; a differing destination tag is kept without
# --force (dry run: "would change") and overwritten with it; chunked uploads
# (upload_chunk_mb: 1) go up in PATCH requests and stay digest-equal.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary


# map_name REPO: the name the two mappings of this test give REPO.
map_name() {
	case $1 in
	team-a/*) echo "dr/$1" ;;
	a/*) echo "x/${1#a/}" ;;
	*) echo "$1" ;;
	esac
}

T1=2026-11-23T12:00:00Z
T2=2026-11-24T10:00:00Z
T3=2026-11-25T12:00:00Z
epoch() { date -u -d "$1" +%s; }

step "start registries and fill the source (sample set + one layer of several MiB)"
rv_start_registry src
rv_start_logged_registry dst
rv_start_registry hist
rv_start_logged_registry chk
populate "$src_URL"
big_layout=$RV_WORK/big-layout
oci_init "$big_layout"
mk_image "$big_layout" big big linux amd64 "" big:5242880
push "$big_layout" big "$src_URL" big/blob:1
want_tags=$((MK_SAMPLE_TAGS + 1))
rv_config "$RV_WORK/regvault.yml" src dst hist chk
# chk takes uploads in 1 MiB PATCH chunks
sed -i "s|^    url: $chk_URL\$|&\n    upload_chunk_mb: 1|" "$RV_CONFIG"
grep -q 'upload_chunk_mb: 1' "$RV_CONFIG" || die "could not set upload_chunk_mb in the config"
rv_run 0 init

step "three backups at simulated times"
REGVAULT_TEST_NOW=$(epoch $T1) rv_run 0 backup --json
snap1=$(rv_json_field snapshot)
rv_expect_eq "first backup tags" "$(rv_json_field tags)" "$want_tags"
# the source as it was at T1, for the comparisons below
declare -A at1=()
while read -r repo; do
	while read -r tag; do
		at1["$repo:$tag"]=$(rv_manifest_digest "$src_URL" "$repo" "$tag")
	done < <(rv_tags "$src_URL" "$repo")
done < <(rv_repos "$src_URL")
[[ ${#at1[@]} == "$want_tags" ]] || die "source holds ${#at1[@]} tags, expected $want_tags"
v1=${at1[team-a/api:v1]}
v2=${at1[team-a/api:v2]}
[[ ${at1[team-a/api:prod]} == "$v2" && $v1 != "$v2" ]] || die "fixture: team-a/api:prod is not v2"
move_tag "$src_URL" # team-a/api:prod -> v1
REGVAULT_TEST_NOW=$(epoch $T2) rv_run 0 backup --json
snap2=$(rv_json_field snapshot)
push_new "$src_URL" # team-b/web:v2
REGVAULT_TEST_NOW=$(epoch $T3) rv_run 0 backup --json
snap3=$(rv_json_field snapshot)
[[ $snap1 != "$snap2" && $snap2 != "$snap3" && $snap1 != "$snap3" ]] ||
	die "three backups gave snapshots $snap1 $snap2 $snap3"
pass "snapshots at T1 ${snap1:0:12}, T2 ${snap2:0:12}, T3 ${snap3:0:12}"

step "restore --map into an empty registry"
rv_run 0 restore "$snap1" --to dst --map 'team-a/=dr/team-a/' --map 'a/=x/' --json
rv_expect_eq "mapped restore tags" "$(rv_json_field tags)" "$want_tags"
rv_expect_eq "mapped restore verified" "$(rv_json_field verified)" "$want_tags"
rv_expect_eq "mapped restore chunks_sent (64 MiB default)" "$(rv_json_field chunks_sent)" 0
mounted=$(rv_json_field blobs_mounted)
pushed=$(rv_json_field blobs_pushed)
bad=0
for key in "${!at1[@]}"; do
	repo=${key%:*} tag=${key##*:}
	to=$(map_name "$repo")
	got=$(rv_manifest_digest "$dst_URL" "$to" "$tag") || got=absent
	if [[ $got != "${at1[$key]}" ]]; then
		echo "MISMATCH $key -> $to:$tag: $got, source ${at1[$key]}" >&2
		bad=$((bad + 1))
	fi
done
rv_expect_eq "tags differing under their mapped names" "$bad" 0
got_repos=$(rv_repos "$dst_URL" | sort | tr '\n' ' ')
want_repos=$( (rv_repos "$src_URL" | while read -r r; do map_name "$r"; done) | sort | tr '\n' ' ')
rv_expect_eq "destination repositories" "$got_repos" "$want_repos"
[[ -z $(rv_tags "$dst_URL" team-a/api 2>/dev/null) ]] || die "team-a/api exists unmapped on the destination"
pass "no repository under its unmapped name"

# the shared base layer: one upload, mounts from the destination names
base=$(rv_get_manifest "$src_URL" a/b/c 1.0 | jq -r '.layers[0].digest')
hex=${base#sha256:}
log=$RV_WORK/dst/registry.log
base_repos=$(rv_blob_pairs "$src_URL" | grep -c " $base\$" || true)
n_up=$(grep -cE "\"PUT /v2/[^ ]*/blobs/uploads/[^ ]*digest=sha256(%3A|:)${hex}[^ ]* HTTP/1\\.1\" 201" "$log" || true)
n_mount=$(grep -cE "\"POST /v2/[^ ]*/blobs/uploads/\\?mount=sha256(%3A|:)${hex}[^ ]* HTTP/1\\.1\" 201" "$log" || true)
n_mount_from=$(grep -E "\"POST /v2/[^ ]*/blobs/uploads/\\?mount=sha256(%3A|:)${hex}[^ ]* HTTP/1\\.1\" 201" "$log" |
	grep -cE 'from=x(%2F|/)b(%2F|/)c' || true)
all_up=$(grep -cE "\"PUT /v2/[^ ]*/blobs/uploads/[^ ]*digest=[^ ]* HTTP/1\\.1\" 201" "$log" || true)
all_mount=$(grep -cE "\"POST /v2/[^ ]*/blobs/uploads/\\?mount=[^ ]* HTTP/1\\.1\" 201" "$log" || true)
note "registry log: $all_up blob uploads, $all_mount mounts; base layer: $n_up upload(s), $n_mount mount(s) in $base_repos repositories"
rv_expect_eq "uploads of the base layer" "$n_up" 1
rv_expect_eq "mounts of the base layer (every other repository with it)" "$n_mount" $((base_repos - 1))
rv_expect_eq "base layer mounts from x/b/c (the destination's name of a/b/c)" "$n_mount_from" $((base_repos - 1))
rv_expect_eq "uploads in the log = blobs_pushed" "$all_up" "$pushed"
rv_expect_eq "mounts in the log = blobs_mounted" "$all_mount" "$mounted"

step "a mapping to an invalid name is refused before anything is pushed"
rv_run 2 restore "$snap1" --to hist --map 'team-a/=DR/' --json
grep -q "not a valid repository name" "$RV_ERR" || die "no message naming the invalid name: $(cat "$RV_ERR")"
rv_expect_eq "repositories in hist after a refused mapping" "$(rv_repos "$hist_URL" | wc -l)" 0
rv_run 2 restore "$snap1" --to hist --map 'nonsense'

step "--at picks the newest snapshot at or before a time"
for pair in "2026-11-23T12:00:00Z $snap1" "2026-11-24T09:59:59Z $snap1" "$(epoch $T2) $snap2" \
	"2026-11-24T12:00:00+01:00 $snap2" "2026-11-24T23:00:00.5Z $snap2" "2030-01-01T00:00:00Z $snap3"; do
	t=${pair% *} want=${pair#* }
	rv_run 0 restore --at "$t" --dry-run --json
	rv_expect_eq "--at $t" "$(rv_json_field snapshot)" "$want"
done
rv_run 1 restore --at 2026-11-23T11:59:59Z --dry-run
grep -q "no snapshot" "$RV_ERR" || die "--at before every snapshot: $(cat "$RV_ERR")"
pass "--at before the first snapshot is refused"
rv_run 2 restore latest --at "$T2" --dry-run
rv_run 2 restore --at 2026-02-30T00:00:00Z --dry-run
rv_run 2 restore --at yesterday --dry-run

step "--tag restores one tag's old state"
rv_run 0 restore --at 2026-11-24T09:00:00Z --tag team-a/api:prod --to hist --json
rv_expect_eq "--tag restore tags" "$(rv_json_field tags)" 1
rv_expect_eq "team-a/api:prod as it was at T1" "$(rv_manifest_digest "$hist_URL" team-a/api prod)" "$v2"
rv_expect_eq "repositories in hist" "$(rv_repos "$hist_URL" | tr '\n' ' ')" "team-a/api "
rv_expect_eq "tags of team-a/api in hist" "$(rv_tags "$hist_URL" team-a/api | tr '\n' ' ')" "prod "
rv_run 1 restore latest --tag team-a/api:nope --to hist
grep -q "no tag 'team-a/api:nope'" "$RV_ERR" || die "a missing --tag is not named: $(cat "$RV_ERR")"
pass "a --tag missing from the snapshot is refused"

step "a differing destination tag is kept without --force"
rv_run 0 restore latest --tag team-a/api:prod --to hist --dry-run
grep -qF "team-a/api:prod -> $v1: would change (dest has $v2, snapshot has $v1)" "$RV_OUT" ||
	die "dry run does not say 'would change': $(cat "$RV_OUT")"
pass "dry run: would change (dest has v2, snapshot has v1)"
rv_run 0 restore latest --tag team-a/api:prod --tag team-a/api:v2 --to hist --json
rv_expect_eq "tags_kept" "$(rv_json_field tags_kept)" 1
rv_expect_eq "tags_overwritten" "$(rv_json_field tags_overwritten)" 0
rv_expect_eq "tags (v2 created)" "$(rv_json_field tags)" 1
grep -q "left alone" "$RV_ERR" || die "no note about the kept tag: $(cat "$RV_ERR")"
rv_expect_eq "team-a/api:prod still the destination's" "$(rv_manifest_digest "$hist_URL" team-a/api prod)" "$v2"
rv_run 0 restore latest --tag team-a/api:prod --tag team-a/api:v2 --to hist --dry-run
grep -qF "team-a/api:v2 -> $v2: unchanged" "$RV_OUT" || die "dry run does not say 'unchanged': $(cat "$RV_OUT")"
rv_run 0 restore latest --tag team-a/api:prod --to hist --force --json
rv_expect_eq "tags_overwritten with --force" "$(rv_json_field tags_overwritten)" 1
rv_expect_eq "team-a/api:prod overwritten" "$(rv_manifest_digest "$hist_URL" team-a/api prod)" "$v1"
rv_run 0 restore latest --tag team-a/api:prod --to hist --json
rv_expect_eq "tags_unchanged after the overwrite" "$(rv_json_field tags_unchanged)" 1
rv_expect_eq "manifests pushed for an unchanged tag" "$(rv_json_field manifests_pushed)" 0

step "chunked uploads: upload_chunk_mb: 1"
big=$(rv_get_manifest "$src_URL" big/blob 1 | jq -r '.layers[0].digest')
big_size=$(rv_get_manifest "$src_URL" big/blob 1 | jq -r '.layers[0].size')
((big_size > 3 * 1024 * 1024)) || die "fixture: the big layer has $big_size bytes"
rv_run 0 restore latest --repo 'big/**' --to chk --json
chunks=$(rv_json_field chunks_sent)
want_chunks=$(((big_size + 1048575) / 1048576))
rv_expect_eq "chunks_sent for a $big_size-byte layer in 1 MiB chunks" "$chunks" "$want_chunks"
n_patch=$(grep -cE '"PATCH /v2/big/blob/blobs/uploads/[^ ]* HTTP/1\.1" 202' "$RV_WORK/chk/registry.log" || true)
rv_expect_eq "PATCH requests in the registry log" "$n_patch" "$want_chunks"
"$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$chk_URL" big/blob || die "chunked restore differs"
curl -fsS "$chk_URL/v2/big/blob/blobs/$big" | sha256sum | grep -q "^${big#sha256:} " ||
	die "the chunked layer does not hash to its digest"
pass "the chunked layer is digest-equal"

pass "all restore mapping assertions hold"
