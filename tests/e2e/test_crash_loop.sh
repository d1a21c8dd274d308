#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_crash_loop.sh - backup, prune and restore killed with SIGKILL at random
# moments, over and over, and run again: nothing is ever lost or half-written.
#
#	RV_LONG=1        long mode: 300 backup kills, 100 prune kills, 100 restore
#	                 kills (default, the CI mode: 30, 10 and 10; about 3 min on
#	                 2 cores, Debug build)
#	RV_CRASH_SEED=N  seed of the random kill delays (default 8008; printed at
#	                 the start: set it to replay a failure). Each phase reseeds
#	                 $RANDOM (seed, seed+1, seed+2), so a phase replays alone.
#
# The source: the sample set plus ~120 MB of incompressible layers, packs of
# 4 MiB (many pack boundaries: put on the target, then recorded). The backup
# engine fetches blobs over several connections at once, so kills land in
# its worker threads too. A kill lands at a delay drawn uniformly within 1.25
# times the duration of an uninterrupted run of the same command (measured
# here first); within a backup or restore round each next delay is drawn
# within half the previous range (a re-run has less left to do, and kills
# reach its start: adoption, staging cleanup); after 4 kills a run goes
# uninterrupted.
#
# After every kill (backup, prune, restore):
#   - the catalog passes PRAGMA integrity_check and foreign_key_check, and no
#     chunk points at an unrecorded pack;
#   - every pack the catalog records is on the target with its recorded size;
#     every snapshot it records has its record and seal on the target;
#   - every file under a final name on the target is whole: a pack hashes to
#     its name, a snapshot record has its frame's exact length, a seal and a
#     lock are JSON, a key slot's name is the hash of its bytes (temporary
#     files begin with '.');
#   - prune: `verify --level quick` passes (the kept snapshot's packs are all
#     there); restore: every tag already on the destination has the source's
#     digest.
# Backup: rounds, each from a fresh store (init): kill, check, re-run, until
# a run completes; then staging holds no unfinished pack and every pack on
# the target is in the catalog (adopted). At the end a last backup (fetches
# nothing), `verify --level deep` and a restore compared with check_equal.sh.
# Prune: a store where `forget --keep-last 1` drops every older snapshot and a 32 MiB
# layer (packs to delete and to repack); each round restarts from a copy of
# it and kills `forget --keep-last 1 --prune` (even rounds) or `prune` after
# an uninterrupted forget (odd rounds) until it completes: one snapshot left,
# nothing queued, `verify --level deep` passes; the last round restores
# digest-equal. Unfinished packs a killed prune leaves in staging are noted
# (the next backup must remove them: checked).
# Restore: each round into an empty registry, killed and re-run until it
# completes, then check_equal.sh.
# Checked after each completed run, failing the test at the end (the loop
# goes on, so one run shows them all): no temporary file ('.'-name) a killed
# run began is left on the target; after a completed prune the target holds
# no pack the catalog does not know (a killed prune's repacked output).
# Prints: FIGURES crash_loop: seed, kills and rounds per command, survived,
# what was left behind, wall time.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to inspect the catalog"
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

SEED=${RV_CRASH_SEED:-8008}
[[ $SEED =~ ^[0-9]+$ ]] || die "RV_CRASH_SEED must be a number"
if [[ ${RV_LONG:-0} == 1 ]]; then
	MODE=long
	declare -A WANT=([backup]=300 [prune]=100 [restore]=100)
else
	MODE=ci
	declare -A WANT=([backup]=30 [prune]=10 [restore]=10)
fi
declare -A KILLS=([backup]=0 [prune]=0 [restore]=0)
declare -A ROUNDS=([backup]=0 [prune]=0 [restore]=0)
declare -A OUTRAN=([backup]=0 [prune]=0 [restore]=0) # finished before the kill
declare -A DUR=()
# failures that do not stop the loop: reported (and failing the test) at the end
DEFERRED=()
# a round gets at most this many kills; then a run goes to completion
MAX_KILLS_PER_ROUND=4
T_START=$(date +%s)
# step MSG: lib.sh's, with the seconds since the start
step() {
	echo "---- [$(($(date +%s) - T_START)) s] $*"
}
echo "#    crash loop: mode $MODE, seed $SEED (RV_CRASH_SEED=$SEED replays it), binary $REGVAULT"

