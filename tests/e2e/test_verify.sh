#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_verify.sh - `regvault verify` on two dir targets, real registries:
# - all levels pass on a healthy store;
# - one byte flipped inside a pack on one target: quick passes, hash and
#   deep exit 4 (the JSON outcome says repairable) naming the pack, the target, the tags that need
#   it and the target holding a good copy; the Markdown report names the pack
#   and says to repair; after `repair` every level passes;
# - keyless (no passphrase anywhere, key pinned by key.fingerprint or
#   --public-key, no catalog) finds the same damage and an altered seal;
# - a pack deleted from every target: exit 4 and exactly the tags that can no
#   longer be restored (computed here from the catalog with sqlite3), while a
#   restore of an unaffected repository still succeeds;
# - --history lists the runs.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to inspect the catalog"
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh
CAT=$RV_WORK/catalog.db
T1=$RV_WORK/store
T2=$RV_WORK/store2

# flip FILE: change one byte in the middle of FILE.
flip() {
	local size
	size=$(stat -c %s "$1")
	rv_flip_byte "$1" $((size / 2))
}

# verify_rc RC ARGS...: run verify and check its exit code and JSON outcome.
verify_rc() {
	local want=$1
	shift
	rv_run "$want" verify --json "$@"
	jq -e --argjson rc "$want" '.exit_code == $rc' "$RV_OUT" >/dev/null ||
		die "verify $*: JSON exit_code is $(jq .exit_code "$RV_OUT"), expected $want"
}

step "two targets, two backups"
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst
cat >>"$RV_CONFIG" <<EOF
  - name: second
    type: dir
    path: $T2
EOF
mkdir -p "$T2"
rv_run 0 --json init
fingerprint=$(rv_json_field fingerprint)
# 1 MiB packs, so that the store has enough packs to sample from
for t in "$T1" "$T2"; do
	jq '.pack_size = 1048576' "$t/regvault.json" >"$t/regvault.json.new"
	mv "$t/regvault.json.new" "$t/regvault.json"
