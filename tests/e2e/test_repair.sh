#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_repair.sh - two dir targets; one loses a pack, a snapshot record (and
# its seal), its key slot and regvault.json and holds a flipped byte in
# another pack and in another snapshot record:
# `repair --dry-run` reports it all and changes nothing; `repair` copies only
# copies that check out, after which both targets hold the same files and a
# restore from the healed target alone is digest-equal. Packs a killed run
# left behind are adopted (and the next backup fetches nothing); a pack that
# does not check out is reported for removal and not copied; a pack damaged
# everywhere is reported lost (exit 4) with the snapshots that need it.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to inspect the catalog"
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh
CAT=$RV_WORK/catalog.db
T1=$RV_WORK/store
T2=$RV_WORK/store2

# tree_sums DIR: "sha256  relative/path" of every file under DIR, sorted.
tree_sums() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

# packs_intact DIR: every pack file hashes to its name.
packs_intact() {
	local f n=0
	while IFS= read -r -d '' f; do
		[[ $(sha256sum "$f" | cut -c1-64) == "$(basename "$f")" ]] || die "$f does not hash to its name"
		n=$((n + 1))
	done < <(find "$1/packs" -type f -print0)
	echo "$n"
}

# flip FILE: change one byte in the middle of FILE.
flip() {
	local size
	size=$(stat -c %s "$1")
	rv_flip_byte "$1" $((size / 2))
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
rv_run 0 init
rv_run 0 backup
sqlite3 "$CAT" ".backup '$RV_WORK/catalog.first'"
move_tag "$src_URL"
push_new "$src_URL"
rv_run 0 backup --json
snap2=$(rv_json_field snapshot)
diff <(tree_sums "$T1") <(tree_sums "$T2") >/dev/null || die "the two targets differ after the backups"
mapfile -t packs < <(cd "$T2" && find packs -type f | sort)
((${#packs[@]} >= 2)) || die "expected at least 2 packs, got ${#packs[@]}"
pass "both targets hold the same ${#packs[@]} packs"

step "damage target 'second'"
rm "$T2/${packs[0]}"
flip "$T2/${packs[1]}"
snap_rm=$(cd "$T2" && find snapshots -type f | sort | head -n 1)
rm "$T2/$snap_rm"
key_rm=$(cd "$T2" && find keys -type f | head -n 1)
rm "$T2/$key_rm" "$T2/regvault.json"
expect_copies=5
seal_rm=
if [[ -f $T2/seals/${snap_rm#snapshots/} ]]; then # a signing store
	seal_rm=seals/${snap_rm#snapshots/}
	rm "$T2/$seal_rm"
	expect_copies=6
fi
# a record altered on 'second': the copy on 'local' opens with the key
snap_bad=$(cd "$T2" && find snapshots -type f | sort | tail -n 1)
[[ $snap_bad != "$snap_rm" ]] || die "fixture: expected two snapshot records"
flip "$T2/$snap_bad"
expect_copies=$((expect_copies + 1))
tree_sums "$T2" >"$RV_WORK/t2.damaged"

step "repair --dry-run reports and changes nothing"
rv_run 0 repair --dry-run --json
rv_expect_eq "dry run flag" "$(rv_json_field dry_run)" true
for f in "${packs[0]}" "${packs[1]}" "$snap_rm" "$snap_bad" "$key_rm" regvault.json $seal_rm; do
	jq -e --arg f "$f" '.copied | any(.name == $f and .target == "second" and (.reason | startswith("would copy from")))' \
		"$RV_OUT" >/dev/null || die "dry run does not report copying $f: $(jq -c .copied "$RV_OUT")"
done
jq -e --arg f "${packs[1]}" '.damaged | any(.name == $f and .target == "second")' "$RV_OUT" >/dev/null ||
	die "dry run does not report the damaged pack: $(jq -c .damaged "$RV_OUT")"
jq -e --arg f "$snap_bad" '.damaged | any(.name == $f and .target == "second" and .reason == "does not open with the key")' \
	"$RV_OUT" >/dev/null || die "dry run does not report the altered record: $(jq -c .damaged "$RV_OUT")"
diff "$RV_WORK/t2.damaged" <(tree_sums "$T2") >/dev/null || die "the dry run changed target 'second'"
pass "dry run reports $expect_copies copies and the damaged pack; the target is unchanged"

# A config naming only target 'second', for the restore below.
awk -v t2="$T2" '
	/^targets:/ { print; print "  - name: second"; print "    type: dir"; print "    path: " t2; skip = 1; next }
	skip != 1 { print }' "$RV_CONFIG" >"$RV_WORK/second-only.yml"
grep -q "$T1\$" "$RV_WORK/second-only.yml" && die "second-only config still names the first target"

step "repair"
if [[ ${RV_SANITIZE:-0} != 1 && ${RV_SANITIZE:-} != ON ]] && command -v valgrind >/dev/null; then
	rc=0
	valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		"$REGVAULT" --config "$RV_CONFIG" repair --json >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	[[ $rc == 0 ]] || { cat "$RV_ERR" >&2; die "repair under valgrind exited $rc"; }
	pass "repair runs clean under valgrind"
else
	rv_run 0 repair --json
fi
rv_expect_eq "repair complete" "$(rv_json_field complete)" true
rv_expect_eq "copies made" "$(jq '.copied | length' "$RV_OUT")" "$expect_copies"
rv_expect_eq "lost" "$(jq '.lost | length' "$RV_OUT")" 0
n1=$(packs_intact "$T1")
n2=$(packs_intact "$T2")
rv_expect_eq "packs on 'second' (each hashes to its name)" "$n2" "$n1"
diff <(tree_sums "$T1") <(tree_sums "$T2") || die "the targets differ after the repair"
pass "both targets hold the same files"
rv_expect_eq "pack locations (every pack on both targets)" \
	"$(sqlite3 "$CAT" 'SELECT count(*) FROM pack_locations WHERE verified_at IS NOT NULL')" $((2 * n1))
rv_run 0 repair --json
rv_expect_eq "a second repair copies nothing" "$(jq '.copied | length' "$RV_OUT")" 0

step "restore using only target 'second'"
"$REGVAULT" --config "$RV_WORK/second-only.yml" restore latest --to dst >"$RV_OUT" 2>"$RV_ERR" ||
	{ cat "$RV_ERR" >&2; die "restore from 'second' failed"; }
"$CHECK_EQUAL" "$src_URL" "$dst_URL" || die "restore from 'second' alone differs"
pass "restore from the healed target alone is digest-equal"

step "rebuild the catalog from 'second'; repair records the other target again"
rv_run 0 snapshots --json
cp "$RV_OUT" "$RV_WORK/snapshots.before"
rv_run 0 catalog rebuild --from second --force
rv_run 0 snapshots --json
diff -u "$RV_WORK/snapshots.before" "$RV_OUT" || die "snapshots differ after a rebuild from 'second'"
rv_expect_eq "locations after the rebuild" "$(sqlite3 "$CAT" 'SELECT count(*) FROM pack_locations')" "$n1"
rv_run 0 repair --json
rv_expect_eq "locations added by repair" "$(rv_json_field locations_added)" "$n1"
rv_expect_eq "copies made" "$(jq '.copied | length' "$RV_OUT")" 0

step "adoption: a run killed after its upload"
# The catalog from before the second backup knows none of its packs; the
# second snapshot's record and seal go too (a killed run never wrote them).
rm -f "$CAT" "$CAT-wal" "$CAT-shm"
cp "$RV_WORK/catalog.first" "$CAT"
rm -f "$T1/snapshots/$snap2" "$T2/snapshots/$snap2" "$T1/seals/$snap2" "$T2/seals/$snap2"
known=$(sqlite3 "$CAT" 'SELECT count(*) FROM packs')
unknown=$((n1 - known))
((unknown >= 1)) || die "fixture: the second backup wrote no pack"
# and a file that looks like a pack but is not one
head -c 4096 /dev/urandom >"$RV_WORK/junk"
junk_id=$(sha256sum "$RV_WORK/junk" | cut -c1-64)
mkdir -p "$T1/packs/${junk_id:0:2}"
cp "$RV_WORK/junk" "$T1/packs/${junk_id:0:2}/$junk_id"
rv_run 0 repair --json
rv_expect_eq "packs adopted" "$(jq '.adopted | length' "$RV_OUT")" "$unknown"
rv_expect_eq "packs known now" "$(sqlite3 "$CAT" 'SELECT count(*) FROM packs')" "$n1"
jq -e --arg id "$junk_id" '.removable | any(.name | endswith($id))' "$RV_OUT" >/dev/null ||
	die "the junk pack is not reported for removal: $(jq -c .removable "$RV_OUT")"
[[ -f $T1/packs/${junk_id:0:2}/$junk_id ]] || die "the junk pack was deleted"
[[ ! -e $T2/packs/${junk_id:0:2}/$junk_id ]] || die "the junk pack was copied"
pass "unknown packs adopted; the junk one reported for removal, neither deleted nor copied"
rv_run 0 backup --json
rv_expect_eq "backup after adoption: blobs_fetched" "$(rv_json_field blobs_fetched)" 0
rv_expect_eq "backup after adoption: manifests_fetched" "$(rv_json_field manifests_fetched)" 0
rv_expect_eq "backup after adoption: packs_written" "$(rv_json_field packs_written)" 0
rm "$T1/packs/${junk_id:0:2}/$junk_id"
rmdir "$T1/packs/${junk_id:0:2}" 2>/dev/null || true

step "a pack damaged on both targets is lost: exit 4, named"
lost=${packs[0]}
flip "$T1/$lost"
flip "$T2/$lost"
rv_run 4 repair --json
rv_expect_eq "lost objects" "$(jq '.lost | length' "$RV_OUT")" 1
rv_expect_eq "lost pack" "$(jq -r '.lost[0].name' "$RV_OUT")" "$lost"
jq -e '.lost[0].reason | test("needed by snapshot")' "$RV_OUT" >/dev/null ||
	die "the lost pack's snapshots are not named: $(jq -c .lost "$RV_OUT")"
grep -q "no good copy" "$RV_ERR" || die "no error line: $(cat "$RV_ERR")"
rv_expect_eq "locations of the lost pack" \
	"$(sqlite3 "$CAT" "SELECT count(*) FROM pack_locations l JOIN packs p ON p.id = l.pack WHERE p.pack_id = '$(basename "$lost")'")" 0
rv_run 4 repair
grep -q "^lost: $lost" "$RV_OUT" || die "text report does not name the lost pack: $(cat "$RV_OUT")"
pass "the lost pack is named, with the snapshots that need it"
