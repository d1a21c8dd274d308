#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_kill_resume.sh - a backup killed with SIGKILL at several moments and
# run again finishes the job with nothing lost: the final snapshot restores
# digest-equal, the catalog passes PRAGMA integrity_check, every pack the
# catalog records is on the target with its recorded size and hash, no
# unfinished pack is left in staging, and blobs fetched before a kill are
# not fetched again.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

step "a source with ~120 MB of incompressible layers (several packs), plus the sample set"
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
layout=$RV_WORK/big-layout
oci_init "$layout"
RV_LAYER_COMPRESS=none mk_image "$layout" big1 big1 linux amd64 "" big-a:41943040 big-b:41943040
RV_LAYER_COMPRESS=none mk_image "$layout" big2 big2 linux amd64 "" big-a:41943040 big-c:41943040
push "$layout" big1 "$src_URL" heavy/app:1
push "$layout" big2 "$src_URL" heavy/app:2
rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init
catalog=$RV_WORK/catalog.db
staging=$catalog.staging

kills=0
for delay in 0.1 0.2 0.35 0.5 0.65 0.8; do
	"$REGVAULT" --config "$RV_CONFIG" -q backup >/dev/null 2>"$RV_WORK/kill.err" &
	pid=$!
	sleep "$delay"
	if kill -9 "$pid" 2>/dev/null; then
		kills=$((kills + 1))
	fi
	wait "$pid" 2>/dev/null || true
	# Between runs: whatever the catalog records must be on the target.
	while IFS='|' read -r id size; do
		f=$RV_WORK/store/packs/${id:0:2}/$id
		[[ -f $f ]] || die "after a kill at ${delay}s the catalog records pack $id, which is not on the target"
		[[ $(stat -c %s "$f") == "$size" ]] || die "pack $id has the wrong size on the target"
		[[ $(sha256sum <"$f" | cut -c1-64) == "$id" ]] || die "pack $id does not hash to its id"
	done < <(sqlite3 "$catalog" "select pack_id, size from packs")
	[[ $(sqlite3 "$catalog" "pragma integrity_check") == ok ]] || die "catalog integrity_check failed after a kill"
done
# One more, killed as soon as the catalog records a pack (however slow this
# build is), so the final run has something to resume from.
"$REGVAULT" --config "$RV_CONFIG" -q backup >/dev/null 2>"$RV_WORK/kill.err" &
pid=$!
for _ in $(seq 600); do
	n=$(sqlite3 "$catalog" "select count(*) from blobs" 2>/dev/null || echo 0)
	[[ ${n:-0} -gt 0 ]] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
wait "$pid" 2>/dev/null || true
[[ $(sqlite3 "$catalog" "pragma integrity_check") == ok ]] || die "catalog integrity_check failed after a kill"
note "killed $kills run(s) mid-way"
[[ $kills -ge 3 ]] || die "only $kills runs were still running when killed: the test did not test anything"

step "run to completion"
blobs_before=$(sqlite3 "$catalog" "select count(*) from blobs")
rv_run 0 backup --json
fetched=$(rv_json_field blobs_fetched)
total=$(rv_blob_set "$src_URL" | wc -l)
note "blobs recorded before the final run: $blobs_before; fetched by it: $fetched; in the registry: $total"
# every blob the registry holds is in the catalog now: recorded by a
# killed run, adopted from a pack a killed run finished but did not
# record, or fetched by this one
missing=0
while read -r d; do
	[[ $(sqlite3 "$catalog" "select count(*) from blobs where digest = '$d'") == 1 ]] || missing=$((missing + 1))
done < <(rv_blob_set "$src_URL")
rv_expect_eq "registry blobs missing from the catalog" "$missing" 0
[[ $blobs_before -gt 0 ]] || die "no blob survived the killed runs: resume was not exercised"
[[ $fetched -lt $total ]] || die "the final run fetched every blob again ($fetched of $total)"
pass "blobs stored by killed runs were not fetched again ($fetched of $total fetched at the end)"
leftover=$(find "$staging" -name '.pack.*' 2>/dev/null | wc -l)
rv_expect_eq "unfinished packs left in staging" "$leftover" 0
rv_expect_eq "catalog integrity_check" "$(sqlite3 "$catalog" 'pragma integrity_check')" ok
orphans=$(sqlite3 "$catalog" "select count(*) from chunks c left join packs p on p.id = c.pack where p.id is null")
rv_expect_eq "chunks pointing at unrecorded packs" "$orphans" 0

step "restore the snapshot and compare with skopeo"
rv_run 0 restore latest --to dst
bash "$SOURCE_DIR/tests/e2e/check_equal.sh" "$src_URL" "$dst_URL"
pass "killed backups resumed; the final snapshot restores digest-equal"