done
rv_run 0 backup --json
snap1=$(rv_json_field snapshot)
sqlite3 "$CAT" ".backup '$RV_WORK/catalog.first'"
move_tag "$src_URL"
push_new "$src_URL"
rv_run 0 backup --json
snap2=$(rv_json_field snapshot)
# the packs the snapshots need (lib.sh: RV_NEEDED_PACKS)
mapfile -t packs < <(sqlite3 "$CAT" "$RV_NEEDED_PACKS ORDER BY p.pack_id")
((${#packs[@]} >= 4)) || die "expected at least 4 packs, got ${#packs[@]}"
# a pack only the second backup wrote: only team-b/web:v2 needs it
victim=$(sqlite3 "$CAT" "ATTACH '$RV_WORK/catalog.first' AS first;
	SELECT pack_id FROM packs WHERE pack_id NOT IN (SELECT pack_id FROM first.packs)
	AND pack_id IN ($RV_NEEDED_PACKS) ORDER BY size DESC LIMIT 1")
[[ -n $victim ]] || die "the second backup wrote no pack"
vname=packs/${victim:0:2}/$victim
pass "${#packs[@]} packs on both targets; the second backup's pack is ${victim:0:12}"

step "a healthy store passes every level"
for level in quick hash deep; do
	verify_rc 0 --level "$level"
	rv_expect_eq "$level: outcome" "$(rv_json_field outcome)" ok
	rv_expect_eq "$level: copies checked" "$(rv_json_field copies_checked)" $((2 * ${#packs[@]}))
done
rv_expect_eq "deep: blobs reassembled > 0" "$(jq '.blobs_checked > 0 and .chunks_checked > 0' "$RV_OUT")" true
rv_expect_eq "every copy has a verification time" \
	"$(sqlite3 "$CAT" "SELECT count(*) FROM pack_locations l JOIN packs p ON p.id = l.pack
	WHERE l.verified_at IS NULL AND p.pack_id IN ($RV_NEEDED_PACKS)")" 0

step "one byte flipped inside a pack on target 'second'"
cp "$T2/$vname" "$RV_WORK/victim.pack"
flip "$T2/$vname"
verify_rc 0 --level quick
pass "quick (listing and sizes) passes"
# what the catalog says needs the pack: the tags whose manifests are new
want_tags=$(sqlite3 "$CAT" "ATTACH '$RV_WORK/catalog.first' AS first;
	SELECT s.snap_id || ' ' || t.repo || ':' || t.tag FROM snapshot_tags t
	JOIN snapshots s ON s.id = t.snapshot JOIN manifests m ON m.id = t.manifest
	WHERE m.digest NOT IN (SELECT digest FROM first.manifests) ORDER BY 1")
rv_expect_eq "tags that need the new packs" "$want_tags" "$snap2 team-b/web:v2"
for level in hash deep; do
	verify_rc 4 --level "$level"
	rv_expect_eq "$level: outcome" "$(rv_json_field outcome)" repairable
	jq -e --arg n "$vname" '.damaged | length == 1 and .[0].name == $n and .[0].target == "second"
		and (.[0].reason | test("good copy is on .local."))' "$RV_OUT" >/dev/null ||
		die "$level: damaged is $(jq -c .damaged "$RV_OUT")"
	jq -e --arg p "$victim" '.at_risk | length == 1 and .[0].pack == $p and .[0].repairable
		and .[0].good_on == ["local"] and .[0].damaged_on == ["second"] and (.[0].lost | not)' \
		"$RV_OUT" >/dev/null || die "$level: at_risk is $(jq -c .at_risk "$RV_OUT")"
	got=$(jq -r '.at_risk[0].tags[] | "\(.snapshot) \(.repo):\(.tag)"' "$RV_OUT" | sort)
	rv_expect_eq "$level: tags that need the damaged pack" "$got" "$want_tags"
	rv_expect_eq "$level: nothing lost" "$(jq '.lost_tags | length' "$RV_OUT")" 0
done
rv_run 4 verify --level hash --report "$RV_WORK/report.md"
grep -q "damaged: $vname on 'second'" "$RV_OUT" || die "text output does not name the copy: $(cat "$RV_OUT")"
grep -q "team-b/web:v2" "$RV_OUT" || die "text output does not name the tag: $(cat "$RV_OUT")"
grep -q "regvault repair" "$RV_ERR" || die "no repair advice on stderr: $(cat "$RV_ERR")"
grep -q "$victim" "$RV_WORK/report.md" || die "the report does not name the pack"
grep -q "regvault repair" "$RV_WORK/report.md" || die "the report does not say to repair"
grep -q "team-b/web:v2" "$RV_WORK/report.md" || die "the report does not name the tag"
grep -qi "MB/s" "$RV_WORK/report.md" || die "the report has no throughput"
pass "hash and deep exit 4 naming the pack, target, tags and the good copy; the report says what to do"
# only the damaged target
verify_rc 0 --level hash --target local
verify_rc 4 --level hash --target second
rv_expect_eq "--target second: copies checked on it" \
	"$(jq '[.checked[] | select(.target == "second")] | length' "$RV_OUT")" "${#packs[@]}"

step "keyless: no passphrase, no catalog, only the pinned key"
kl_cfg=$RV_WORK/keyless.yml
{
	echo "catalog: $RV_WORK/nowhere/catalog.db"
	echo "key:"
	echo "  fingerprint: $fingerprint"
	sed -n '/^registries:/,$p' "$RV_CONFIG"
} >"$kl_cfg"
grep -q passphrase "$kl_cfg" && die "the keyless config names a passphrase"
klrun() { # RC ARGS...: regvault with the keyless config, no passphrase
	local want=$1 rc=0
	shift
	env -u REGVAULT_PASSWORD -u REGVAULT_PASSWORD_FILE "$REGVAULT" --config "$kl_cfg" "$@" \
		>"$RV_OUT" 2>"$RV_ERR" || rc=$?
	[[ $rc == "$want" ]] || { cat "$RV_OUT" "$RV_ERR" >&2; die "keyless regvault $* exited $rc, expected $want"; }
}
klrun 4 verify --level hash --keyless --json
jq -e --arg n "$vname" '.damaged | any(.name == $n and .target == "second")' "$RV_OUT" >/dev/null ||
	die "keyless: damaged is $(jq -c .damaged "$RV_OUT")"
jq -e --arg p "$victim" --arg s "$snap2" '.at_risk[0].pack == $p and .at_risk[0].repairable
	and (.at_risk[0].sealed_by | index($s) != null)' "$RV_OUT" >/dev/null ||
	die "keyless: at_risk is $(jq -c .at_risk "$RV_OUT")"
rv_expect_eq "keyless: seals verified" "$(rv_json_field seals_checked)" 4
rv_expect_eq "keyless: no catalog used" "$(jq -r .catalog "$RV_OUT")" false
[[ ! -e $RV_WORK/nowhere ]] || die "keyless verify created a catalog"
klrun 2 verify --level deep --keyless
# pinned by --public-key instead of the config
grep -v fingerprint "$kl_cfg" | sed '/^key:$/d' >"$RV_WORK/keyless-nopin.yml"
jq -r .signing.public_key "$T1/regvault.json" >"$RV_WORK/pub.hex"
kl_cfg=$RV_WORK/keyless-nopin.yml
klrun 2 verify --level hash --keyless
grep -q "pinned" "$RV_ERR" || die "an unpinned keyless run is not refused clearly: $(cat "$RV_ERR")"
klrun 4 verify --level hash --keyless --public-key "$RV_WORK/pub.hex"
echo "sha256:$(printf '%064d' 0)" >"$RV_WORK/wrong.fp"
klrun 4 verify --level hash --keyless --public-key "$RV_WORK/wrong.fp"
pass "keyless finds the damaged copy from the seals; an unpinned or wrong key is refused"

step "repair heals it; every level passes"
rv_run 0 repair --json
for level in quick hash deep; do
	verify_rc 0 --level "$level"
done
kl_cfg=$RV_WORK/keyless.yml
klrun 0 verify --keyless --json
pass "after repair: quick, hash, deep and keyless pass"

step "an altered seal"
seal=seals/$snap1
cp "$T2/$seal" "$RV_WORK/seal.orig"
sed -i 's/\\"time\\":1/\\"time\\":2/' "$T2/$seal"
cmp -s "$T2/$seal" "$RV_WORK/seal.orig" && die "fixture: the seal did not change"
jq -e . "$T2/$seal" >/dev/null || die "fixture: the altered seal is not JSON"
klrun 4 verify --keyless --json
jq -e --arg n "$seal" '.damaged | any(.name == $n and .target == "second" and (.reason | test("signature")))' \
	"$RV_OUT" >/dev/null || die "keyless: altered seal not reported: $(jq -c .damaged "$RV_OUT")"
cp "$T2/$seal" "$T1/$seal"
klrun 4 verify --keyless --json
jq -e --arg s "$snap1" '.lost_snapshots == [$s] and (.problems | any(.name == "snapshot " + $s))' "$RV_OUT" >/dev/null ||
	die "keyless: a seal altered everywhere is not lost: $(jq -c '{lost_snapshots, problems}' "$RV_OUT")"
# keyless beside the catalog (still no passphrase): the snapshot's tags
sed "s|^catalog: .*|catalog: $CAT|" "$kl_cfg" >"$RV_WORK/keyless-cat.yml"
kl_cfg=$RV_WORK/keyless-cat.yml
klrun 4 verify --keyless --json
rv_expect_eq "keyless with the catalog: catalog used" "$(rv_json_field catalog)" true
want_snap1=$(sqlite3 "$CAT" "SELECT count(*) FROM snapshot_tags t JOIN snapshots s ON s.id = t.snapshot
	WHERE s.snap_id = '$snap1'")
jq -e --arg s "$snap1" --argjson n "$want_snap1" '.lost_tags | length == $n and all(.snapshot == $s)' \
	"$RV_OUT" >/dev/null || die "the altered seal's $want_snap1 tags are not listed: $(jq -c .lost_tags "$RV_OUT")"
kl_cfg=$RV_WORK/keyless.yml
verify_rc 4 --level hash
cp "$RV_WORK/seal.orig" "$T1/$seal"
cp "$RV_WORK/seal.orig" "$T2/$seal"
klrun 0 verify --keyless
pass "an altered seal fails its signature: exit 4 (repairable) on one target, 4 (lost) on every target"

step "a pack deleted from every target"
rm "$T1/$vname" "$T2/$vname"
verify_rc 4 --level quick
verify_rc 4 --level hash
jq -e --arg p "$victim" '.at_risk | length == 1 and .[0].pack == $p and .[0].lost' "$RV_OUT" >/dev/null ||
	die "at_risk is $(jq -c .at_risk "$RV_OUT")"
got=$(jq -r '.lost_tags[] | "\(.snapshot) \(.repo):\(.tag)"' "$RV_OUT" | sort)
rv_expect_eq "tags that can no longer be restored" "$got" "$want_tags"
rv_expect_eq "lost snapshots" "$(jq -c .lost_snapshots "$RV_OUT")" "[\"$snap2\"]"
rv_run 4 verify --level hash
grep -q "can no longer be restored" "$RV_OUT" || die "text output: $(cat "$RV_OUT")"
klrun 4 verify --keyless --json
jq -e --arg p "$victim" --arg s "$snap2" '.at_risk[0].pack == $p and .at_risk[0].lost
	and .lost_snapshots == [$s]' "$RV_OUT" >/dev/null ||
	die "keyless: $(jq -c '{at_risk, lost_snapshots}' "$RV_OUT")"
rv_run 0 restore latest --to dst --repo 'team-a/**'
"$CHECK_EQUAL" "$src_URL" "$dst_URL" team-a/api team-a/worker team-a/tools/lint >/dev/null ||
	die "the restored team-a repositories differ from the source"
pass "exit 4 with exactly the lost tags; an unaffected repository still restores"
cp "$RV_WORK/victim.pack" "$T1/$vname"
cp "$RV_WORK/victim.pack" "$T2/$vname"

step "--history lists every run"
runs=$(sqlite3 "$CAT" "SELECT count(*) FROM runs WHERE kind = 'verify'")
((runs >= 15)) || die "only $runs verify runs recorded"
rv_run 0 verify --history --json
rv_expect_eq "history entries" "$(jq '[.[] | select(.kind == "verify")] | length' "$RV_OUT")" "$runs"
jq -e '.[0].exit_code == 4 and .[0].level == "hash" and .[0].outcome == "damaged"' "$RV_OUT" >/dev/null ||
	die "newest history entry: $(jq -c '.[0] | del(.summary)' "$RV_OUT")"
jq -e 'any(.exit_code == 4 and .outcome == "repairable") and any(.level == "deep")' "$RV_OUT" >/dev/null ||
	die "history lacks the repairable or deep runs"
rv_run 0 verify --history
grep -q "repairable" "$RV_OUT" && grep -q "all snapshots" "$RV_OUT" || die "text history: $(cat "$RV_OUT")"
pass "$runs runs in the history, newest first, with level, scope, outcome and exit code"
