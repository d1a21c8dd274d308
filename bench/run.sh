#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# bench/run.sh - regvault against what users run today (issue 7), in one run.
#
#	bash bench/run.sh [--profile small|full|tags]
#
# 1. Generates (once, then cached) a deterministic corpus (bench/corpus.sh)
#    and serves a fresh copy of it from a local distribution registry.
# 2. Measures the machine's limits (bench/limits.sh): disk write with
#    fdatasync, loopback download from the registry, SHA-256 on all cores,
#    AES-256-GCM.
# 3. Measures, each under /usr/bin/time (wall, user+sys CPU, peak RSS) with
#    the bytes stored afterwards:
#	regvault backup      full, no change, after a small change
#	regvault restore     of the whole corpus into an empty registry
#	skopeo sync --src yaml --dest dir --scoped --all   (every repository)
#	restic backup        of that folder: full, no change, after the change
#	                     (skopeo sync again first)
#	borg create          likewise
#	restic restore + skopeo sync --src dir --dest docker into an empty registry
#	                     (bench/skopeo-sync-back.sh: one sync per namespace)
#    The small change: one new small image pushed, one tag moved.
#    Both restores are checked digest for digest (tests/e2e/check_equal.sh).
# 4. Prints the tables (comparison, raw measures, limits, the issue's
#    targets with PASS/MISS) and writes them as Markdown to $BENCH_OUT.
#
# Profiles: small (default; ~120 MB, a quick check), full (~1.9 GB, 30
# repositories, 150 tags: the issue's corpus; ~40 GB of free disk and a long
# while), tags (one repository, 10,000 tags: the no-change walk; peers are
# skipped unless BENCH_PEERS=1, since skopeo copies tags one by one).
#
# Env: REGVAULT (binary; default build/regvault, else regvault in PATH),
# BENCH_DIR (work and cache parent, default $TMPDIR or /tmp), BENCH_CACHE
# (corpus cache, default $BENCH_DIR/regvault-bench-cache), BENCH_OUT (default
# bench/last-run.md), BENCH_PEERS=0|1, BENCH_DEFAULT_KDF=1 (real scrypt
# instead of the cheap test parameters), BENCH_TAGS (tags profile, default
# 10000), KEEP=1 keeps the work folder. Exit 0 when every measure ran (a
# MISSed target is reported, not an error), 1 when one failed.
set -euo pipefail

profile=small
while [[ $# -gt 0 ]]; do
	case $1 in
	--profile) profile=${2:-}; shift 2 ;;
	--profile=*) profile=${1#*=}; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: bash bench/run.sh [--profile small|full|tags]" >&2; exit 2 ;;
	esac
done
case $profile in small | full | tags) ;; *)
	echo "bench: unknown profile '$profile' (small, full or tags)" >&2
	exit 2
	;;
esac

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SOURCE_DIR
if [[ -z ${REGVAULT:-} ]]; then
	REGVAULT=regvault
	[[ -x $SOURCE_DIR/build/regvault ]] && REGVAULT=$SOURCE_DIR/build/regvault
fi
export REGVAULT
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
BENCH_CACHE=${BENCH_CACHE:-$BENCH_DIR/regvault-bench-cache}
BENCH_OUT=${BENCH_OUT:-$SOURCE_DIR/bench/last-run.md}
export TMPDIR=$BENCH_DIR
mkdir -p "$BENCH_DIR" "$BENCH_CACHE"
. "$SOURCE_DIR/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
. "$SOURCE_DIR/bench/corpus.sh"
. "$SOURCE_DIR/bench/limits.sh"
rv_need_binary
[[ ${BENCH_DEFAULT_KDF:-0} == 1 ]] && unset REGVAULT_TEST_FAST_KDF
peers=${BENCH_PEERS:-1}
[[ $profile == tags && -z ${BENCH_PEERS:-} ]] && peers=0
for t in /usr/bin/time docker-registry skopeo jq curl openssl; do
	command -v "$t" >/dev/null || die "$t is missing (bash scripts/deps.sh)"