CAT=$RV_WORK/catalog.db
STORE=$RV_WORK/store
STAGING=$CAT.staging
declare -A HASHED=()

now_ms() {
	local s
	s=$(date +%s%N)
	echo $((s / 1000000))
}

# secs MS: MS milliseconds as seconds for sleep/timeout
secs() {
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# frame_whole FILE: FILE is one whole frame: RVF1 magic and exactly
# 56 + body_len + 16 * nseg bytes (FORMAT.md, "Frames").
frame_whole() {
	local f=$1 size magic body=0 b nseg
	size=$(stat -c %s "$f")
	((size >= 56)) || return 1
	magic=$(head -c 4 "$f")
	[[ $magic == RVF1 ]] || return 1
	for b in $(od -An -tu1 -j16 -N8 "$f"); do
		body=$((body * 256 + b))
	done
	nseg=$(((body + 1048575) / 1048576))
	((nseg >= 1)) || nseg=1
	((size == 56 + body + 16 * nseg))
}

# check_target WHERE: every file under a final name on the target is whole.
check_target() {
	local where=$1 f rel name size key
	while IFS= read -r -d '' f; do
		rel=${f#"$STORE"/}
		name=${rel##*/}
		case $rel in
		packs/*)
			[[ $rel =~ ^packs/([0-9a-f]{2})/([0-9a-f]{64})$ &&
				${BASH_REMATCH[1]} == "${BASH_REMATCH[2]:0:2}" ]] ||
				die "$where: unexpected file '$rel' under packs/"
			size=$(stat -c %s "$f")
			key=$rel:$size
			if [[ -z ${HASHED[$key]:-} ]]; then
				[[ $(sha256sum <"$f" | cut -c1-64) == "$name" ]] ||
					die "$where: '$rel' ($size bytes) under its final name does not hash to its id: a half-written pack"
				HASHED[$key]=1
			fi
			;;
		snapshots/*)
			frame_whole "$f" || die "$where: '$rel' under its final name is not one whole frame"
			;;
		seals/*)
			jq -e '(.seal | type == "string") and (.signature | test("^[0-9a-f]{128}$"))' \
				"$f" >/dev/null 2>&1 || die "$where: '$rel' under its final name is not a whole seal: $(head -c 200 "$f")"
			;;
		keys/*)
			[[ $(sha256sum <"$f" | cut -c1-16) == "$name" ]] ||
				die "$where: key slot '$rel' does not hash to its name"
			;;
		locks/*)
			jq -e '.command and .pid' "$f" >/dev/null 2>&1 ||
				die "$where: lock '$rel' under its final name is not a lock document: $(head -c 200 "$f")"
			;;
		regvault.json)
			jq -e '.store_id and .format' "$f" >/dev/null || die "$where: regvault.json is not whole"
			;;
		*) die "$where: unexpected file '$rel' on the target" ;;
		esac
	done < <(find "$STORE" -type f ! -name '.*' -print0)
}

# check_catalog WHERE: the catalog is sound and names only what the target has.
check_catalog() {
	local where=$1 id size f n snap
	[[ -f $CAT ]] || die "$where: the catalog is gone"
	n=$(sqlite3 "$CAT" 'PRAGMA integrity_check')
	[[ $n == ok ]] || die "$where: catalog integrity_check: $n"
	n=$(sqlite3 "$CAT" 'PRAGMA foreign_key_check' | wc -l)
	[[ $n == 0 ]] || die "$where: catalog foreign_key_check: $(sqlite3 "$CAT" 'PRAGMA foreign_key_check' | head -5)"
	n=$(sqlite3 "$CAT" "select count(*) from chunks c left join packs p on p.id = c.pack where p.id is null")
	[[ $n == 0 ]] || die "$where: $n chunk(s) point at unrecorded packs"
	while IFS='|' read -r id size; do
		f=$STORE/packs/${id:0:2}/$id
		[[ -f $f ]] || die "$where: the catalog records pack $id, which is not on the target"
		[[ $(stat -c %s "$f") == "$size" ]] ||
			die "$where: pack $id is $(stat -c %s "$f") bytes on the target, the catalog says $size"
	done < <(sqlite3 "$CAT" "select pack_id, size from packs")
	while read -r snap; do
		[[ -f $STORE/snapshots/$snap ]] || die "$where: the catalog lists snapshot $snap, whose record is not on the target"
		[[ -f $STORE/seals/$snap ]] || die "$where: the catalog lists snapshot $snap, whose seal is not on the target"
	done < <(sqlite3 "$CAT" "select snap_id from snapshots")
}

check_state() {
	check_catalog "$1"
	check_target "$1"
}

# temp_files: temporary files ('.'-names) on the target and in staging.
target_temps() {
	find "$STORE" -type f -name '.*' | sed "s|^$STORE/||"
}
staging_temps() {
	find "$STAGING" -type f -name '.pack.*' 2>/dev/null | sed "s|^$STAGING/||"
}

# temps_left PHASE WHERE: after a completed run, no temporary file a killed
# run began may remain on the target. Each one not seen before is counted
# for PHASE and listed; the test fails at the end (the loop goes on).
declare -A TEMPS_LEFT=([backup]=0 [prune]=0 [restore]=0)
declare -A TEMPS_SEEN=()
temps_left() {
	local phase=$1 where=$2 f
	while read -r f; do
		[[ -n $f && -z ${TEMPS_SEEN[$f]:-} ]] || continue
		TEMPS_SEEN[$f]=1
		TEMPS_LEFT[$phase]=$((TEMPS_LEFT[$phase] + 1))
		echo "$where: $f" >>"$RV_WORK/temps-left.log"
	done < <(target_temps)
}

# catalog_packs / target_packs: pack ids, sorted.
catalog_packs() {
	sqlite3 "$CAT" "select pack_id from packs order by pack_id"
}
target_packs() {
	find "$STORE/packs" -type f ! -name '.*' -printf '%f\n' 2>/dev/null | sort
}

# fresh_store: an empty store with 4 MiB packs and a new catalog.
fresh_store() {
	rm -rf "$STORE" "$CAT" "$CAT-wal" "$CAT-shm" "$STAGING" "$CAT.lock"
	HASHED=()
	rv_run 0 init
	jq '.pack_size = 4194304' "$STORE/regvault.json" >"$RV_WORK/regvault.json.new"
	mv "$RV_WORK/regvault.json.new" "$STORE/regvault.json"
}

# timed ARGS...: rv_run 0 ARGS, setting ELAPSED (ms).
timed() {
	local t0
	t0=$(now_ms)
	rv_run 0 "$@"
	ELAPSED=$(($(now_ms) - t0))
}

# kill_after MS ARGS...: run `regvault ARGS` and SIGKILL it after MS ms
# unless it is done by then; returns its exit status (137 when killed). When
# this returns the process is reaped: gone, its locks released. (Not
# `timeout -s KILL`: with --foreground it answers 124 without the exit status
# when the run ends just as the timer fires, and without it, it kills itself
# and returns before the run is reaped.)
#
# The watcher is not waited for: after hundreds of rounds (the long mode)
# bash 5.2 was seen to hang for good in `wait` on a watcher it had already
# reaped. It is killed, and bash reaps it when it goes; a watcher that
# fires late finds its pid gone (regvault was reaped first) or, in the
# worst case, kills nothing of ours: pids are not reused that fast.
kill_after() {
	local ms=$1 pid watcher rc=0
	shift
	"$REGVAULT" --config "$RV_CONFIG" "$@" >"$RV_WORK/attempt.out" 2>"$RV_WORK/attempt.err" &
	pid=$!
	(exec sleep "$(secs "$ms")") >/dev/null 2>&1 &
	watcher=$!
	while kill -0 "$pid" 2>/dev/null && kill -0 "$watcher" 2>/dev/null; do
		sleep 0.02
	done
	kill -9 "$pid" 2>/dev/null || true
	kill "$watcher" 2>/dev/null || true
	{ wait "$pid"; } 2>/dev/null || rc=$?
	return "$rc"
}

# crash_round PHASE CHECK ARGS...: run `regvault ARGS`, SIGKILL it after a
# random delay, run CHECK, and again, until a run completes (exit 0). The
# delay is drawn within 1.25 times DUR[PHASE] (an uninterrupted run); for a
# backup or restore, each next one within half the previous range (a re-run
# has less left to do; this also aims kills at its start: adoption, staging
# cleanup). After
# MAX_KILLS_PER_ROUND kills, the next run goes uninterrupted. Any exit but
# 0 and a kill fails the test.
crash_round() {
	local phase=$1 check=$2 span delay rc n=0 where
	shift 2
	span=$((DUR[$phase] * 5 / 4 + 1))
	((span >= 50)) || span=50
	ROUNDS[$phase]=$((ROUNDS[$phase] + 1))
	while :; do
		rc=0
		if ((n >= MAX_KILLS_PER_ROUND)); then
			delay=-1
			timeout 600 "$REGVAULT" --config "$RV_CONFIG" "$@" \
				>"$RV_WORK/attempt.out" 2>"$RV_WORK/attempt.err" || rc=$?
		else
			delay=$(((RANDOM * 32768 + RANDOM) % span + 1))
			kill_after "$delay" "$@" || rc=$?
		fi
		where="$phase round ${ROUNDS[$phase]}, kill $((n + 1)) at ${delay} ms (seed $SEED)"
		if [[ $rc == 0 ]]; then
			[[ $delay -lt 0 ]] || OUTRAN[$phase]=$((OUTRAN[$phase] + 1))
			return 0
		fi
		if [[ $rc != 137 ]]; then
			echo "---- stderr of: regvault $*" >&2
			cat "$RV_WORK/attempt.err" >&2
			die "$where: regvault $* exited $rc (expected 0, or 137 when killed)"
		fi
		n=$((n + 1))
		[[ $phase == prune ]] || span=$((span / 2 + 1))
		KILLS[$phase]=$((KILLS[$phase] + 1))
		"$check" "$where"
	done
}

###########################################################################
step "a source with the sample set and ~120 MB of incompressible layers"
rv_start_registry src
populate "$src_URL"
layout=$RV_WORK/big-layout
oci_init "$layout"
MB32=33554432
RV_LAYER_COMPRESS=none mk_image "$layout" big1 big1 linux amd64 "" big-a:$MB32 big-b:$MB32
RV_LAYER_COMPRESS=none mk_image "$layout" big2 big2 linux amd64 "" big-a:$MB32 big-c:$MB32
RV_LAYER_COMPRESS=none mk_image "$layout" big3 big3 linux amd64 "" big-d:25165824
RV_LAYER_COMPRESS=none mk_image "$layout" big4 big4 linux amd64 "" big-a:$MB32 big-e:16777216
push "$layout" big1 "$src_URL" heavy/app:1
push "$layout" big2 "$src_URL" heavy/app:2
push "$layout" big3 "$src_URL" heavy/other:1
rv_config "$RV_WORK/regvault.yml" src
pass "source ready ($(du -sm "$src_DIR" | cut -f1) MB in the registry)"

###########################################################################
step "backup: an uninterrupted run, to time it"
fresh_store
timed backup --json
DUR[backup]=$ELAPSED
rv_expect_eq "uninterrupted backup: packs on the target = packs in the catalog" \
	"$(target_packs | md5sum)" "$(catalog_packs | md5sum)"
note "an uninterrupted backup takes ${DUR[backup]} ms and writes $(rv_json_field packs_written) packs"

step "backup: kill at random, check, re-run until it completes (at least ${WANT[backup]} kills)"
RANDOM=$SEED
while ((KILLS[backup] < WANT[backup])); do
	fresh_store
	crash_round backup check_state -q backup
	where="backup round ${ROUNDS[backup]} (seed $SEED)"
	check_state "$where, completed"
	st=$(staging_temps)
	[[ -z $st ]] || die "$where: unfinished packs left in staging after a completed run: $st"
	temps_left backup "$where"
	[[ $(target_packs) == "$(catalog_packs)" ]] ||
		die "$where: packs on the target but not in the catalog after a completed run (not adopted): $(comm -23 <(target_packs) <(catalog_packs) | tr '\n' ' ')"
	# 1, or 2 when a kill landed after the snapshot was committed
	n=$(sqlite3 "$CAT" "select count(*) from snapshots")
	((n >= 1 && n <= MAX_KILLS_PER_ROUND + 1)) || die "$where: $n snapshots in the catalog after the round"
done
pass "backup: ${KILLS[backup]} kills over ${ROUNDS[backup]} rounds (${OUTRAN[backup]} runs finished before their kill); every check held"

step "backup: a last run, verify deep, restore digest-equal"
rv_run 0 backup --json
rv_expect_eq "last backup fetches no blob" "$(rv_json_field blobs_fetched)" 0
check_state "after the last backup"
rv_expect_eq "staging after the last backup" "$(staging_temps)" ""
temps_left backup "the last backup"
rv_run 0 verify --level deep --json
rv_expect_eq "verify deep" "$(rv_json_field outcome)" ok
rv_start_registry dst
rv_run 0 restore latest --to "$dst_URL"
"$CHECK_EQUAL" "$src_URL" "$dst_URL" >"$RV_WORK/equal.out" || {
	cat "$RV_WORK/equal.out" >&2
	die "the last snapshot does not restore digest-equal"
}
pass "the backup after ${KILLS[backup]} kills restores digest-equal: $(tail -1 "$RV_WORK/equal.out")"
rv_stop_registry dst

###########################################################################
step "prune: a store where forget --keep-last 1 drops every older snapshot and a 32 MiB layer"
app1=$(rv_manifest_digest "$src_URL" heavy/app 1)
curl -fsS -X DELETE "$src_URL/v2/heavy/app/manifests/$app1" >/dev/null ||
	die "cannot delete heavy/app:1 from the source"
push "$layout" big4 "$src_URL" heavy/app:3
# a kill that landed after a snapshot's commit left that snapshot too: at
# least the uninterrupted one and the last one, and this one on top
before=$(sqlite3 "$CAT" 'select count(*) from snapshots')
((before >= 2)) || die "only $before snapshot(s) before the prune phase"
rv_run 0 backup --json
kept=$(rv_json_field snapshot)
rv_expect_eq "snapshots before forget" "$(sqlite3 "$CAT" 'select count(*) from snapshots')" $((before + 1))
BASE=$RV_WORK/prune-base
mkdir -p "$BASE"
sqlite3 "$CAT" ".backup '$BASE/catalog.db'"
cp -a "$STORE" "$BASE/store"

# prune_base: put the store and catalog back as they were before forget
prune_base() {
	rm -rf "$STORE" "$CAT" "$CAT-wal" "$CAT-shm" "$STAGING"
	cp -a "$BASE/store" "$STORE"
	cp "$BASE/catalog.db" "$CAT"
}

# check_prune WHERE: check_state, and the kept snapshot's packs are there.
check_prune() {
	check_state "$1"
	rv "verify" --level quick --json >"$RV_OUT" 2>"$RV_ERR" || {
		cat "$RV_OUT" "$RV_ERR" >&2
		die "$1: verify --level quick fails after the kill"
	}
}

PRUNE_STAGING_LEFT=0
PRUNE_ORPHANS=0
# prune_done WHERE: a completed forget + prune left exactly the kept snapshot.
prune_done() {
	local where=$1 n
	check_state "$where, completed"
	rv_expect_eq "$where: snapshots" "$(sqlite3 "$CAT" 'select snap_id from snapshots')" "$kept" >/dev/null
	n=$(sqlite3 "$CAT" "select count(*) from prune_pending")
	[[ $n == 0 ]] || die "$where: $n copies still queued for deletion after a completed prune"
	# packs a killed prune put on the target (its repacked output) and never
	# recorded: a completed prune should leave none (it gives the space
	# back); a failure, reported at the end (the loop goes on meanwhile)
	n=$(comm -23 <(target_packs) <(catalog_packs) | grep -c . || true)
	if ((n > 0)); then
		PRUNE_ORPHANS=$((PRUNE_ORPHANS + n))
		echo "$where: $(comm -23 <(target_packs) <(catalog_packs) | tr '\n' ' ')" >>"$RV_WORK/orphans.log"
	fi
	# a killed repack leaves its unfinished pack in staging: prune does not
	# clean it, the next backup does (checked at the end of the phase)
	n=$(staging_temps | grep -c . || true)
	PRUNE_STAGING_LEFT=$((PRUNE_STAGING_LEFT + n))
	temps_left prune "$where"
	rv_run 0 verify --level deep --json
	[[ $(rv_json_field outcome) == ok ]] || die "$where: verify deep: $(cat "$RV_OUT")"
}

step "prune: an uninterrupted forget --keep-last 1 --prune, to time it"
prune_base
timed forget --keep-last 1 --prune --json
DUR[prune]=$ELAPSED
prune_json=$(jq -c '.prune | {packs_deleted, packs_repacked, packs_written}' "$RV_OUT")
[[ $(jq '.prune.packs_deleted > 0 and .prune.packs_repacked > 0' "$RV_OUT") == true ]] ||
	die "the prune fixture deletes or repacks no pack: $prune_json"
prune_done "uninterrupted prune"
note "forget + prune takes ${DUR[prune]} ms: $prune_json"
prune_base
timed forget --keep-last 1
DUR[prune_only]=$ELAPSED
timed prune
DUR[prune_only]=$ELAPSED
PRUNE_STAGING_LEFT=0
PRUNE_ORPHANS=0
note "prune alone takes ${DUR[prune_only]} ms"

step "prune: kill at random, check, re-run until it completes (at least ${WANT[prune]} kills)"
RANDOM=$((SEED + 1))
while ((KILLS[prune] < WANT[prune])); do
	prune_base
	if ((ROUNDS[prune] % 2 == 0)); then
		crash_round prune check_prune -q forget --keep-last 1 --prune
	else
		rv_run 0 forget --keep-last 1
		d=${DUR[prune]}
		DUR[prune]=${DUR[prune_only]}
		crash_round prune check_prune -q prune
		DUR[prune]=$d
	fi
	prune_done "prune round ${ROUNDS[prune]} (seed $((SEED + 1)))"
done
rv_start_registry dst
rv_run 0 restore latest --to "$dst_URL"
"$CHECK_EQUAL" "$src_URL" "$dst_URL" >"$RV_WORK/equal.out" || {
	cat "$RV_WORK/equal.out" >&2
	die "the kept snapshot does not restore digest-equal after killed prunes"
}
pass "prune: ${KILLS[prune]} kills over ${ROUNDS[prune]} rounds; the kept snapshot verifies deep and restores digest-equal"
if ((PRUNE_STAGING_LEFT > 0)); then
	note "completed prunes left $PRUNE_STAGING_LEFT unfinished pack(s) of killed runs in staging"
	if [[ -n $(staging_temps) ]]; then
		rv_run 0 backup
		rv_expect_eq "staging after the next backup" "$(staging_temps)" ""
	fi
fi
rv_stop_registry dst

###########################################################################
# check_restore WHERE: the store is untouched, and every tag already on the
# destination has the source's digest.
check_restore() {
	local where=$1 repo tag s d
	check_state "$where"
	while read -r repo; do
		while read -r tag; do
			[[ -n $tag ]] || continue
			s=$(rv_manifest_digest "$src_URL" "$repo" "$tag") || die "$where: $repo:$tag is not in the source"
			d=$(rv_manifest_digest "$dst_URL" "$repo" "$tag") || die "$where: $repo:$tag is listed on the destination but has no manifest"
			[[ $s == "$d" ]] || die "$where: $repo:$tag is $d on the destination, $s in the source"
		done < <(curl -fsS "$dst_URL/v2/$repo/tags/list" 2>/dev/null | jq -r '.tags[]?' 2>/dev/null || true)
	done < <(rv_repos "$src_URL")
}

# fresh_dst: an empty destination registry
fresh_dst() {
	rv_stop_registry dst
	rm -rf "$RV_WORK/dst"
	rv_start_registry dst
}

step "restore: an uninterrupted run, to time it"
fresh_dst
timed restore latest --to "$dst_URL"
DUR[restore]=$ELAPSED
note "an uninterrupted restore takes ${DUR[restore]} ms"

step "restore: kill at random, check, re-run until it completes (at least ${WANT[restore]} kills)"
RANDOM=$((SEED + 2))
while ((KILLS[restore] < WANT[restore])); do
	fresh_dst
	crash_round restore check_restore -q restore latest --to "$dst_URL"
	"$CHECK_EQUAL" "$src_URL" "$dst_URL" >"$RV_WORK/equal.out" || {
		cat "$RV_WORK/equal.out" >&2
		die "restore round ${ROUNDS[restore]} (seed $((SEED + 2))): the destination differs after the re-run completed"
	}
	temps_left restore "restore round ${ROUNDS[restore]} (seed $((SEED + 2)))"
done
pass "restore: ${KILLS[restore]} kills over ${ROUNDS[restore]} rounds; each re-run completed digest-equal"

wall=$(($(date +%s) - T_START))
echo "FIGURES crash_loop: mode $MODE seed $SEED; backup ${KILLS[backup]} kills/${ROUNDS[backup]} rounds (run ${DUR[backup]} ms), prune ${KILLS[prune]} kills/${ROUNDS[prune]} rounds (run ${DUR[prune]} ms), restore ${KILLS[restore]} kills/${ROUNDS[restore]} rounds (run ${DUR[restore]} ms); survived $((KILLS[backup] + KILLS[prune] + KILLS[restore])) of $((KILLS[backup] + KILLS[prune] + KILLS[restore])); prune orphans $PRUNE_ORPHANS; temporary files left on the target: backup ${TEMPS_LEFT[backup]}, prune ${TEMPS_LEFT[prune]}, restore ${TEMPS_LEFT[restore]}; wall ${wall}s"
if ((PRUNE_ORPHANS > 0)); then
	echo "#    unrecorded packs left on the target by completed prunes:"
	sed 's/^/#      /' "$RV_WORK/orphans.log"
	DEFERRED+=("$PRUNE_ORPHANS pack(s) written by killed prunes were neither recorded nor deleted by the completed re-run (listed above)")
fi
for phase in backup prune restore; do
	((TEMPS_LEFT[$phase] == 0)) ||
		DEFERRED+=("${TEMPS_LEFT[$phase]} temporary file(s) of killed ${phase} runs still on the target after a completed ${phase} run (listed above)")
done
if [[ -s $RV_WORK/temps-left.log ]]; then
	echo "#    temporary files left on the target:"
	sed 's/^/#      /' "$RV_WORK/temps-left.log"
fi
if ((${#DEFERRED[@]} > 0)); then
	for f in "${DEFERRED[@]}"; do
		echo "FAIL [$RV_TEST_NAME]: $f" >&2
	done
	die "${#DEFERRED[@]} failure(s) (above)"
fi
pass "every kill survived"
