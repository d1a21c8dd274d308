#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, ... are set by rv_start_registry
# test_backup_s3.sh - a snapshot written to a dir target and an s3 target
# (Ceph RGW, SigV4, Object Lock) at once:
#  - every pack and snapshot lands on both, byte for byte;
#  - with the dir target's packs deleted and one damaged, a restore reads
#    from s3 and is digest-equal;
#  - a config with only the s3 target restores digest-equal;
#  - with object_lock_days, the packs on the locked bucket cannot be deleted;
#  - forget + prune: the dir copies go, the locked copies wait in the queue
#    with their retain-until date, and no backup adopts them back;
#  - the S3 secret never appears in any output, the catalog or the store.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/s3lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

rv_start_registry src
rv_start_registry dst
rv_start_registry dst2
populate "$src_URL"
# ~80 MB more, so that the snapshot spans several packs
layout=$RV_WORK/big-layout
oci_init "$layout"
RV_LAYER_COMPRESS=none mk_image "$layout" big big linux amd64 "" big-a:41943040 big-b:41943040 big-c:41943040
push "$layout" big "$src_URL" heavy/app:1
rv_start_rgw
bucket=rv-$RANDOM$RANDOM
rv_s3_bucket "$bucket" lock

# one connection: the blobs go into packs in walk order, so the pack
# layout, and with it prune's figures, are the same on every run
rv_config --max-connections 1 "$RV_WORK/regvault.yml" src dst dst2
rv_s3_target_yaml offsite "$bucket" "prefix: regvault/" "object_lock_days: 1" >>"$RV_CONFIG"
all_out=$RV_WORK/all-output.txt
: >"$all_out"
keep() { cat "$RV_OUT" "$RV_ERR" >>"$all_out"; }

step "init and back up to both targets"
rv_run 0 init; keep
rv_run 0 backup --json; keep
packs=$(sqlite3 "$RV_WORK/catalog.db" "select pack_id from packs")
[[ $(wc -w <<<"$packs") -ge 3 ]] || die "expected at least 3 packs, got: $(wc -w <<<"$packs")"
for id in $packs; do
	n=$(sqlite3 "$RV_WORK/catalog.db" "select count(*) from pack_locations l join packs p on p.id = l.pack where p.pack_id = '$id'")
	[[ $n == 2 ]] || die "pack $id is recorded on $n target(s), expected 2"
	rv_s3 GET "/$bucket/regvault/packs/${id:0:2}/$id" -o "$RV_WORK/pack.s3"
	cmp -s "$RV_WORK/pack.s3" "$RV_WORK/store/packs/${id:0:2}/$id" || die "pack $id differs between the targets"
done
pass "every pack is on both targets, byte for byte ($(wc -w <<<"$packs") packs)"

step "object lock: a pack version on the locked bucket cannot be deleted"
first=$(head -n1 <<<"$packs")
version=$(rv_s3 GET "/$bucket?list-type=2&prefix=regvault%2Fpacks%2F${first:0:2}%2F" >/dev/null;
	curl -sS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -I "$S3_ENDPOINT/$bucket/regvault/packs/${first:0:2}/$first" |
		tr -d '\r' | sed -n 's/^x-amz-version-id: //Ip')
[[ -n $version ]] || die "no version id for the pack on the locked bucket"
code=$(curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$S3_REGION:s3" \
	--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
	-X DELETE "$S3_ENDPOINT/$bucket/regvault/packs/${first:0:2}/$first?versionId=$version")
rv_expect_eq "HTTP status of deleting a locked pack version" "$code" 403

step "damage the dir target: delete two packs, flip a byte in a third"
i=0
for id in $packs; do
	f=$RV_WORK/store/packs/${id:0:2}/$id
	case $i in
	0 | 1) rm -f "$f" ;;
	2) rv_flip_byte "$f" 700 ;;
	esac
	i=$((i + 1))
done
rv_run 0 restore latest --to dst; keep
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL" >/dev/null
pass "with the dir target damaged, the restore read from s3 and is digest-equal"

step "repair heals the dir target from the s3 copies"
rv_run 0 repair --json; keep
for id in $packs; do
	f=$RV_WORK/store/packs/${id:0:2}/$id
	[[ -f $f ]] || die "after repair, pack $id is still missing on the dir target"
	[[ $(sha256sum <"$f" | cut -c1-64) == "$id" ]] || die "after repair, pack $id on the dir target does not hash to its id"
	rv_s3 GET "/$bucket/regvault/packs/${id:0:2}/$id" -o "$RV_WORK/pack.s3"
	[[ $(sha256sum <"$RV_WORK/pack.s3" | cut -c1-64) == "$id" ]] || die "pack $id on s3 does not hash to its id"