done
if [[ $peers == 1 ]]; then
	for t in restic borg; do
		command -v "$t" >/dev/null || die "$t is missing (bash scripts/deps.sh), or set BENCH_PEERS=0"
	done
fi

corpus_spec "$profile"
need_mb=3000
[[ $profile == full ]] && need_mb=45000
[[ -f $BENCH_CACHE/$profile-v$CORPUS_VERSION/.complete ]] || need_mb=$((need_mb + need_mb / 8))
avail_mb=$(($(df -Pk "$RV_WORK" | awk 'NR == 2 { print $4 }') / 1024))
((avail_mb > need_mb)) ||
	die "the $profile profile needs about $need_mb MB free under $BENCH_DIR, there are $avail_mb (set BENCH_DIR)"

# ---- measuring ------------------------------------------------------------

failed=0
declare -A RC=() BYTES=() NOTE=()
# measure NAME CMD...: run CMD under /usr/bin/time; keep wall, user, sys, rss.
measure() {
	local name=$1 rc=0
	shift
	note "$name: $*"
	/usr/bin/time -f '%e %U %S %M' -o "$RV_WORK/time.$name" "$@" \
		>"$RV_WORK/out.$name" 2>"$RV_WORK/err.$name" || rc=$?
	RC[$name]=$rc
	if [[ $rc != 0 ]]; then
		echo "---- $name: $* exited $rc" >&2
		tail -n 20 "$RV_WORK/err.$name" >&2
		failed=1
	fi
}

# tm NAME FIELD: wall|cpu|rss (s, s, KiB) of a measure.
tm() {
	local w u s m
	read -r w u s m < <(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$RV_WORK/time.$1" | tail -n1)
	case $2 in
	wall) echo "$w" ;;
	cpu) awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }' ;;
	rss) echo "$m" ;;
	esac
}

# ok NAME...: every measure ran and succeeded.
ok() {
	local n
	for n in "$@"; do
		[[ ${RC[$n]:-missing} == 0 ]] || return 1
	done
}

# combo FIELD NAME...: wall and cpu summed, rss the largest.
combo() {
	local f=$1 n
	shift
	for n in "$@"; do tm "$n" "$f"; done |
		awk -v f="$f" '{ if (f == "rss") { if ($1 > v) v = $1 } else v += $1 }
			END { printf(f == "rss" ? "%d" : "%.2f", v) }'
}

du_b() {
	du -sb "$@" 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}

# blob_bytes STORAGE: bytes of every blob a registry holds.
blob_bytes() {
	find "$1/docker/registry/v2/blobs" -type f -name data -printf '%s\n' |
		awk '{ s += $1 } END { printf "%.0f", s }'
}

# ---- the run ----------------------------------------------------------------

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
corpus_prepare
# shellcheck disable=SC1091
. "$CORPUS_DIR/info.env"
corpus_start src
rv_start_registry dst
note "corpus: $C_UNIQUE_BLOBS blobs, $C_UNIQUE_BYTES bytes, $(rv_repos "$src_URL" | wc -l) repositories"

step "the machine's limits"
limits_measure

rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init
store=$RV_WORK/store

step "regvault: full backup, no-change backup"
measure rv_full "$REGVAULT" --config "$RV_CONFIG" backup --json
BYTES[rv_full]=$(du_b "$store")
measure rv_nochange "$REGVAULT" --config "$RV_CONFIG" backup --json
BYTES[rv_nochange]=$(du_b "$store")

