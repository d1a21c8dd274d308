#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_verify_sample.sh - `verify --sample 10` reads a tenth of the packs per
# target per run, least recently verified first, so that ten runs cover every
# copy of every pack on every target (checked both in the catalog's
# pack_locations.verified_at and in the runs' JSON lists of what they
# checked); a damaged copy found by a sample is reported like any other.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to inspect the catalog"
CAT=$RV_WORK/catalog.db
T1=$RV_WORK/store
T2=$RV_WORK/store2

step "two targets, 1 MiB packs, two backups"
rv_start_registry src
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src
cat >>"$RV_CONFIG" <<EOF
  - name: second
    type: dir
    path: $T2
EOF
mkdir -p "$T2"
rv_run 0 init
for t in "$T1" "$T2"; do
	jq '.pack_size = 1048576' "$t/regvault.json" >"$t/regvault.json.new"
	mv "$t/regvault.json.new" "$t/regvault.json"
done
rv_run 0 backup
push_new "$src_URL"
rv_run 0 backup
# the copies verify checks: those of packs some blob reads (lib.sh)
needed_copies="SELECT count(*) FROM pack_locations l JOIN packs p ON p.id = l.pack
	WHERE p.pack_id IN ($RV_NEEDED_PACKS)"
n=$(sqlite3 "$CAT" "SELECT count(*) FROM ($RV_NEEDED_PACKS)")
((n >= 4)) || die "expected at least 4 packs, got $n"
copies=$(sqlite3 "$CAT" "$needed_copies")
rv_expect_eq "pack copies (every pack on both targets)" "$copies" $((2 * n))
rv_expect_eq "copies never verified" "$(sqlite3 "$CAT" "$needed_copies AND l.verified_at IS NULL")" "$copies"
per_run=$(((n * 10 + 99) / 100))

step "ten runs of --sample 10 cover every copy"
: >"$RV_WORK/checked"
for run in $(seq 1 10); do
	rv_run 0 verify --sample 10 --json
	rv_expect_eq "run $run: copies checked" "$(rv_json_field copies_checked)" $((2 * per_run))
	jq -r '.checked[] | select(.result == "good") | "\(.pack) \(.target)"' "$RV_OUT" >>"$RV_WORK/checked"
done
rv_expect_eq "distinct copies the ten runs checked" "$(sort -u "$RV_WORK/checked" | wc -l)" "$copies"
rv_expect_eq "copies never verified after ten runs" \
	"$(sqlite3 "$CAT" "$needed_copies AND l.verified_at IS NULL")" 0
pass "ten runs at 10% verified all $copies copies of $n packs ($per_run pack(s) per target per run)"

step "the oldest verification goes first"
oldest=$(sqlite3 "$CAT" "SELECT p.pack_id FROM pack_locations l JOIN packs p ON p.id = l.pack
	JOIN targets t ON t.id = l.target WHERE t.name = 'second'
	AND p.pack_id IN ($RV_NEEDED_PACKS) ORDER BY l.verified_at, p.pack_id LIMIT 1")
sqlite3 "$CAT" "UPDATE pack_locations SET verified_at = 1 WHERE pack = (SELECT id FROM packs WHERE pack_id = '$oldest')
	AND target = (SELECT id FROM targets WHERE name = 'second')"
rv_run 0 verify --sample 10 --target second --json
rv_expect_eq "the sample on 'second' is its least recently verified pack" \
	"$(jq -r '[.checked[] | select(.target == "second")] | map(.pack) | join(" ")' "$RV_OUT")" "$oldest"

step "a damaged copy found by a sample"
victim=$(sqlite3 "$CAT" "SELECT p.pack_id FROM pack_locations l JOIN packs p ON p.id = l.pack
	JOIN targets t ON t.id = l.target WHERE t.name = 'local'
	AND p.pack_id IN ($RV_NEEDED_PACKS) ORDER BY l.verified_at, p.pack_id LIMIT 1")
# (runs in the same second leave ties, broken at random: make it the oldest)
sqlite3 "$CAT" "UPDATE pack_locations SET verified_at = 2 WHERE pack = (SELECT id FROM packs WHERE pack_id = '$victim')
	AND target = (SELECT id FROM targets WHERE name = 'local')"
before=2
f=$T1/packs/${victim:0:2}/$victim
printf '\x00\x01' | dd of="$f" bs=1 seek=700 conv=notrunc status=none
rv_run 4 verify --sample 10 --target local --json
jq -e --arg p "$victim" '.at_risk | length == 1 and .[0].pack == $p and .[0].good_on == ["second"]' "$RV_OUT" >/dev/null ||
	die "the sampled damage: $(jq -c .at_risk "$RV_OUT")"
rv_expect_eq "a damaged copy keeps its old verification time" \
	"$(sqlite3 "$CAT" "SELECT l.verified_at FROM pack_locations l JOIN packs p ON p.id = l.pack
	JOIN targets t ON t.id = l.target WHERE t.name = 'local' AND p.pack_id = '$victim'")" "$before"
rv_run 4 verify --sample 10 --target local --json
rv_expect_eq "so the next sample checks it again" \
	"$(jq -r '[.checked[] | select(.target == "local")][0].pack' "$RV_OUT")" "$victim"
pass "a sample reports damage as a full run does, and rechecks it until it is repaired"
