#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_corruption.sh - every kind of stored object, truncated or bit-flipped
# at many offsets, is reported clearly: never an exit 0 with wrong data
# restored, never a crash, never a hang.
#
#	RV_LONG=1   long mode: every 512th byte of each object (default, the CI
#	            mode: about 10 offsets per object kind, spread over the
#	            object, its first and last bytes included; about 3 min)
#	RV_CORRUPT_KINDS="seal key-slot"   only these object kinds (to replay)
#
# After two backups of the sample set to a dir target, the objects are:
#   pack-chunks   the chunk entries of one pack (tar headers, sealed chunk
#                 frames, padding): bytes 0 .. the index entry's header
#   pack-index    the same pack's index entry (the last tar entry) and the
#                 end-of-archive blocks
#   key-slot      keys/<name> (the only key slot)
#   snapshot      snapshots/<id> of the latest snapshot (a sealed record)
#   seal          seals/<id> of the latest snapshot
#   store-config  regvault.json
# Each is, at each offset, truncated there, inverted there (rv_flip_byte), and
# for the JSON objects also changed in its lowest bit there (an inverted byte
# always breaks UTF-8, one bit keeps the JSON readable and changes a value);
# a change that leaves a JSON object meaning the same is skipped. The store
# is put back between cases (from a pristine copy; the catalog too).
# Commands, on each damaged store:
#   pack-*: verify --level deep, catalog rebuild (into a scratch catalog);
#           pack-chunks also restore latest into a scratch registry under a
#           fresh prefix (--map) when the damage reaches a chunk frame the
#           catalog records (CI: every other offset)
#   snapshot, seal: verify --level deep, restore latest, catalog rebuild
#   key-slot, store-config: verify --level deep, catalog rebuild, restore
#   key-slot-copy: the key slot damaged on the dir target while a second
#           target holds it intact: `repair` must open the store, exit 0 and
#           put the good copy back
# Expected: exit 4 (integrity) with the object named in the output (pack or
# snapshot id, key slot name, regvault.json); a damaged key slot may also be
# exit 3 (the only slot no longer opens: README's exit codes). A restore may
# exit 0 only when the damage does not reach anything it reads and every tag
# then has its source digest. Every run is under `timeout 60`: exit 124 is a
# hang; an exit >= 128 or a sanitizer report is a crash.
# Failures are collected (each with its reproduction: kind, damage, offset,
# command, exit code, first lines of stderr) and fail the test at the end.
# Prints: FIGURES corruption: cases tried, detected, by kind; wall time.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
command -v sqlite3 >/dev/null || die "sqlite3 is needed to inspect the catalog"
T_START=$(date +%s)
step() {
	echo "---- [$(($(date +%s) - T_START)) s] $*"
}
if [[ ${RV_LONG:-0} == 1 ]]; then
	MODE=long
else
	MODE=ci
fi
echo "#    corruption: mode $MODE, binary $REGVAULT"
set -E
trap 'echo "ERR at line $LINENO: $BASH_COMMAND" >&2' ERR

STORE=$RV_WORK/store
CAT=$RV_WORK/catalog.db
PRISTINE=$RV_WORK/pristine
RB_DIR=$RV_WORK/rebuild
FAILS=$RV_WORK/failures.log
: >"$FAILS"
declare -A TRIED=() DETECTED=() HARMLESS=() SKIPPED=() FAILED=()
KINDS=(pack-chunks pack-index key-slot snapshot seal store-config)
for k in "${KINDS[@]}"; do
	TRIED[$k]=0 DETECTED[$k]=0 HARMLESS[$k]=0 SKIPPED[$k]=0 FAILED[$k]=0
done