export RESTIC_PASSWORD="bench passphrase" RESTIC_REPOSITORY=$RV_WORK/restic
export RESTIC_CACHE_DIR=$RV_WORK/restic-cache
export BORG_PASSPHRASE="bench passphrase" BORG_REPO=$RV_WORK/borg
export BORG_BASE_DIR=$RV_WORK/borg-base
skdir=$RV_WORK/skopeo-dir
if [[ $peers == 1 ]]; then
	step "peers: skopeo sync to a folder, restic backup, borg create"
	{
		echo "$src_HOST:"
		echo "  tls-verify: false"
		echo "  images:"
		rv_repos "$src_URL" | sed 's/^\(.*\)$/    "\1": []/'
	} >"$RV_WORK/sync.yml"
	mkdir -p "$skdir"
	measure sk_sync skopeo sync --src yaml --dest dir --scoped --all --preserve-digests \
		"$RV_WORK/sync.yml" "$skdir"
	BYTES[sk_sync]=$(du_b "$skdir")
	restic init >/dev/null 2>"$RV_WORK/err.restic-init" || die "restic init: $(cat "$RV_WORK/err.restic-init")"
	measure rs_full restic backup --host bench "$skdir"
	BYTES[rs_full]=$(du_b "$RESTIC_REPOSITORY")
	measure rs_nochange restic backup --host bench "$skdir"
	BYTES[rs_nochange]=$(du_b "$RESTIC_REPOSITORY")
	borg init --encryption=repokey >/dev/null 2>"$RV_WORK/err.borg-init" || die "borg init: $(cat "$RV_WORK/err.borg-init")"
	measure bg_full borg create "::full" "$skdir"
	BYTES[bg_full]=$(du_b "$BORG_REPO")
	measure bg_nochange borg create "::nochange" "$skdir"
	BYTES[bg_nochange]=$(du_b "$BORG_REPO")
fi

step "the small change: one new image, one tag moved"
corpus_change "$src_URL"
change_bytes=$(($(blob_bytes "$src_DIR") - C_UNIQUE_BYTES))
note "the change added $change_bytes bytes of blobs"
measure rv_change "$REGVAULT" --config "$RV_CONFIG" backup --json
BYTES[rv_change]=$(du_b "$store")
if [[ $peers == 1 ]]; then
	# skopeo refuses to overwrite an image folder: a user starts afresh
	# (restic and borg see the same path, so they still use their caches).
	rm -rf "$skdir"
	mkdir -p "$skdir"
	measure sk_sync2 skopeo sync --src yaml --dest dir --scoped --all --preserve-digests \
		"$RV_WORK/sync.yml" "$skdir"
	BYTES[sk_sync2]=$(du_b "$skdir")
	measure rs_change restic backup --host bench "$skdir"
	BYTES[rs_change]=$(du_b "$RESTIC_REPOSITORY")
	measure bg_change borg create "::change" "$skdir"
	BYTES[bg_change]=$(du_b "$BORG_REPO")
	rm -rf "$skdir"
fi

step "restore the whole corpus into an empty registry"
measure rv_restore "$REGVAULT" --config "$RV_CONFIG" restore latest --to dst --json
BYTES[rv_restore]=$(du_b "$dst_DIR")
# check_equal SRC DST NAME: digest-for-digest check of a restore.
check_equal() {
	if [[ $profile == tags ]]; then
		local a b
		a=$(rv_tag_count "$1")
		b=$(rv_tag_count "$2")
		[[ $a == "$b" ]] && NOTE[$3]="$b tags" || NOTE[$3]="only $b of $a tags"
		[[ $a == "$b" ]] || failed=1
		return 0
	fi
	if "$SOURCE_DIR/tests/e2e/check_equal.sh" "$1" "$2" >"$RV_WORK/check.$3" 2>&1; then
		NOTE[$3]="digest-equal ($(tail -n1 "$RV_WORK/check.$3" | grep -o '^[0-9]* tags') checked)"
	else
		NOTE[$3]="NOT equal: $(tail -n1 "$RV_WORK/check.$3")"
		failed=1
	fi
}
ok rv_restore && check_equal "$src_URL" "$dst_URL" rv_restore
if [[ $peers == 1 ]]; then
	rv_start_registry peer
	measure rs_restore restic restore latest --target "$RV_WORK/restic-restore"
	measure sk_restore bash "$SOURCE_DIR/bench/skopeo-sync-back.sh" \
		"$RV_WORK/restic-restore$skdir/$src_HOST" "$peer_HOST"
	BYTES[rs_restore]=$(du_b "$RV_WORK/restic-restore")
	BYTES[sk_restore]=$(du_b "$peer_DIR")
	rm -rf "$RV_WORK/restic-restore"
	ok rs_restore sk_restore && check_equal "$src_URL" "$peer_URL" sk_restore
