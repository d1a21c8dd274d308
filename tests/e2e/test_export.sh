#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_export.sh - `regvault export` writes OCI layouts and archives that
# skopeo reads: team-a/api (every tag) as an oci-archive and multi/arch:latest
# (an index of 3 platforms) as an oci layout copy into fresh registries with
# the source's manifest digests; blob files are named by their hash; a second
# export to the same folder is refused; an export killed mid-way (SIGKILL)
# or interrupted (SIGINT) leaves nothing under the final name.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

# copy SRC_REF DST_URL REPO:TAG: skopeo copy of a whole image (all platforms).
copy() {
	skopeo copy --quiet --all --dest-tls-verify=false "$1" \
		"docker://${2#*://}/$3" >/dev/null 2>"$RV_WORK/skopeo.err" || {
		cat "$RV_WORK/skopeo.err" >&2
		die "skopeo copy $1 -> $3 failed"
	}
}

# check_blob_names DIR: every file in blobs/sha256 hashes to its name.
check_blob_names() {
	local f n=0
	for f in "$1"/blobs/sha256/*; do
		[[ $(sha256sum <"$f" | cut -c1-64) == "$(basename "$f")" ]] ||
			die "$f does not hash to its name"
		n=$((n + 1))
	done
	pass "$n blob file(s) in $(basename "$1") hash to their names"
}

step "back up the sample set and a bigger image"
rv_start_registry src
rv_start_registry a
rv_start_registry b
populate "$src_URL"
big=$RV_WORK/big-layout
oci_init "$big"
RV_LAYER_COMPRESS=none mk_image "$big" big1 big1 linux amd64 "" big-a:41943040 big-b:41943040 big-c:41943040
push "$big" big1 "$src_URL" heavy/app:1
rv_config "$RV_WORK/regvault.yml" src a b
rv_run 0 init
rv_run 0 backup --json
snap=$(rv_json_field snapshot)

step "export team-a/api (every tag) as an oci-archive"
archive=$RV_WORK/out/api.tar
mkdir -p "$RV_WORK/out"
rv_run 0 export latest --repo team-a/api --oci-archive "$archive" --json
rv_expect_eq "archive tags" "$(rv_json_field tags)" 3
rv_expect_eq "archive format" "$(rv_json_field format)" oci-archive
rv_expect_eq "archive snapshot" "$(rv_json_field snapshot)" "$snap"
[[ -f $archive ]] || die "no archive at $archive"
tar -tf "$archive" | sort >"$RV_WORK/tar.list"
grep -qx 'oci-layout' "$RV_WORK/tar.list" || die "archive lacks oci-layout"
grep -qx 'index.json' "$RV_WORK/tar.list" || die "archive lacks index.json"
if grep -v -E '^(oci-layout|index\.json|blobs/|blobs/sha256/|blobs/sha256/[0-9a-f]{64})$' "$RV_WORK/tar.list"; then
	die "archive holds unexpected entries (above)"
fi
mkdir "$RV_WORK/untar"
tar -xf "$archive" -C "$RV_WORK/untar"
check_blob_names "$RV_WORK/untar"
rv_expect_eq "oci-layout" "$(cat "$RV_WORK/untar/oci-layout")" '{"imageLayoutVersion":"1.0.0"}'
rv_expect_eq "index.json ref names" \
	"$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$RV_WORK/untar/index.json" | sort | tr '\n' ' ')" \
	"prod v1 v2 "
leftover=$(find "$RV_WORK/out" -name '.api.tar*' | wc -l)
rv_expect_eq "temporary archive files left" "$leftover" 0

step "skopeo copies every tag of the archive into a fresh registry"
for tag in v1 v2 prod; do
	copy "oci-archive:$archive:$tag" "$a_URL" "team-a/api:$tag"
done
for tag in v1 v2 prod; do
	rv_expect_eq "team-a/api:$tag digest after oci-archive copy" \
		"$(rv_manifest_digest "$a_URL" team-a/api "$tag")" \
		"$(rv_manifest_digest "$src_URL" team-a/api "$tag")"
done
"$CHECK_EQUAL" "$src_URL" "$a_URL" team-a/api || die "oci-archive copy differs from the source"

step "export multi/arch:latest (an index of 3 platforms) as an oci layout"
layout=$RV_WORK/out/multi
rv_run 0 export "${snap:0:12}" --repo multi/arch:latest --oci-layout "$layout" --json
rv_expect_eq "layout tags" "$(rv_json_field tags)" 1
rv_expect_eq "layout manifests (index + 3)" "$(rv_json_field manifests)" 4
rv_expect_eq "layout blobs (3 configs + base + 3 layers)" "$(rv_json_field blobs)" 7
check_blob_names "$layout"
rv_expect_eq "layout ref name" \
	"$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$layout/index.json")" latest
rv_expect_eq "layout index descriptor digest" \
	"$(jq -r '.manifests[0].digest' "$layout/index.json")" \
	"$(rv_manifest_digest "$src_URL" multi/arch latest)"
[[ -z $(find "$RV_WORK/out" -maxdepth 1 -name 'multi.tmp-*') ]] || die "temporary layout folder left beside $layout"
copy "oci:$layout:latest" "$b_URL" multi/arch:latest
rv_expect_eq "multi/arch:latest digest after oci layout copy" \
	"$(rv_manifest_digest "$b_URL" multi/arch latest)" \
	"$(rv_manifest_digest "$src_URL" multi/arch latest)"
for child in $(rv_get_manifest "$src_URL" multi/arch latest | jq -r '.manifests[].digest'); do
	rv_manifest_digest "$b_URL" multi/arch "$child" >/dev/null ||
		die "child manifest $child missing after the layout copy"
done
pass "all 3 platform manifests copied by digest"

step "a Docker schema 2 image exports with its own media type (legacy/docker:v1)"
rv_run 0 export latest --repo legacy/docker:v1 --oci-layout "$RV_WORK/out/legacy"
rv_expect_eq "legacy descriptor media type" \
	"$(jq -r '.manifests[0].mediaType' "$RV_WORK/out/legacy/index.json")" \
	application/vnd.docker.distribution.manifest.v2+json
# skopeo's oci: transport skips non-OCI descriptors when given a ref name,
# but takes a layout's only image when given none
copy "oci:$RV_WORK/out/legacy" "$b_URL" legacy/docker:v1
rv_expect_eq "legacy/docker:v1 digest after oci layout copy" \
	"$(rv_manifest_digest "$b_URL" legacy/docker v1)" \
	"$(rv_manifest_digest "$src_URL" legacy/docker v1)"

step "refusals: an existing layout, a missing tag, bad arguments"
before=$(rv_tree_sums "$layout" | sha256sum)
rv_run 2 export latest --repo multi/arch:latest --oci-layout "$layout"
grep -q "not empty" "$RV_ERR" || die "second export: no 'not empty' message: $(cat "$RV_ERR")"
rv_expect_eq "layout untouched by the refused export" "$(rv_tree_sums "$layout" | sha256sum)" "$before"
mkdir "$RV_WORK/out/empty"
rv_run 0 export latest --repo team-a/worker --oci-layout "$RV_WORK/out/empty"
[[ -f $RV_WORK/out/empty/index.json ]] || die "export into an empty folder wrote no index.json"
pass "an existing empty folder is filled"
rv_run 1 export latest --repo team-a/api:nope --oci-layout "$RV_WORK/out/nope"
[[ ! -e $RV_WORK/out/nope ]] || die "a failed export left $RV_WORK/out/nope"
rv_run 2 export latest --repo team-a/api --oci-layout "$RV_WORK/out/x" --oci-archive "$RV_WORK/out/x.tar"
rv_run 2 export latest --repo 'team-a/api:../../etc' --oci-layout "$RV_WORK/out/x"
rv_run 2 export latest --oci-layout "$RV_WORK/out/x"
rv_run 2 export latest --repo team-a/api --oci-archive "$RV_WORK/out"
[[ ! -e $RV_WORK/out/x ]] || die "a refused export left $RV_WORK/out/x"
pass "bad requests refused, nothing written"

step "an archive is replaced whole"
old=$(sha256sum <"$archive")
rv_run 0 export latest --repo team-a/api:v1 --oci-archive "$archive"
[[ $(sha256sum <"$archive") != "$old" ]] || die "the archive was not replaced"
rv_expect_eq "replaced archive ref names" \
	"$(tar -xOf "$archive" index.json | jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]')" v1

# start_export KIND OUT: an export of heavy/app in the background (sets
# pid), returned once its temporary folder or file holds a blob's bytes.
start_export() {
	local kind=$1 out=$2 i tmp
	"$REGVAULT" --config "$RV_CONFIG" -q export latest --repo heavy/app \
		"--oci-$kind" "$out" >/dev/null 2>"$RV_WORK/export.err" &
	pid=$!
	for ((i = 0; i < 1000; i++)); do
		if [[ $kind == layout ]]; then
			tmp=$(find "$(dirname "$out")" -path "$out.tmp-*/blobs/sha256/*" -size +1M 2>/dev/null | head -1)
		else
			tmp=$(find "$(dirname "$out")" -name ".$(basename "$out").*" -size +1M 2>/dev/null | head -1)
		fi
		[[ -n $tmp ]] && return 0
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.01
	done
}

step "an export killed mid-way (SIGKILL) leaves nothing under the final name"
mkdir -p "$RV_WORK/kill"
kills=0
for kind in layout archive layout archive; do
	out=$RV_WORK/kill/$kind-$kills
	start_export "$kind" "$out"
	if kill -9 "$pid" 2>/dev/null; then
		kills=$((kills + 1))
	fi
	wait "$pid" 2>/dev/null || true
	[[ ! -e $out ]] || die "an export killed mid-way left $out"
done
note "killed $kills export(s) mid-way"
[[ $kills -ge 3 ]] || die "only $kills exports were still running when killed: the test did not test anything"
note "temporary leftovers beside the final names (never final): $(find "$RV_WORK/kill" -mindepth 1 -maxdepth 1 | wc -l)"
pass "no partial export under a final name"

step "an export interrupted with SIGINT removes its temporary files"
mkdir -p "$RV_WORK/int"
for kind in layout archive; do
	out=$RV_WORK/int/$kind
	rc=0
	start_export "$kind" "$out"
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	[[ $rc != 0 ]] || die "the $kind export finished before SIGINT: the test did not test anything"
	grep -q interrupted "$RV_WORK/export.err" || die "SIGINT: no 'interrupted' message: $(cat "$RV_WORK/export.err")"
	rv_expect_eq "files left after an interrupted $kind export" "$(find "$RV_WORK/int" -mindepth 1 | wc -l)" 0
done

step "the big image exports whole and copies digest-equal"
rv_run 0 export latest --repo heavy/app:1 --oci-archive "$RV_WORK/big.tar" --json
copy "oci-archive:$RV_WORK/big.tar:1" "$a_URL" heavy/app:1
rv_expect_eq "heavy/app:1 digest after oci-archive copy" \
	"$(rv_manifest_digest "$a_URL" heavy/app 1)" \
	"$(rv_manifest_digest "$src_URL" heavy/app 1)"

# start_registry_urls NAME: a registry that takes manifests whose foreign
# layers name https URLs.
start_registry_urls() {
	rv_start_registry "$1" "validation:\n  manifests:\n    urls:\n      allow:\n        - ^https://"
}

step "a foreign layer is left out of blobs/ and skopeo copies the image without it"
start_registry_urls fsrc
start_registry_urls fdst
fl=$RV_WORK/foreign-layout
oci_init "$fl"
mk_layer "$fl" foreign-own 65536
own_layer=$MK_DESC
own_diffid=$MK_DIFFID
fdig=sha256:$(printf 'not stored anywhere' | sha256sum | cut -c1-64)
fdesc=$(jq -cn --arg d "$fdig" '{mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	digest: $d, size: 1234, urls: ["https://example.invalid/foreign.tar.gz"]}')
mk_config "$fl" foreign linux amd64 "" "$own_diffid" "$fdig"
mk_manifest "$fl" "$MK_DESC" "$own_layer" "$fdesc"
oci_ref "$fl" f1 "$MK_DESC"
push "$fl" f1 "$fsrc_URL" foreign/app:1
rv_config --store "$RV_WORK/store-f" --catalog "$RV_WORK/catalog-f.db" "$RV_WORK/regvault-f.yml" fsrc fdst
rv_run 0 init
rv_run 0 backup
rv_run 0 export latest --repo foreign/app --oci-layout "$RV_WORK/out/foreign"
grep -q "left out 1 foreign layer" "$RV_OUT" || die "export did not say it left a foreign layer out: $(cat "$RV_OUT")"
[[ ! -e $RV_WORK/out/foreign/blobs/sha256/${fdig#sha256:} ]] || die "the foreign layer is in blobs/"
[[ -f $RV_WORK/out/foreign/blobs/sha256/$(jq -r .digest <<<"$own_layer" | cut -c8-) ]] || die "the image's own layer is missing"
rv_run 0 export latest --repo foreign/app --oci-archive "$RV_WORK/out/foreign.tar" --json
rv_expect_eq "foreign_layers" "$(rv_json_field foreign_layers)" 1
copy "oci:$RV_WORK/out/foreign:1" "$fdst_URL" foreign/app:1
rv_expect_eq "foreign/app:1 digest after oci layout copy" \
	"$(rv_manifest_digest "$fdst_URL" foreign/app 1)" \
	"$(rv_manifest_digest "$fsrc_URL" foreign/app 1)"
pass "export works"