# offsets FIRST LAST: the offsets to damage within [FIRST, LAST]: CI about
# 10 spread evenly (both ends included), long every 512th byte and LAST.
offsets() {
	local first=$1 last=$2 n i span
	span=$((last - first))
	if [[ $MODE == long ]]; then
		seq "$first" 512 "$last"
		((span % 512 == 0)) || echo "$last"
		return 0
	fi
	n=9
	((span >= n)) || n=$span
	if ((n == 0)); then
		echo "$first"
		return 0
	fi
	for ((i = 0; i <= n; i++)); do
		echo $((first + span * i / n))
	done | uniq
}

# flip_bit FILE OFFSET: change the lowest bit of the byte at OFFSET.
flip_bit() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n')
	[[ -n $b ]] || die "flip_bit: $1 has no byte at offset $2"
	# shellcheck disable=SC2059 # the format is the octal escape we build
	printf "\\$(printf '%03o' $((b ^ 1)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# same_json A B: both files are JSON meaning the same thing.
same_json() {
	local a b
	a=$(jq -cS . "$1" 2>/dev/null) || return 1
	b=$(jq -cS . "$2" 2>/dev/null) || return 1
	[[ $a == "$b" ]]
}

# mapped_equal PREFIX: every tag of the source has its digest on the scratch
# registry under PREFIX (restore --map).
mapped_equal() {
	local p=$1 repo tag s d
	while read -r repo; do
		while read -r tag; do
			s=$(rv_manifest_digest "$src_URL" "$repo" "$tag") || return 1
			d=$(rv_manifest_digest "$dst_URL" "$p$repo" "$tag") || return 1
			[[ $s == "$d" ]] || return 1
		done < <(rv_tags "$src_URL" "$repo")
	done < <(rv_repos "$src_URL")
}

# put_back REL: the work store's REL and the catalog as they were.
put_back() {
	cp -p "$PRISTINE/store/$1" "$STORE/$1"
	cp -p "$PRISTINE/catalog.db" "$CAT"
	rm -f "$CAT-wal" "$CAT-shm"
}

fail_case() {
	FAILED[$KIND]=$((FAILED[$KIND] + 1))
	{
		echo "$KIND $DAMAGE at $OFFSET of $REL ($SIZE bytes): regvault $*"
		sed 's/^/    /' "$RV_WORK/case.err" | { grep -v 'stale lock' || true; } | head -6
	} >>"$FAILS"
}

RESTORES=0
FIELD_HARMLESS=0
# run_case CMD NEED: run command CMD (verify, rebuild, restore) on the damaged
# store; NEED is "must" when the damage reaches data CMD reads (exit 0 is
# then a failure), "may" otherwise (exit 0 passes when the restore is
# digest-equal). Sets the outcome counters.
run_case() {
	local cmd=$1 need=$2 rc=0 prefix="" cfg=$RV_CONFIG want="4"
	local -a args=()
	case $cmd in
	verify) args=(verify --level deep) ;;
	rebuild)
		rm -rf "$RB_DIR"
		cfg=$RV_WORK/rebuild.yml
		args=(catalog rebuild --from local)
		;;
	restore)
		RESTORES=$((RESTORES + 1))
		prefix=c$RESTORES/
		args=(restore latest --to dst)
		local p
		for p in "${REPO_PREFIXES[@]}"; do
			args+=(--map "$p=$prefix$p")
		done
		;;
	esac
	[[ $KIND != key-slot ]] || want="3 4"
	TRIED[$KIND]=$((TRIED[$KIND] + 1))
	timeout 60 "$REGVAULT" --config "$cfg" "${args[@]}" \
		>"$RV_WORK/case.out" 2>"$RV_WORK/case.err" || rc=$?
	if ((rc == 124)); then
		fail_case "${args[@]}" "-> hang (killed by timeout 60)"
		return 0
	fi
	if ((rc >= 128)) || grep -Eq 'Sanitizer|runtime error:|LeakSanitizer' "$RV_WORK/case.err"; then
		fail_case "${args[@]}" "-> crash (exit $rc)"
		return 0
	fi
	if ((rc == 0)); then
		if [[ $need == may || $FIELD_HARMLESS == 1 ]] &&
			{ [[ $cmd != restore ]] || mapped_equal "$prefix"; }; then
			HARMLESS[$KIND]=$((HARMLESS[$KIND] + 1))
			return 0
		fi
		fail_case "${args[@]}" "-> exit 0 on a damaged $KIND"
		return 0
	fi
	if [[ " $want " != *" $rc "* ]]; then
		fail_case "${args[@]}" "-> exit $rc, expected ${want// / or }"
		return 0
	fi
	if ! grep -qiF -e "$NAME" "$RV_WORK/case.out" "$RV_WORK/case.err"; then
		fail_case "${args[@]}" "-> exit $rc but the output does not name '$NAME'"
		return 0
	fi
	DETECTED[$KIND]=$((DETECTED[$KIND] + 1))
}

