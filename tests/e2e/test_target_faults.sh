#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_target_faults.sh - dir targets that fail where it happens (real
# file systems, no mocks): a tmpfs that fills up during a backup (ENOSPC
# on a pack copy, and a tmpfs shared with the staging folder that holds
# just the staging copy), a target remounted read-only before and during a
# run, and a target whose folder disappears mid-run (unmounted, or
# rm -rf). With one target, and with two (write_policy all and quorum 1).
#
# Each case ends either in a completed backup whose snapshot restores
# digest-equal, or in a clean failure: exit 1, a message that names the
# target, no snapshot; and in both cases nothing recorded that is not
# durable: every pack the catalog lists is on each target the catalog
# says holds it and hashes to its id, PRAGMA integrity_check is ok, no
# file under a final pack name is partial. Then the fault is cleared and
# the next run completes and passes verify --level deep.
#
# Needs root (mount -t tmpfs, remount, bind mounts) and RV_FAULTPROXY (the
# source is served through it, throttled, so that a fault can land while
# a backup is in the middle).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
rv_need_faultproxy
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh
# In a sanitizer build every report (of regvault, of the proxy, of a run in
# the background) lands in a file here; any one fails the test at the end.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$RV_WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$RV_WORK/sanitizer"

[[ $(id -u) == 0 ]] || die "needs root: the faults are tmpfs mounts, read-only remounts and unmounts"

# ---- mounts, always undone -------------------------------------------------

TF_BG_PID=
# Every mount under $RV_WORK (read from /proc/self/mounts, so none is
# missed even if the work folder is gone), deepest first, lazily so that
# nothing busy keeps one; then lib.sh's cleanup.
_tf_cleanup() {
	local rc=$? m
	set +e
	if [[ -n $TF_BG_PID ]]; then
		kill "$TF_BG_PID" 2>/dev/null || true
		wait "$TF_BG_PID" 2>/dev/null || true
	fi
	while read -r m; do
		umount -l "$m" 2>/dev/null
	done < <(awk -v w="$RV_WORK/" 'index($2, w) == 1 { print length($2), $2 }' /proc/self/mounts |
		sort -rn | cut -d' ' -f2-)
	(exit "$rc")
	_rv_cleanup
}
trap _tf_cleanup EXIT

# tf_tmpfs DIR SIZE: a fresh tmpfs of SIZE (e.g. 40m) on DIR.
tf_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" || die "cannot mount a tmpfs on $1"
}

# tf_bind FROM DIR: bind-mount FROM on DIR.
tf_bind() {
	mkdir -p "$2"
	mount --bind "$1" "$2" || die "cannot bind-mount $1 on $2"
}

# tf_remount_ro DIR: remount read-only; a file open for writing makes the
# kernel refuse (EBUSY), so try again until it takes (a pack copy is short).
tf_remount_ro() {
	local i
	for ((i = 0; i < 400; i++)); do
		mount -o remount,ro "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	die "cannot remount $1 read-only"
}

# ---- figures -----------------------------------------------------------------

declare -A FAULTS=()
N_COMPLETED=0
N_CLEAN=0
N_DEFECTS=0
fault() { FAULTS[$1]=$((${FAULTS[$1]:-0} + 1)); }

# defect MSG: a broken promise; the cases go on (so one defect does not
# hide the others), the test fails at the end.
defect() {
	echo "DEFECT [$RV_TEST_NAME]: $*" >&2
	N_DEFECTS=$((N_DEFECTS + 1))
}

# ---- the source --------------------------------------------------------------

step "a source with ~100 MB of incompressible layers (several packs) and small images"
rv_start_registry src
layout=$RV_WORK/layout
oci_init "$layout"
heavy=()
for i in 01 02 03 04 05 06 07 08 09 10 11 12; do heavy+=("heavy-$i:8388608"); done
RV_LAYER_COMPRESS=none mk_image "$layout" heavy heavy linux amd64 "" "${heavy[@]}"
mk_image "$layout" small1 small1 linux amd64 "" small-base:131072 small-1:65536
mk_image "$layout" small2 small2 linux amd64 "" small-base:131072 small-2:65536
push "$layout" heavy "$src_URL" heavy/app:1
push "$layout" small1 "$src_URL" small/one:1
push "$layout" small2 "$src_URL" small/one:2
push "$layout" small1 "$src_URL" small/two:latest
want_tags=$(rv_tag_count "$src_URL")
note "source: $want_tags tags"

