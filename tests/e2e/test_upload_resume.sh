#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_upload_resume.sh - a chunked upload whose connection drops mid-PATCH
# recovers: a restore into an empty registry through a proxy that forwards
# only the first 300000 bytes of the first PATCH of an upload and then
# closes both connections (upload_chunk_mb: 1, a ~6 MiB incompressible
# layer) exits 0, the proxy log shows the cut, regvault logs how it went
# on (resumed at the registry's offset, or started the upload again when
# the registry lost it), and the restored tag is digest-equal to the source.
#
# What distribution 2.8 does (seen here): it keeps the 300000 bytes of the
# cut PATCH (its log: "client disconnected during blob PATCH ...
# copied=300000") and answers it 500; the status GET on the Location then
# finds the file at 300000 bytes but the Location's _state at offset 0
# ("upload resumed at wrong offest: 300000 != 0"), cancels the upload and
# answers 404 BLOB_UPLOAD_INVALID. So regvault starts it again with a new
# POST; the proxy cuts at most one PATCH (--cut-patch-max 1), else every
# new upload's first PATCH would be cut too.
#
# Then a cut that delivers no body byte (--cut-patch 0, the head only): the
# registry's file still matches _state, the status query answers 204 with
# its Range, and regvault resumes in the same upload session.
#
# Needs RV_FAULTPROXY (the rv_faultproxy binary; looked for beside $REGVAULT
# in a CMake build tree, tests/tools/, when unset).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

rv_need_faultproxy

CUT_PATCH=300000
CHUNK=1048576



count() {
	grep -cE "$1" "$2" || true
}

step "a source with one image: a ~6 MiB incompressible layer"
# 8 MiB of layer content, 3/4 incompressible: skopeo gzips the layer on its
# way to the registry, which leaves about 6.3 MB
rv_start_registry src
rv_start_logged_registry dst
layout=$RV_WORK/big-layout
oci_init "$layout"
RV_LAYER_COMPRESS=none mk_image "$layout" big big linux amd64 "" big-a:8388608
push "$layout" big "$src_URL" big/app:1
rm -rf "$layout"
big=$(rv_get_manifest "$src_URL" big/app 1 | jq -r '.layers[0].digest')
big_size=$(rv_get_manifest "$src_URL" big/app 1 | jq -r '.layers[0].size')
((big_size > 5 * CHUNK)) || die "fixture: the big layer has $big_size bytes"
want_chunks=$(((big_size + CHUNK - 1) / CHUNK))
note "layer $big: $big_size bytes, $want_chunks chunks of 1 MiB"

step "backup"
# the destination is registry "via": the proxy in front of dst
rv_start_faultproxy via "$dst_HOST" --cut-patch "$CUT_PATCH" --cut-patch-max 1
note "proxy at $via_URL: the first PATCH of the first upload is cut after $CUT_PATCH bytes"
rv_config "$RV_WORK/regvault.yml" src via
sed -i "s|^    url: $via_URL\$|&\n    upload_chunk_mb: 1|" "$RV_CONFIG"
grep -q 'upload_chunk_mb: 1' "$RV_CONFIG" || die "could not set upload_chunk_mb in the config"
rv_run 0 init
rv_run 0 backup --json
rv_expect_eq "backup tags" "$(rv_json_field tags)" 1

step "restore through the proxy that cuts the first PATCH"
rv_run 0 restore latest --to via --json
cp "$RV_OUT" "$RV_WORK/restore.json"
cp "$RV_ERR" "$RV_WORK/restore.err"
rv_expect_eq "restore tags" "$(rv_json_field tags)" 1
chunks=$(rv_json_field chunks_sent)
log=$via_LOG
n_cut=$(count "^cut PATCH /v2/big/app/blobs/uploads/[^ ]* $CUT_PATCH of [0-9]+$" "$log")
n_patch=$(count '^pass PATCH ' "$log")
note "proxy: $n_cut cut PATCH(es), $n_patch PATCH(es) passed; regvault: chunks_sent $chunks"
grep -E '^(cut|pass) (PATCH|GET /v2/big/app/blobs/uploads)' "$log" | sed 's/^/#      /' || true
rv_expect_eq "PATCHes cut by the proxy" "$n_cut" 1
((n_patch >= want_chunks)) || die "only $n_patch PATCHes passed for $want_chunks chunks"

