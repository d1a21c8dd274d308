#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# bench/bigblob.sh - memory and time for one very large blob.
#
# Builds an image with ONE layer of incompressible bytes (1 GiB by default,
# BIG_MB=N to change), pushes it into a local registry, then measures under
# /usr/bin/time -v, in the same run:
#	regvault backup                     registry -> encrypted store
#	skopeo copy docker:// dir:          what users run instead
#	regvault restore                    store -> empty registry
#	skopeo copy dir: docker://          the peer's way back
# and prints wall time and peak RSS (maximum resident set size) for each.
#
# Env: REGVAULT (binary, default: regvault in PATH), BIG_MB (default 1024),
# BENCH_DIR (parent of the work folder, default /tmp), KEEP=1 keeps it,
# BENCH_DEFAULT_KDF=1 uses the default key derivation (otherwise the cheap
# test parameters, so that the figures show the data path, not scrypt).
set -euo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SOURCE_DIR
export TMPDIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
mkdir -p "$TMPDIR"
. "$SOURCE_DIR/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
[[ ${BENCH_DEFAULT_KDF:-0} == 1 ]] && unset REGVAULT_TEST_FAST_KDF

BIG_MB=${BIG_MB:-1024}
[[ $BIG_MB =~ ^[0-9]+$ && $BIG_MB -ge 1 ]] || die "BIG_MB must be a positive number of MiB"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"

# Disk: layout (freed after the push) + source registry + skopeo dir + store
# + two destination registries.
need_kb=$((BIG_MB * 1024 * 6))
avail_kb=$(df -Pk "$RV_WORK" | awk 'NR == 2 { print $4 }')
((avail_kb > need_kb)) ||
	die "need about $((need_kb / 1024)) MiB free under $TMPDIR, have $((avail_kb / 1024)) MiB (set BENCH_DIR)"

# measure NAME CMD...: run CMD under /usr/bin/time -v, keep its report. A
# failure is shown and remembered (the table says so, the exit code is 1).
failed=0
declare -A rcs=()
measure() {
	local name=$1 rc=0
	shift
	/usr/bin/time -v -o "$RV_WORK/time.$name" "$@" >"$RV_WORK/out.$name" 2>"$RV_WORK/err.$name" || rc=$?
	rcs[$name]=$rc
	if [[ $rc != 0 ]]; then
		echo "---- $name: $* exited $rc" >&2
		tail -n 20 "$RV_WORK/err.$name" >&2
		failed=1
	fi
}

# field NAME LABEL: a value from a /usr/bin/time -v report.
field() {
	sed -n "s/^[[:space:]]*$2: //p" "$RV_WORK/time.$1" | head -n1
}

# wall NAME: elapsed seconds.
wall() {
	field "$1" 'Elapsed (wall clock) time (h:mm:ss or m:ss)' |
		awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }'
}

rss_mib() {
	awk '{ printf "%.1f", $1 / 1024 }' <<<"$(field "$1" 'Maximum resident set size (kbytes)')"
}

step "build a ${BIG_MB} MiB single-layer image"
layout=$RV_WORK/layout
oci_init "$layout"
mkdir -p "$RV_WORK/root"
head -c "$((BIG_MB * 1024 * 1024))" /dev/urandom >"$RV_WORK/root/big.bin"
tar -C "$RV_WORK/root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	--format=gnu -cf "$RV_WORK/layer.tar" big.bin
rm -rf "$RV_WORK/root"
diffid=sha256:$(sha256sum "$RV_WORK/layer.tar" | cut -c1-64)
_mk_store "$layout" "$RV_WORK/layer.tar" "$MK_OCI_LAYER"
layer=$MK_DESC
mk_config "$layout" bigblob linux amd64 "" "$diffid"
mk_manifest "$layout" "$MK_DESC" "$layer"
oci_ref "$layout" big "$MK_DESC"
blob_size=$(jq -r .size <<<"$layer")
note "layer $(jq -r .digest <<<"$layer"), $blob_size bytes, $(jq -r .mediaType <<<"$layer")"

step "push it into a local registry"
rv_start_registry src
t0=$(date +%s.%N)
push "$layout" big "$src_URL" bench/big:1
note "pushed in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
rm -rf "$layout"

rv_start_registry dst
rv_start_registry peer
rv_config "$RV_WORK/regvault.yml" src dst
rv_run 0 init

step "regvault backup"
measure rv_backup "$REGVAULT" --config "$RV_CONFIG" backup --json
store_bytes=$(du -sb "$RV_WORK/store" | cut -f1)

step "skopeo copy docker:// dir:"
measure sk_backup skopeo copy --quiet --src-tls-verify=false \
	"docker://$src_HOST/bench/big:1" "dir:$RV_WORK/skopeo-dir"
dir_bytes=$(du -sb "$RV_WORK/skopeo-dir" | cut -f1)

step "regvault restore into an empty registry"
measure rv_restore "$REGVAULT" --config "$RV_CONFIG" restore latest --to dst --json
want=$(rv_manifest_digest "$src_URL" bench/big 1)
if [[ ${rcs[rv_restore]} == 0 ]]; then
	got=$(rv_manifest_digest "$dst_URL" bench/big 1) || got=missing
	if [[ $got != "$want" ]]; then
		echo "regvault restore: bench/big:1 is '$got' in the destination, expected $want" >&2
		rcs[rv_restore]=digest
		failed=1
	fi
fi

step "skopeo copy dir: docker:// into an empty registry"
measure sk_restore skopeo copy --quiet --dest-tls-verify=false \
	"dir:$RV_WORK/skopeo-dir" "docker://$peer_HOST/bench/big:1"
rm -rf "$RV_WORK/skopeo-dir"

kdf=fast-test
[[ -z ${REGVAULT_TEST_FAST_KDF:-} ]] && kdf=default
# row LABEL NAME DISK: one line of the table.
row() {
	if [[ ${rcs[$2]} == 0 ]]; then
		printf '%-30s %10s %15s %16s\n' "$1" "$(wall "$2")" "$(rss_mib "$2")" "$3"
	else
		printf '%-30s %10s %15s %16s\n' "$1" "FAILED (${rcs[$2]})" - -
	fi
}
echo
echo "One layer of $blob_size bytes (${BIG_MB} MiB, incompressible); key derivation: $kdf"
printf '%-30s %10s %15s %16s\n' operation "wall (s)" "peak RSS (MiB)" "bytes on disk"
row "regvault backup" rv_backup "$store_bytes"
row "skopeo copy docker:// dir:" sk_backup "$dir_bytes"
row "regvault restore" rv_restore -
row "skopeo copy dir: docker://" sk_restore -
exit "$failed"