# damage_cases KIND REL NAME FIRST LAST DAMAGES CMDS...: for each offset in
# [FIRST, LAST] and each damage (trunc flip bit), damage REL and run CMDS.
# A command written "restore?" runs only when the damage reaches a chunk
# frame (see chunk_hit), "restore" always.
damage_cases() {
	KIND=$1 REL=$2 NAME=$3
	[[ " ${RV_CORRUPT_KINDS:-${KINDS[*]}} " == *" $KIND "* ]] || return 0
	local first=$4 last=$5 damages=$6 cmd need i=0
	shift 6
	local f=$STORE/$REL
	SIZE=$(stat -c %s "$f")
	for OFFSET in $(offsets "$first" "$last"); do
		for DAMAGE in $damages; do
			case $DAMAGE in
			trunc) truncate -s "$OFFSET" "$f" ;;
			flip) rv_flip_byte "$f" "$OFFSET" ;;
			bit) flip_bit "$f" "$OFFSET" ;;
			esac
			if [[ $KIND != pack-* && $KIND != snapshot ]] && same_json "$f" "$PRISTINE/store/$REL"; then
				SKIPPED[$KIND]=$((SKIPPED[$KIND] + 1))
				put_back "$REL"
				continue
			fi
			FIELD_HARMLESS=0
			if [[ $KIND == store-config ]] && config_harmless "$f" "$PRISTINE/store/$REL"; then
				FIELD_HARMLESS=1
			fi
			for cmd in "$@"; do
				need=must
				if [[ $cmd == restore\? ]]; then
					cmd=restore
					need=may
					chunk_hit && need=must
					# CI: a restore for every other offset (they are slow)
					[[ $MODE == long || $((i % 2)) == 0 ]] || continue
				fi
				run_case "$cmd" "$need"
				put_back "$REL"
				case $DAMAGE in
				trunc) truncate -s "$OFFSET" "$f" ;;
				flip) rv_flip_byte "$f" "$OFFSET" ;;
				bit) flip_bit "$f" "$OFFSET" ;;
				esac
			done
			put_back "$REL"
			cmp -s "$f" "$PRISTINE/store/$REL" || die "fixture: $REL was not put back"
		done
		i=$((i + 1))
	done
}

