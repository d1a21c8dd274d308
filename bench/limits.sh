# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # L_* are read by run.sh; lim_URL is set by rv_start_registry
# bench/limits.sh - the machine's own limits, measured in the same run as the
# benchmark (sourced by run.sh). Every figure is in MB/s (10^6 bytes).
#
#	L_DISK    dd of zeroes with conv=fdatasync into the work folder
#	L_LOOP    curl of a 64 MiB blob from a distribution registry over
#	          loopback HTTP, repeated (one connection), to /dev/null
#	L_SHA     openssl speed -multi NCPU -evp sha256 (16 KiB blocks)
#	L_SHA1    the same on one core
#	L_AES     openssl speed -evp aes-256-gcm (16 KiB blocks), one core
#	L_TIGHT   min(L_DISK, L_LOOP, L_SHA): the "tightest limit"

# _secs_since T0: seconds since T0 (date +%s.%N).
_secs_since() {
	awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.6f", b - a }'
}

_mbps() { # BYTES SECONDS
	awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 1e-9; printf "%.0f", b / s / 1e6 }'
}

# limit_disk MIB: best of two dd runs of MIB MiB with fdatasync.
limit_disk() {
	local mib=$1 t0 s best=0 v i f=$RV_WORK/limits.dd
	for i in 1 2; do
		t0=$(date +%s.%N)
		dd if=/dev/zero of="$f" bs=1M count="$mib" conv=fdatasync status=none
		s=$(_secs_since "$t0")
		rm -f "$f"
		v=$(_mbps $((mib * 1048576)) "$s")
		if ((v > best)); then best=$v; fi
	done
	L_DISK=$best
	L_DISK_NOTE="dd ${mib} MiB conv=fdatasync, best of 2"
}

# limit_loopback MIN_BYTES: a 64 MiB blob of random bytes is uploaded to a
# registry of its own (so the corpus stays as generated), then GET again and
# again on one connection until at least MIN_BYTES went by; best of two.
limit_loopback() {
	local min=$1 size=67108864 f=$RV_WORK/limits.blob hex loc url n i t0 s v best=0
	head -c "$size" /dev/urandom >"$f"
	hex=$(sha256sum "$f" | cut -c1-64)
	rv_start_registry lim
	url=$lim_URL
	loc=$(curl -fsS -i -X POST "$url/v2/limits/blob/blobs/uploads/" | tr -d '\r' |
		awk 'tolower($1) == "location:" { print $2 }')
	[[ $loc == http* ]] || loc=$url$loc
	curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$f" \
		"$loc&digest=sha256:$hex" -o /dev/null || die "limits: blob upload failed"
	rm -f "$f"
	n=$(((min + size - 1) / size))
	local -a args=()
	for ((i = 0; i < n; i++)); do
		args+=("$url/v2/limits/blob/blobs/sha256:$hex")
	done
	for i in 1 2; do
		t0=$(date +%s.%N)
		curl -fsS "${args[@]}" >/dev/null
		s=$(_secs_since "$t0")
		v=$(_mbps $((n * size)) "$s")
		if ((v > best)); then best=$v; fi
	done
	rv_stop_registry lim
	rm -rf "$RV_WORK/lim"
	L_LOOP=$best
	L_LOOP_NOTE="curl of a 64 MiB blob x$n over HTTP (one connection), best of 2"
}

# _openssl_speed ALG [-multi N]: MB/s with 16 KiB blocks.
_openssl_speed() {
	local alg=$1
	shift
	openssl speed "$@" -evp "$alg" -bytes 16384 -seconds 2 -mr 2>/dev/null |
		awk -F: '/^\+F:/ && NF >= 4 { v = $4 } END { printf "%.0f", v / 1e6 }'
}

limit_cpu() {
	local ncpu
	ncpu=$(nproc)
	L_NCPU=$ncpu
	L_SHA=$(_openssl_speed sha256 -multi "$ncpu")
	L_SHA1=$(_openssl_speed sha256)
	L_AES=$(_openssl_speed aes-256-gcm)
}

# limits_measure: all of the above; sets L_TIGHT and L_TIGHT_NAME.
limits_measure() {
	local mib=1024 min=1073741824
	if [[ $C_PROFILE != full ]]; then
		mib=256 min=268435456
	fi
	limit_disk "$mib"
	limit_loopback "$min"
	limit_cpu
	L_TIGHT=$L_DISK L_TIGHT_NAME="disk write"
	if ((L_LOOP < L_TIGHT)); then L_TIGHT=$L_LOOP L_TIGHT_NAME="loopback download"; fi
	if ((L_SHA < L_TIGHT)); then L_TIGHT=$L_SHA L_TIGHT_NAME="SHA-256 on $L_NCPU cores"; fi
	note "limits: disk $L_DISK MB/s, loopback $L_LOOP MB/s, SHA-256 $L_SHA MB/s ($L_NCPU cores; $L_SHA1 one), AES-256-GCM $L_AES MB/s"
}