step "what regvault logged"
err=$RV_WORK/restore.err
sed 's/^/#      /' "$err"
l_resume=$(count "registry 'via': upload of $big to 'big/app' resumes at byte [0-9]+ \(the connection dropped\)" "$err")
l_restart=$(count "registry 'via': upload of $big to 'big/app' is gone from the registry after byte 0 \(the connection dropped; HTTP 404 on its status\); starting it again from byte 0 \(restart 1 of [0-9]+\)" "$err")
note "regvault: $l_resume resume line(s), $l_restart restart line(s), chunks_sent $chunks for $want_chunks chunks"
rv_expect_eq "a resume or restart line per cut" "$((l_resume + l_restart))" "$n_cut"
((chunks >= want_chunks)) || die "chunks_sent $chunks, below the layer's $want_chunks chunks"
if ((l_resume)); then
	((chunks > want_chunks)) || die "resumed, but chunks_sent $chunks is not above $want_chunks"
	pass "the upload resumed in the same session; chunks_sent $chunks > $want_chunks"
else
	pass "the registry lost the cut upload; regvault started it again from byte 0"
fi
if grep -qiE 'authorization|bearer|password' "$err"; then
	die "the log mentions credentials"
fi

step "what the registry saw"
rlog=$RV_WORK/dst/registry.log
grep -E '"(PATCH|GET|PUT|POST|DELETE) /v2/big/app/blobs/uploads' "$rlog" |
	sed -E 's/.*"((PATCH|GET|PUT|POST|DELETE) [^ ?]*)[^ ]* HTTP\/1\.1" ([0-9]+) ([0-9]+).*/#      \1 \3 \4/' || true
grep -iE 'level=(error|warn).*(upload|PATCH|offset)' "$rlog" | cut -c1-300 | sed 's/^/#      /' || true

step "the restored tag is digest-equal to the source"
"$CHECK_EQUAL" "$src_URL" "$dst_URL" big/app || die "restored registry differs from the source"
curl -fsS "$dst_URL/v2/big/app/blobs/$big" | sha256sum | grep -q "^${big#sha256:} " ||
	die "the restored layer does not hash to its digest"
pass "destination is digest-equal to the source"

step "a cut before any body byte: the upload resumes in the same session"
rv_start_logged_registry dst2
rv_start_faultproxy via2 "$dst2_HOST" --cut-patch 0
rv_config "$RV_WORK/regvault2.yml" src via2
sed -i "s|^    url: $via2_URL\$|&\n    upload_chunk_mb: 1|" "$RV_CONFIG"
grep -q 'upload_chunk_mb: 1' "$RV_CONFIG" || die "could not set upload_chunk_mb in the config"
rv_run 0 restore latest --to via2 --json
rv_expect_eq "restore tags" "$(rv_json_field tags)" 1
chunks=$(rv_json_field chunks_sent)
n_cut=$(count "^cut PATCH /v2/big/app/blobs/uploads/[^ ]* 0 of [0-9]+$" "$via2_LOG")
rv_expect_eq "PATCHes cut by the proxy (head only)" "$n_cut" 1
grep -E '^regvault: (warning: )?registry' "$RV_ERR" | sed 's/^/#      /' || true
l_resume=$(count "registry 'via2': upload of $big to 'big/app' resumes at byte 0 \(the connection dropped\)" "$RV_ERR")
l_restart=$(count "registry 'via2': upload of .* starting it again" "$RV_ERR")
rv_expect_eq "resume lines" "$l_resume" 1
rv_expect_eq "restart lines" "$l_restart" 0
rv_expect_eq "chunks_sent (the cut PATCH is not counted)" "$chunks" "$want_chunks"
n_post=$(grep -cE '"POST /v2/big/app/blobs/uploads/ HTTP/1\.1" 202' "$RV_WORK/dst2/registry.log" || true)
rv_expect_eq "upload sessions opened (config blob + layer)" "$n_post" 2
"$CHECK_EQUAL" "$src_URL" "$dst2_URL" big/app || die "restored registry differs from the source"
pass "destination is digest-equal to the source"

pass "all upload resume assertions hold"