done
for n in $(sqlite3 "$RV_WORK/catalog.db" "select count(*) from pack_locations"); do
	rv_expect_eq "pack locations recorded after repair" "$n" $((2 * $(wc -w <<<"$packs")))
done
pass "both targets hold every pack intact after repair"
rv_run 0 repair --json; keep
rv_expect_eq "files copied by a second repair" "$(jq '.copied | length' "$RV_OUT")" 0

step "a config with only the s3 target"
only=$RV_WORK/s3-only.yml
{
	sed -n '1,/^targets:/p' "$RV_CONFIG"
	rv_s3_target_yaml offsite "$bucket" "prefix: regvault/"
} >"$only"
sed -i "s|^catalog: .*|catalog: $RV_WORK/catalog.db|" "$only"
"$REGVAULT" --config "$only" restore latest --to dst2 >"$RV_OUT" 2>"$RV_ERR" || {
	cat "$RV_ERR" >&2
	die "restore with only the s3 target failed"
}
keep
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst2_URL" >/dev/null
pass "a restore from the s3 target alone is digest-equal"

step "forget + prune with a locked bucket: dir copies go, locked copies stay queued"
heavy_packs=$(sqlite3 "$RV_WORK/catalog.db" "select distinct p.pack_id from packs p
	join chunks c on c.pack = p.id join blob_chunks bc on bc.chunk = c.id
	join blobs b on b.id = bc.blob join manifest_refs r on r.digest = b.digest
	join manifests m on m.id = r.manifest join snapshot_tags t on t.manifest = m.id
	where t.repo = 'heavy/app'")
[[ -n $heavy_packs ]] || die "no pack holds heavy/app's layers"
sed -i 's|^  - registry: src$|  - registry: src\n    exclude: ["heavy/**"]|' "$RV_CONFIG"
REGVAULT_TEST_NOW=$(($(date +%s) + 60)) rv_run 0 backup --json; keep
REGVAULT_TEST_NOW=$(($(date +%s) + 120)) rv_run 0 forget --keep-last 1 --json; keep
rv_expect_eq "snapshots forgotten" "$(rv_json_field forgotten)" 1
rv_run 0 prune --json; keep
(($(rv_json_field packs_deleted) >= 1)) || die "prune deleted no pack"
for id in $heavy_packs; do
	[[ ! -e $RV_WORK/store/packs/${id:0:2}/$id ]] || die "pack $id is still on the dir target"
	rv_s3 HEAD "/$bucket/regvault/packs/${id:0:2}/$id" -I -o /dev/null ||
		die "pack $id vanished from the locked bucket"
	why=$(jq -r --arg id "$id" '.pending[] | select(.pack == $id and .target == "offsite") | .why' "$RV_OUT")
	[[ $why == *"retained by Object Lock until"* ]] || die "pack $id: pending reason '$why'"
	[[ $(sqlite3 "$RV_WORK/catalog.db" "select count(*) from packs where pack_id = '$id'") == 0 ]] ||
		die "pack $id is still in the catalog"
done
pass "the heavy packs left the dir target and the catalog; on the locked bucket they wait: $why"
rv_run 0 prune --dry-run --json; keep
rv_expect_eq "copies still queued" "$(jq '[.pending[] | select(.target == "offsite")] | length' "$RV_OUT")" \
	"$(wc -w <<<"$heavy_packs")"
REGVAULT_TEST_NOW=$(($(date +%s) + 180)) rv_run 0 backup --json; keep
for id in $heavy_packs; do
	[[ $(sqlite3 "$RV_WORK/catalog.db" "select count(*) from packs where pack_id = '$id'") == 0 ]] ||
		die "backup adopted pack $id back, which prune had dropped"
done
rv_run 0 verify --json; keep
rv_expect_eq "verify after prune with a locked bucket" "$(rv_json_field outcome)" ok

step "the secret appears nowhere"
grep -qaF "$S3_SECRET_KEY" "$all_out" && die "the S3 secret appears in regvault's output"
grep -qaF "$S3_SECRET_KEY" "$RV_WORK"/catalog.db* && die "the S3 secret appears in the catalog"
grep -rqaF "$S3_SECRET_KEY" "$RV_WORK/store" && die "the S3 secret appears in the store"
pass "the S3 secret is in no output, not in the catalog, not in the store"
