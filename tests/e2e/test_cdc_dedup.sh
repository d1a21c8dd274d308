#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, ... are set by rv_start_registry
# test_cdc_dedup.sh - content-defined chunking deduplicates below blob
# level: an uncompressed 200 MiB layer, then a second image whose layer is
# the same bytes with 1 MiB inserted at 37 %. The second backup must store
# well under 20 MiB of new data (it fetches the whole new blob, of course),
# and both images restore digest-equal.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

size=$((200 << 20))
insert_at=$((size * 37 / 100))
layout=$RV_WORK/layout
oci_init "$layout"

# add_layer FILE: store FILE as an uncompressed layer blob; MK_DESC / MK_DIFFID
add_layer() {
	MK_DIFFID=sha256:$(sha256sum "$1" | cut -c1-64)
	_mk_store "$layout" "$1" "$MK_OCI_LAYER"
}
# image REF SEED LAYERFILE
image() {
	add_layer "$3"
	local layer=$MK_DESC diffid=$MK_DIFFID
	mk_config "$layout" "$2" linux amd64 "" "$diffid"
	mk_manifest "$layout" "$MK_DESC" "$layer"
	oci_ref "$layout" "$1" "$MK_DESC"
}

step "two 200 MiB uncompressed layers that differ by one inserted 1 MiB region"
mk_bytes cdc-base "$size" >"$RV_WORK/base.bin"
mk_bytes cdc-insert $((1 << 20)) >"$RV_WORK/insert.bin"
{
	head -c "$insert_at" "$RV_WORK/base.bin"
	cat "$RV_WORK/insert.bin"
	tail -c +$((insert_at + 1)) "$RV_WORK/base.bin"
} >"$RV_WORK/changed.bin"
rm -f "$RV_WORK/insert.bin"
image v1 cdc-v1 "$RV_WORK/base.bin"
image v2 cdc-v2 "$RV_WORK/changed.bin"

rv_start_registry src
rv_start_registry dst
push "$layout" v1 "$src_URL" big/model:v1
rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init
rv_run 0 backup --json
first=$(rv_json_field bytes_written)
note "first backup: $first bytes written"

push "$layout" v2 "$src_URL" big/model:v2
rv_run 0 backup --json
fetched=$(rv_json_field bytes_fetched)
written=$(rv_json_field bytes_written)
note "second backup: fetched $fetched bytes, wrote $written bytes"
[[ $fetched -ge $size ]] || die "the second backup did not fetch the new layer ($fetched bytes)"
[[ $written -lt $((20 << 20)) ]] || die "the second backup wrote $written bytes: no dedup below blob level"
pass "the changed 200 MiB layer added $((written / 1024)) KiB of new data (limit 20 MiB)"

rv_run 0 restore latest --to dst
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" >/dev/null
pass "both images restore digest-equal"