# config_harmless: the damaged regvault.json is JSON that differs from the
# original only in members no reader relies on: "created" (informational),
# "pack_size" and "chunker" (how new packs and chunks are cut; any values
# read back the same data). A command may then succeed.
config_harmless() {
	local changed
	changed=$(jq -cn --slurpfile a "$1" --slurpfile b "$2" '
		[($a[0] | keys[]), ($b[0] | keys[])] | unique
		| map(select($a[0][.] != $b[0][.]))' 2>/dev/null) || return 1
	jq -e 'length > 0 and all(. == "created" or . == "pack_size" or . == "chunker")' \
		<<<"$changed" >/dev/null
}

# chunk_hit: the current damage of the pack reaches a chunk frame the
# catalog records (a byte inside one, or a truncation before one's end).
chunk_hit() {
	local off len
	while read -r off len; do
		if [[ $DAMAGE == trunc ]]; then
			((OFFSET < off + len)) && return 0
		else
			((OFFSET >= off && OFFSET < off + len)) && return 0
		fi
	done <"$RV_WORK/chunks.txt"
	return 1
}

###########################################################################
step "two backups of the sample set to a dir target"
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init
rv_run 0 backup
push_new "$src_URL"
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
mapfile -t REPO_PREFIXES < <(rv_repos "$src_URL" | cut -d/ -f1 | sort -u | sed 's|$|/|')
sed "s|^catalog: .*|catalog: $RB_DIR/catalog.db|" "$RV_CONFIG" >"$RV_WORK/rebuild.yml"
rv_run 0 verify --level deep
mkdir -p "$PRISTINE"
cp -a "$STORE" "$PRISTINE/store"
sqlite3 "$CAT" ".backup '$PRISTINE/catalog.db'"
cp -p "$PRISTINE/catalog.db" "$CAT"
rm -f "$CAT-wal" "$CAT-shm"
# the pack: the one with the most chunk entries among those of 64 KiB .. 1 MiB
pack=$(sqlite3 "$CAT" "select p.pack_id from packs p join chunks c on c.pack = p.id
	where p.size between 65536 and 1048576 group by p.id order by count(*) desc, p.size limit 1")
[[ -n $pack ]] || pack=$(sqlite3 "$CAT" "select p.pack_id from packs p join chunks c on c.pack = p.id
	group by p.id order by count(*) desc limit 1")
sqlite3 -separator ' ' "$CAT" "select c.offset, c.length from chunks c join packs p on p.id = c.pack
	where p.pack_id = '$pack' order by c.offset" >"$RV_WORK/chunks.txt"
packrel=packs/${pack:0:2}/$pack
psize=$(stat -c %s "$STORE/$packrel")
idx_block=$(tar -tvR -f "$STORE/$packrel" | awk '$NF == "index" { sub(":", "", $2); print $2 }')
[[ $idx_block =~ ^[0-9]+$ ]] || die "fixture: no index entry in $packrel"
idx_off=$((idx_block * 512))
mapfile -t slots < <(find "$STORE/keys" -type f -printf '%f\n')
[[ ${#slots[@]} == 1 ]] || die "fixture: expected one key slot, found ${#slots[@]}"
keyrel=keys/${slots[0]}
pass "pack ${pack:0:12} ($psize bytes, $(wc -l <"$RV_WORK/chunks.txt") chunks, index at $idx_off), snapshot ${snap:0:12}, $keyrel"

step "pack chunk entries"
damage_cases pack-chunks "$packrel" "${pack:0:12}" 0 $((idx_off - 1)) "trunc flip" verify rebuild 'restore?'
step "pack index"
damage_cases pack-index "$packrel" "${pack:0:12}" "$idx_off" $((psize - 1)) "trunc flip" verify rebuild
step "key slot"
ksize=$(stat -c %s "$STORE/$keyrel")
damage_cases key-slot "$keyrel" "${keyrel#keys/}" 0 $((ksize - 1)) "trunc flip bit" verify rebuild restore
step "snapshot record"
ssize=$(stat -c %s "$STORE/snapshots/$snap")
damage_cases snapshot "snapshots/$snap" "${snap:0:12}" 0 $((ssize - 1)) "trunc flip" verify restore rebuild
step "seal"
lsize=$(stat -c %s "$STORE/seals/$snap")
damage_cases seal "seals/$snap" "${snap:0:12}" 0 $((lsize - 1)) "trunc flip bit" verify restore rebuild
step "store config"
csize=$(stat -c %s "$STORE/regvault.json")
damage_cases store-config regvault.json regvault.json 0 $((csize - 1)) "trunc flip bit" verify rebuild restore

step "a key slot damaged on one of two targets: repair heals it from the other"
# README: repair copies key slots from a target whose copy checks out (its
# bytes hash to its name). The same slot is good on the second target, so
# the store must still open and repair must put the good copy back.
KIND="key-slot-copy"
TWO=$RV_WORK/two
if [[ " ${RV_CORRUPT_KINDS:-key-slot-copy} " == *" key-slot-copy "* ]]; then
	KINDS+=(key-slot-copy)
	TRIED[$KIND]=0 DETECTED[$KIND]=0 HARMLESS[$KIND]=0 SKIPPED[$KIND]=0 FAILED[$KIND]=0
	mkdir -p "$TWO"
	cp -a "$PRISTINE/store" "$TWO/store2"
	sed "s|^catalog: .*|catalog: $TWO/catalog.db|" "$RV_CONFIG" >"$TWO/regvault.yml"
	printf '  - name: second\n    type: dir\n    path: %s\n' "$TWO/store2" >>"$TWO/regvault.yml"
	REL=$keyrel NAME=${keyrel#keys/} SIZE=$ksize
	f=$STORE/$REL
	for OFFSET in $(offsets 0 $((ksize - 1))); do
		for DAMAGE in trunc flip bit; do
			case $DAMAGE in
			trunc) truncate -s "$OFFSET" "$f" ;;
			flip) rv_flip_byte "$f" "$OFFSET" ;;
			bit) flip_bit "$f" "$OFFSET" ;;
			esac
			if same_json "$f" "$PRISTINE/store/$REL"; then
				SKIPPED[$KIND]=$((SKIPPED[$KIND] + 1))
				put_back "$REL"
				continue
			fi
			cp -p "$PRISTINE/catalog.db" "$TWO/catalog.db"
			rm -f "$TWO/catalog.db-wal" "$TWO/catalog.db-shm"
			TRIED[$KIND]=$((TRIED[$KIND] + 1))
			rc=0
			timeout 60 "$REGVAULT" --config "$TWO/regvault.yml" repair \
				>"$RV_WORK/case.out" 2>"$RV_WORK/case.err" || rc=$?
			if ((rc == 124)); then
				fail_case repair "-> hang (killed by timeout 60)"
			elif ((rc >= 128)) || grep -Eq 'Sanitizer|runtime error:' "$RV_WORK/case.err"; then
				fail_case repair "-> crash (exit $rc)"
			elif ((rc != 0)); then
				fail_case repair "-> exit $rc, expected 0 (the slot is good on target 'second')"
			elif ! cmp -s "$f" "$PRISTINE/store/$REL"; then
				fail_case repair "-> exit 0 but the slot on 'local' is still damaged"
			else
				DETECTED[$KIND]=$((DETECTED[$KIND] + 1))
			fi
			put_back "$REL"
		done
	done
fi

step "the undamaged store still checks out"
rv_run 0 verify --level deep

total_t=0 total_d=0 total_h=0 total_s=0 total_f=0 by=""
for k in "${KINDS[@]}"; do
	total_t=$((total_t + TRIED[$k]))
	total_d=$((total_d + DETECTED[$k]))
	total_h=$((total_h + HARMLESS[$k]))
	total_s=$((total_s + SKIPPED[$k]))
	total_f=$((total_f + FAILED[$k]))
	by+=" $k ${DETECTED[$k]}/${TRIED[$k]}"
	((HARMLESS[$k] == 0)) || by+=" (+${HARMLESS[$k]} harmless)"
	((FAILED[$k] == 0)) || by+=" (${FAILED[$k]} FAILED)"
	by+=";"
done
echo "FIGURES corruption: mode $MODE; $total_t cases tried, $total_d detected, $total_h harmless (restore exit 0, digest-equal), $total_f failed, $total_s no-op damages skipped; by kind (detected/tried):$by restores $RESTORES; wall $(($(date +%s) - T_START))s"
if ((total_f > 0)); then
	echo "---- failures (kind damage offset: command -> outcome; stderr):" >&2
	cat "$FAILS" >&2
	die "$total_f of $total_t damaged-store cases were not reported as they should be"
fi
pass "every damaged object was reported (exit 4, or 3 for the only key slot) and named"