# The same registry through a throttled proxy (about 40 MiB/s): a backup
# takes a few seconds, long enough to act while it runs.
rv_start_faultproxy slow "$src_HOST" --throttle-kbps 40960

# ---- one case ----------------------------------------------------------------

CASE=
CASE_DIR=
CAT=
NEEDED=1
declare -A TPATH=()

# case_new NAME SOURCE POLICY TARGET=PATH...: a fresh catalog and config
# for a case, and init; SOURCE is src (full speed) or slow (throttled);
# POLICY is all or a quorum count. CASE_CATALOG: another catalog path.
case_new() {
	local name=$1 source=$2 policy=$3 spec first=1
	shift 3
	CASE=$name
	CASE_T0=$SECONDS
	CASE_DIR=$RV_WORK/cases/$name
	mkdir -p "$CASE_DIR"
	CAT=${CASE_CATALOG:-$CASE_DIR/catalog.db}
	TPATH=()
	step "case $CASE"
	for spec in "$@"; do
		TPATH[${spec%%=*}]=${spec#*=}
	done
	rv_config --max-connections 1 --catalog "$CAT" --store "${1#*=}" \
		"$CASE_DIR/regvault.yml" "$source"
	sed -i "s|^  - name: local$|  - name: ${1%%=*}|" "$RV_CONFIG"
	for spec in "$@"; do
		if [[ $first == 1 ]]; then
			first=0
			continue
		fi
		{
			echo "  - name: ${spec%%=*}"
			echo "    type: dir"
			echo "    path: ${spec#*=}"
		} >>"$RV_CONFIG"
	done
	if [[ $policy == all ]]; then
		echo "write_policy: all" >>"$RV_CONFIG"
		NEEDED=$#
	else
		echo "write_policy: { quorum: $policy }" >>"$RV_CONFIG"
		NEEDED=$policy
	fi
	rv_run 0 init
}

snapshots() { sqlite3 "$CAT" "select count(*) from snapshots"; }

# check_durable WHEN: nothing recorded that is not durable.
check_durable() {
	local when=$1 id tname f path name n k bad tmp=0 sid d0=$N_DEFECTS
	[[ $(sqlite3 "$CAT" "pragma integrity_check") == ok ]] ||
		defect "$CASE ($when): catalog integrity_check failed"
	bad=$(sqlite3 "$CAT" "select p.pack_id from packs p left join pack_locations l on l.pack = p.id
		group by p.id having count(l.target) < $NEEDED")
	[[ -z $bad ]] || defect "$CASE ($when): packs recorded on fewer than $NEEDED target(s): $bad"
	n=0
	while IFS='|' read -r id tname; do
		f=${TPATH[$tname]:-/nonexistent}/packs/${id:0:2}/$id
		if [[ -z ${TPATH[$tname]:-} ]]; then
			defect "$CASE ($when): pack $id recorded on unknown target '$tname'"
		elif [[ ! -f $f ]]; then
			defect "$CASE ($when): the catalog records pack $id on target '$tname', but $f is missing"
		elif [[ $(sha256sum <"$f" | cut -c1-64) != "$id" ]]; then
			defect "$CASE ($when): pack $id on target '$tname' does not hash to its id"
		fi
		n=$((n + 1))
	done < <(sqlite3 "$CAT" "select p.pack_id, t.name from pack_locations l
		join packs p on p.id = l.pack join targets t on t.id = l.target")
	for tname in "${!TPATH[@]}"; do
		path=${TPATH[$tname]}
		[[ -d $path/packs ]] || continue
		while read -r f; do
			name=${f##*/}
			if [[ $name == .* ]]; then
				tmp=$((tmp + 1))
			elif [[ $name =~ ^[0-9a-f]{64}$ ]]; then
				[[ $(sha256sum <"$f" | cut -c1-64) == "$name" ]] ||
					defect "$CASE ($when): $f carries a final pack name but does not hash to it"
			else
				defect "$CASE ($when): unexpected file $f on target '$tname'"
			fi
		done < <(find "$path/packs" -type f)
	done
	for sid in $(sqlite3 "$CAT" "select snap_id from snapshots"); do
		k=0
		for tname in "${!TPATH[@]}"; do
			path=${TPATH[$tname]}
			[[ -s $path/snapshots/$sid && -s $path/seals/$sid ]] && k=$((k + 1))
		done
		((k >= NEEDED)) || defect "$CASE ($when): snapshot $sid is on $k target(s), $NEEDED needed"
	done
	((N_DEFECTS > d0)) && return 0
	note "$CASE ($when): $(sqlite3 "$CAT" "select count(*) from packs") packs, $n copies recorded, each present and hashing; $tmp temporary file(s) left"
}

# run_bg: start a backup in the background (TF_BG_PID), output in
# $CASE_DIR/bg.out / bg.err.
run_bg() {
	rv backup --json >"$CASE_DIR/bg.out" 2>"$CASE_DIR/bg.err" &
	TF_BG_PID=$!
}

# wait_packs DIR N: wait until DIR/packs holds N final pack files (or the
# background run ended).
wait_packs() {
	local dir=$1 want=$2 i n
	for ((i = 0; i < 3000; i++)); do
		n=$(find "$dir/packs" -type f -regextype posix-extended \
			-regex '.*/[0-9a-f]{64}' 2>/dev/null | wc -l || true)
		((n >= want)) && return 0
		kill -0 "$TF_BG_PID" 2>/dev/null || die "$CASE: the backup ended before $want pack(s) reached $dir: $(cat "$CASE_DIR/bg.err")"
		sleep 0.01
	done
	die "$CASE: no pack reached $dir within 30 s"
}

# wait_bg: the background run's exit code into BG_RC; its output into
# RV_OUT / RV_ERR.
wait_bg() {
	BG_RC=0
	wait "$TF_BG_PID" || BG_RC=$?
	TF_BG_PID=
	cp "$CASE_DIR/bg.out" "$RV_OUT"
	cp "$CASE_DIR/bg.err" "$RV_ERR"
}

# faulted RC: keep the faulted run's exit code and output (in FAULT_RC,
# $CASE_DIR/fault.out, fault.err) for outcome.
faulted() {
	FAULT_RC=$1
	cp "$RV_OUT" "$CASE_DIR/fault.out"
	cp "$RV_ERR" "$CASE_DIR/fault.err"
}

# outcome TARGET WHAT BEFORE: judge the faulted run (faulted). Exit 0: it must
# have a snapshot that restores digest-equal; 1: a clean failure whose
# message names TARGET and WHAT (the cause), and no new snapshot. Anything
# else fails the test.
outcome() {
	local rc=$FAULT_RC tname=$1 what=$2 before=$3 err=$CASE_DIR/fault.err
	case $rc in
	0)
		[[ $(snapshots) -gt $before ]] || defect "$CASE: exit 0 but no snapshot recorded"
		check_durable "after the faulted run"
		restore_check
		N_COMPLETED=$((N_COMPLETED + 1))
		note "$CASE: outcome: the backup completed"
		;;
	1)
		grep -q "target '$tname'" "$err" ||
			defect "$CASE: the failure does not name target '$tname': $(cat "$err")"
		grep -qiE "$what" "$err" ||
			defect "$CASE: the failure does not say '$what': $(cat "$err")"
		[[ $(snapshots) == "$before" ]] ||
			defect "$CASE: the failed run recorded a snapshot"
		check_durable "after the failed run"
		N_CLEAN=$((N_CLEAN + 1))
		note "$CASE: outcome: exit 1: $(grep -m1 'error:' "$err")"
		;;
	*)
		cat "$err" >&2
		defect "$CASE: the faulted run exited $rc (want 0, or 1 for a clean failure)"
		check_durable "after the faulted run"
		;;
	esac
}

# restore_check: restore the latest snapshot into a fresh registry and
# compare it with the source.
DST_N=0
restore_check() {
	local name
	DST_N=$((DST_N + 1))
	name=dst$DST_N
	rv_start_registry "$name"
	local urlvar=${name}_URL
	if ! rv restore latest --to "${!urlvar}" >"$CASE_DIR/restore.out" 2>"$CASE_DIR/restore.err"; then
		defect "$CASE: the restore of the latest snapshot failed: $(cat "$CASE_DIR/restore.err")"
	elif ! "$CHECK_EQUAL" "$src_URL" "${!urlvar}" >"$CASE_DIR/check_equal.txt"; then
		defect "$CASE: the restore differs from the source: $(cat "$CASE_DIR/check_equal.txt")"
	else
		pass "$CASE: the latest snapshot restores digest-equal"
	fi
	rv_stop_registry "$name"
	rm -rf "${RV_WORK:?}/$name"
}

# after_clear: the fault is gone: the next backup completes, the catalog
# is still sound, and verify --level deep passes.
after_clear() {
	local before
	before=$(snapshots)
	if ! rv backup --json >"$RV_OUT" 2>"$RV_ERR"; then
		defect "$CASE: the backup after the fault was cleared failed: $(cat "$RV_ERR")"
		return 0
	fi
	[[ $(snapshots) -gt $before ]] || defect "$CASE: the backup after the fault recorded no snapshot"
	check_durable "after the fault was cleared"
	if ! rv verify --level deep --json >"$RV_OUT" 2>"$RV_ERR"; then
		defect "$CASE: verify --level deep after the fault was cleared: $(jq -c '.damaged' "$RV_OUT" 2>/dev/null) $(grep 'error:' "$RV_ERR")"
	else
		rv_expect_eq "$CASE: verify --level deep after the fault was cleared" "$(rv_json_field outcome)" ok
	fi
	note "$CASE: $((SECONDS - CASE_T0)) s"
}

# ---- the cases -----------------------------------------------------------------
# TF_CASES="enospc-one ro-mid" runs only those (by name or name prefix).

case_wanted() {
	local c
	[[ -z ${TF_CASES:-} ]] && return 0
	for c in $TF_CASES; do
		[[ $1 == "$c"* ]] && return 0
	done
	return 1
}

# run_fg: a backup in the foreground, judged by faulted/outcome.
run_fg() {
	local rc=0
	rv backup --json >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	faulted "$rc"
}

# ENOSPC: one target on a 40 MiB tmpfs (~80 MB to store): the second pack
# does not fit.
case_enospc_one() {
	local t=$RV_WORK/mnt/full1
	tf_tmpfs "$t" 40m
	case_new enospc-one src all "local=$t"
	run_fg
	fault enospc
	outcome local "no space" 0
	mount -o remount,size=400m "$t"
	after_clear
	restore_check
}

# ENOSPC on the second of two targets; POLICY all or 1 (quorum).
case_enospc_two() {
	local policy=$1 t=$RV_WORK/mnt/full-$1
	tf_tmpfs "$t" 40m
	case_new "enospc-$policy" src "$policy" "big=$RV_WORK/cases/enospc-$policy/big" "small=$t"
	run_fg
	fault enospc
	outcome small "no space" 0
	if [[ $FAULT_RC == 0 ]]; then
		grep -q "target 'small'.*No space" "$CASE_DIR/fault.err" ||
			defect "$CASE: no warning names target 'small': $(cat "$CASE_DIR/fault.err")"
	fi
	mount -o remount,size=400m "$t"
	[[ $policy == all ]] || rv_run 0 repair --json
	after_clear
}

# ENOSPC where the staging folder lives too: the catalog, its staging
# folder and both targets on one 48 MiB tmpfs, room for the staging copy
# of a pack (moved onto the last target by a rename) but not for the copy
# to the first target, nor for the next staging pack.
case_enospc_tight() {
	local t=$RV_WORK/mnt/tight
	tf_tmpfs "$t" 48m
	CASE_CATALOG=$t/catalog.db case_new tight-quorum-1 src 1 "a=$t/a" "b=$t/b"
	run_fg
	fault enospc-staging
	outcome a "no space" 0
	mount -o remount,size=400m "$t"
	rv_run 0 repair --json
	after_clear
}

# read-only: one target remounted read-only before the run.
case_ro_before() {
	local t=$RV_WORK/mnt/ro1
	tf_tmpfs "$t" 400m
	case_new ro-before src all "local=$t"
	tf_remount_ro "$t"
	run_fg
	fault read-only
	outcome local "read-only" 0
	mount -o remount,rw "$t"
	after_clear
}

# read-only: 'second' remounted read-only once it holds a pack; POLICY.
case_ro_mid() {
	local policy=$1 t=$RV_WORK/mnt/ro-mid-$1
	tf_tmpfs "$t" 400m
	case_new "ro-mid-$policy" slow "$policy" "first=$RV_WORK/cases/ro-mid-$policy/first" "second=$t"
	run_bg
	wait_packs "$t" 1
	tf_remount_ro "$t"
	wait_bg
	faulted "$BG_RC"
	fault read-only
	outcome second "read-only" 0
	mount -o remount,rw "$t"
	[[ $policy == all ]] || rv_run 0 repair --json
	after_clear
}

# vanished: the one target is a mount, unmounted once it holds a pack
# (the data stays on the file system; the folder is an empty mount point
# until it is mounted back, which clears the fault).
case_vanish_umount() {
	local back=$RV_WORK/mnt/vanish-back t=$RV_WORK/mnt/vanish1 leftover
	tf_tmpfs "$back" 400m
	tf_bind "$back" "$t"
	case_new vanish-umount slow all "local=$t"
	run_bg
	wait_packs "$t" 1
	umount -l "$t"
	wait_bg
	faulted "$BG_RC"
	fault unmounted
	leftover=$(find "$t" -mindepth 1 | wc -l)
	if [[ $leftover != 0 ]]; then
		note "$CASE: while the target was unmounted the run wrote $leftover file(s) into the bare mount point:"
		find "$t" -mindepth 1 -type f | sed 's/^/#      /' | head -5
		mkdir -p "$CASE_DIR/stray"
		mv "$t"/* "$CASE_DIR/stray/"
	fi
	tf_bind "$back" "$t"
	outcome local "regvault.json|not a store|does not exist|no such|missing|mount" 0
	after_clear
}

# vanished: 'second' removed (rm -rf) once it holds a pack; POLICY. The
# fault is cleared by repair, which fills 'second' from 'first'.
case_vanish_rm() {
	local policy=$1 t=$RV_WORK/cases/rm-$1/second id missing
	case_new "rm-$policy" slow "$policy" "first=$RV_WORK/cases/rm-$policy/first" "second=$t"
	run_bg
	wait_packs "$t" 1
	rm -rf "$t"
	wait_bg
	faulted "$BG_RC"
	fault removed
	# what the run left, before anything is repaired: copies it recorded
	# on 'second' before the rm are gone with it (nothing regvault can
	# prevent); but a run that re-creates the folder and goes on, ending
	# with exit 0 and not a word about 'second', has missed that its
	# target vanished
	missing=0
	while read -r id; do
		[[ -f $t/packs/${id:0:2}/$id ]] || missing=$((missing + 1))
	done < <(sqlite3 "$CAT" "select p.pack_id from pack_locations l join packs p on p.id = l.pack
		join targets tg on tg.id = l.target where tg.name = 'second'")
	note "$CASE: right after the run: $missing copy(ies) recorded on 'second' are gone with the rm -rf"
	if [[ $FAULT_RC == 0 ]] && ! grep -q "target 'second'" "$CASE_DIR/fault.err"; then
		defect "$CASE: the run ended with exit 0 and not a word about target 'second', whose folder vanished mid-run (it re-created it and went on: $(find "$t" -type f | wc -l) file(s) there now, regvault.json $([[ -e $t/regvault.json ]] && echo present || echo absent))"
	fi
	rv_run 0 repair --json
	outcome second "regvault.json|not a store|does not exist|no such|missing|gone" 0
	after_clear
}

case_wanted enospc-one && case_enospc_one
case_wanted enospc-all && case_enospc_two all
case_wanted enospc-1 && case_enospc_two 1
case_wanted tight-quorum-1 && case_enospc_tight
case_wanted ro-before && case_ro_before
case_wanted ro-mid-all && case_ro_mid all
case_wanted ro-mid-1 && case_ro_mid 1
case_wanted vanish-umount && case_vanish_umount
case_wanted rm-all && case_vanish_rm all
case_wanted rm-1 && case_vanish_rm 1

for f in "$RV_WORK"/sanitizer*; do
	[[ -e $f ]] || continue
	cat "$f" >&2
	defect "a sanitizer report: $f"
done

faults=
for k in $(printf '%s\n' "${!FAULTS[@]}" | sort); do faults+="$k=${FAULTS[$k]} "; done
echo "figures [$RV_TEST_NAME]: faults injected: ${faults% }; outcomes: completed=$N_COMPLETED clean-failure=$N_CLEAN; defects=$N_DEFECTS"
((N_DEFECTS == 0)) || die "$N_DEFECTS broken promise(s), each shown above as DEFECT"
pass "every target fault ended in a completed backup or a clean failure, with nothing recorded that is not durable"