fi

# ---- the report ---------------------------------------------------------------

mb() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1e6 }'; }
mib() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else printf "%.3f", a / b }'; }

# cell NAME...: "wall | cpu | rss | " of one measure or a sum of several.
cells() {
	if ok "$@"; then
		printf '%s | %s | %s' "$(combo wall "$@")" "$(combo cpu "$@")" "$(mib "$(combo rss "$@")")"
	else
		printf 'FAILED | - | -'
	fi
}

# cmp_row LABEL "RV_NAMES" RV_BYTES "PEER_NAMES" PEER_BYTES PEER_LABEL
cmp_row() {
	local label=$1 rvn=$2 rvb=$3 pn=$4 pb=$5 plabel=$6 rw pw rc pc
	# shellcheck disable=SC2086
	if ! ok $rvn || ! ok $pn; then
		# shellcheck disable=SC2086
		printf '| %s | %s | %s | %s | %s | %s | - | - | - |\n' "$label" "$(cells $rvn)" \
			"$(mb "$rvb")" "$plabel" "$(cells $pn)" "$(mb "$pb")"
		return
	fi
	# shellcheck disable=SC2086
	rw=$(combo wall $rvn) pw=$(combo wall $pn) rc=$(combo cpu $rvn) pc=$(combo cpu $pn)
	# shellcheck disable=SC2086
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(cells $rvn)" \
		"$(mb "$rvb")" "$plabel" "$(cells $pn)" "$(mb "$pb")" \
		"$(ratio "$rw" "$pw")" "$(ratio "$rc" "$pc")" "$(ratio "$rvb" "$pb")"
}

kdf=fast-test
[[ -z ${REGVAULT_TEST_FAST_KDF:-} ]] && kdf=default
rv_version=$(git -C "$SOURCE_DIR" describe --always --dirty 2>/dev/null || echo unknown)
declare -a targets=()
# target NAME MEASURED OP LIMIT UNIT WHY: one line of the targets table.
# OP is "<=" or ">=" (or "<"); the margin is MEASURED/LIMIT.
target() {
	local name=$1 got=$2 op=$3 lim=$4 unit=$5 why=$6 verdict
	if [[ $got == - || $lim == - ]]; then
		targets+=("| $name | - | $op $lim${unit:+ $unit} | NOT MEASURED | $why |")
		return
	fi
	verdict=$(awk -v g="$got" -v l="$lim" -v op="$op" 'BEGIN {
		if (l <= 0) { print "-"; exit }
		r = g / l
		pass = (op == ">=") ? (g >= l) : (op == "<") ? (g < l) : (g <= l)
		if (pass) printf "PASS (%.2fx of the limit)", r
		else if (op == ">=") printf "MISS: %.2fx of the floor (%.1fx short)", r, (g > 0 ? l / g : 0)
		else printf "MISS by %.1fx", r }')
	targets+=("| $name | $got${unit:+ $unit} | $op $lim${unit:+ $unit} | $verdict | $why |")
}

report() {
	local full_rate frac full_wall
	echo "# regvault benchmark ($profile profile)"
	echo
	echo "- run: $started, $(nproc) cores, load average at start $load0"
	echo "- corpus: $(rv_repos "$src_URL" | wc -l) repositories, $(rv_tag_count "$src_URL") tags (after the change), $C_UNIQUE_BLOBS unique blobs, $(mb "$C_UNIQUE_BYTES") MB of unique blob bytes (generated in $C_GEN_SECONDS s, cached in $CORPUS_DIR)"
	echo "- small change: $(mb "$change_bytes") MB of new blobs + one tag moved"
	echo "- regvault $rv_version ($REGVAULT), key derivation: $kdf; restic $(restic version 2>/dev/null | cut -d' ' -f2 || echo -), $(borg --version 2>/dev/null || echo borg -), skopeo $(skopeo --version | cut -d' ' -f3)"
	echo "- units: wall and CPU (user+sys) in s, peak RSS in MiB, bytes in MB (10^6) stored after the step"
	echo
	echo "## regvault vs the peers"
	echo
	echo "| measure | rv wall | rv CPU | rv RSS | rv MB | peer | peer wall | peer CPU | peer RSS | peer MB | wall ratio | CPU ratio | bytes ratio |"
	echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
	if [[ $peers == 1 ]]; then
		cmp_row "full backup" rv_full "${BYTES[rv_full]}" "sk_sync rs_full" "${BYTES[rs_full]}" "skopeo sync + restic"
		cmp_row "full backup" rv_full "${BYTES[rv_full]}" "sk_sync bg_full" "${BYTES[bg_full]}" "skopeo sync + borg"
		cmp_row "no-change backup" rv_nochange "${BYTES[rv_nochange]}" rs_nochange "${BYTES[rs_nochange]}" "restic alone"
		cmp_row "no-change backup" rv_nochange "${BYTES[rv_nochange]}" bg_nochange "${BYTES[bg_nochange]}" "borg alone"
		cmp_row "after a small change" rv_change "${BYTES[rv_change]}" "sk_sync2 rs_change" "${BYTES[rs_change]}" "skopeo sync + restic"
		cmp_row "after a small change" rv_change "${BYTES[rv_change]}" "sk_sync2 bg_change" "${BYTES[bg_change]}" "skopeo sync + borg"
		cmp_row "restore into an empty registry" rv_restore "${BYTES[rv_restore]}" "rs_restore sk_restore" "${BYTES[sk_restore]}" "restic restore + skopeo sync"
	else
		echo "| (peers skipped: the tags profile runs none unless BENCH_PEERS=1) | | | | | | | | | | | | |"
	fi
	echo
	echo "## every measure"
	echo
	echo "| step | wall s | CPU s | peak RSS MiB | MB after | note |"
	echo "|---|---:|---:|---:|---:|---|"
	local n
	for n in rv_full rv_nochange rv_change rv_restore sk_sync rs_full rs_nochange bg_full bg_nochange \
		sk_sync2 rs_change bg_change rs_restore sk_restore; do
		[[ -n ${RC[$n]:-} ]] || continue
		printf '| %s | %s | %s |\n' "$n" "$(cells "$n")" "$(mb "${BYTES[$n]:-0}") | ${NOTE[$n]:-}"
	done
	echo
	echo "rv_* regvault; sk_sync skopeo sync registry -> dir (sk_sync2: again after the change); rs_* restic; bg_* borg; sk_restore skopeo sync dir -> empty registry. Restore MB: the destination registry's storage (rs_restore: the restored folder)."
	echo
	echo "## the machine's limits (same run)"
	echo
	echo "| limit | MB/s | how |"
	echo "|---|---:|---|"
	echo "| disk write | $L_DISK | $L_DISK_NOTE |"
	echo "| loopback download | $L_LOOP | $L_LOOP_NOTE |"
	echo "| SHA-256, all $L_NCPU cores | $L_SHA | openssl speed -multi $L_NCPU -evp sha256, 16 KiB (one core: $L_SHA1) |"
	echo "| AES-256-GCM, one core | $L_AES | openssl speed -evp aes-256-gcm, 16 KiB |"
	echo "| **tightest** | **$L_TIGHT** | $L_TIGHT_NAME |"
	echo
	full_rate=- frac=-
	if ok rv_full; then
		full_wall=$(tm rv_full wall)
		full_rate=$(awk -v b="$C_UNIQUE_BYTES" -v s="$full_wall" 'BEGIN { if (s <= 0) s = 0.01; printf "%.0f", b / s / 1e6 }')
		frac=$(awk -v r="$full_rate" -v l="$L_TIGHT" 'BEGIN { printf "%.1f", 100 * r / l }')
		echo "regvault full backup: $(mb "$C_UNIQUE_BYTES") MB of unique blobs in $full_wall s = **$full_rate MB/s**, $frac% of the tightest limit ($L_TIGHT_NAME, $L_TIGHT MB/s)."
		echo
	fi

	# The issue's targets.
	local v lim
	if [[ $peers == 1 ]] && ok rv_full sk_sync rs_full; then
		target "full backup wall / (skopeo sync + restic)" "$(ratio "$(tm rv_full wall)" "$(combo wall sk_sync rs_full)")" "<=" 0.05 "" "1/20 of the peer"
	else
		target "full backup wall / (skopeo sync + restic)" - "<=" 0.05 "" "peers not run"
	fi
	if [[ $profile == tags ]]; then
		target "full backup throughput" - ">=" "40% of $L_TIGHT" "MB/s" "not meaningful with the tags profile's 2 MB"
	elif ok rv_full; then
		target "full backup throughput" "$full_rate" ">=" "$(awk -v l="$L_TIGHT" 'BEGIN { printf "%.0f", 0.4 * l }')" "MB/s" "40% of the tightest limit ($L_TIGHT_NAME)"
	fi
	if [[ $peers == 1 ]] && ok rv_nochange rs_nochange; then
		target "no-change wall / restic no-change" "$(ratio "$(tm rv_nochange wall)" "$(tm rs_nochange wall)")" "<=" 0.1 "" "1/10 of restic's re-run alone"
	else
		target "no-change wall / restic no-change" - "<=" 0.1 "" "peers not run"
	fi
	if [[ $profile == tags ]] && ok rv_nochange; then
		target "no-change backup of $C_TAGS tags" "$(tm rv_nochange wall)" "<" 10 "s" "the walk"
	else
		target "no-change backup of 10,000 tags" - "<" 10 "s" "run --profile tags"
	fi
	if ok rv_change rv_nochange rv_full; then
		# Proportional to the change: the extra wall over a no-change run
		# stays within twice the change at the full backup's rate (at least
		# 1 s), and the store grows by at most twice the change + 1 MiB.
		lim=$(awk -v c="$change_bytes" -v r="$full_rate" 'BEGIN { v = (r > 0) ? 2 * c / (r * 1e6) : 0; if (v < 1) v = 1; printf "%.2f", v }')
		v=$(awk -v a="$(tm rv_change wall)" -v b="$(tm rv_nochange wall)" 'BEGIN { printf "%.2f", a - b }')
		target "small change: wall over a no-change run" "$v" "<=" "$lim" "s" "2x the change at the full rate, min 1 s"
		v=$((BYTES[rv_change] - BYTES[rv_nochange]))
		target "small change: store growth" "$(mb "$v")" "<=" "$(mb $((2 * change_bytes + 1048576)))" "MB" "2x the change + 1 MiB"
	fi
	if [[ $peers == 1 ]] && ok rv_restore rs_restore sk_restore; then
		target "restore wall / (restic restore + skopeo sync)" "$(ratio "$(tm rv_restore wall)" "$(combo wall rs_restore sk_restore)")" "<=" 0.5 "" "1/2 of the peer"
	else
		target "restore wall / (restic restore + skopeo sync)" - "<=" 0.5 "" "peers not run"
	fi
	if [[ $peers == 1 ]] && ok rv_full rs_full; then
		target "stored bytes / restic's" "$(ratio "${BYTES[rv_full]}" "${BYTES[rs_full]}")" "<=" 1 "" "after the full backup"
	else
		target "stored bytes / restic's" - "<=" 1 "" "peers not run"
	fi
	if ok rv_full rv_nochange rv_change rv_restore; then
		target "peak RSS, backup and restore" "$(mib "$(combo rss rv_full rv_nochange rv_change rv_restore)")" "<" 64 "MiB" "largest of the four regvault runs"
	fi
	target "TLS source within the TLS limit" - "<=" - "" "not measured by this harness (plain HTTP registries)"
	echo "## the issue's targets"
	echo
	echo "| target | measured | wanted | verdict | note |"
	echo "|---|---:|---:|---|---|"
	printf '%s\n' "${targets[@]}"
	if [[ $failed == 1 ]]; then
		echo
		echo "**Some measures FAILED (see above); their targets are not judged.**"
	fi
}

mkdir -p "$(dirname "$BENCH_OUT")"
report | tee "$BENCH_OUT"
echo
note "written to $BENCH_OUT"
exit "$failed"
