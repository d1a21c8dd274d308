#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_registry_faults.sh - what a registry (or something between it and
# regvault) can do wrong beyond test_faults.sh's cuts and throttles, through
# rv_evilproxy (tests/tools/evilproxy.c), a real socket proxy that lies on
# purpose:
#  A. stalls: one blob's body stops mid-way, another blob's answer never
#     starts, a third drips a byte every half second; regvault gives up on
#     each after its low-speed limit (under 1 KiB/s for 60 s,
#     util/httphdr.h), retries and completes;
#  B. a reset mid-blob on every attempt: exit 1 in bounded time, naming the
#     blob and the tag (the blob is fetched by a worker), no catalog row
#     for the blob, no snapshot;
#  C. persistent 5xx on a manifest and on a tag list: exit 1 naming the tag
#     and the repository; a 502 that goes away is retried and survived;
#  D. a blob served with wrong bytes under its right digest: exit 4 naming
#     the blob and the tag, no catalog row for it (with blob workers, and
#     with max_connections 1);
#  E. a truncated tag list, a malformed manifest (whose digest matches its
#     bytes), a malformed _catalog, a tag list whose next-page link leads
#     back to itself: a clean failure naming what (exit 1 or 4, the
#     manifest: exit 4);
#  F. oversized answers (a 1 GiB tag list with Content-Length, a 1 GiB
#     chunked manifest, a 1 GiB chunked _catalog): refused at the cap, not
#     read whole (bytes the proxy got to send; peak RSS).
# After each failing case a run without the fault completes and its
# snapshot restores digest-equal.
#
# Needs RV_EVILPROXY (the rv_evilproxy binary; looked for beside $REGVAULT
# in a CMake build tree, tests/tools/, when unset).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
# steps show the seconds since the start (the budget is about 3 minutes)
step() { echo "---- [${SECONDS} s] $*"; }
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

if [[ -z ${RV_EVILPROXY:-} ]]; then
	RV_EVILPROXY=$(dirname "$(command -v "$REGVAULT" 2>/dev/null || echo "$REGVAULT")")/tests/tools/rv_evilproxy
fi
[[ -x $RV_EVILPROXY ]] ||
	die "rv_evilproxy not found: RV_EVILPROXY='$RV_EVILPROXY' (build target rv_evilproxy and set RV_EVILPROXY)"

FAULTS=0   # faults injected
SURVIVED=0 # faults regvault got through (retried, or failed cleanly and recovered)
CASES=0

# start_evil NAME RULE...: an evil proxy in front of src; sets NAME_URL, NAME_LOG.
start_evil() {
	local name=$1 i port pf=$RV_WORK/$1.port rule
	shift
	local -a args=()
	for rule in "$@"; do args+=(--rule "$rule"); done
	"$RV_EVILPROXY" --upstream "$src_HOST" --log "$RV_WORK/$name.log" \
		--port-file "$pf" "${args[@]}" >/dev/null 2>"$RV_WORK/$name.err" &
	echo "$!" >>"$RV_PIDS_FILE"
	printf -v "${name}_PID" '%s' "$!"
	for ((i = 0; i < 100; i++)); do
		[[ -s $pf ]] && break
		sleep 0.05
	done
	[[ -s $pf ]] || die "evil proxy '$name' did not start: $(cat "$RV_WORK/$name.err")"
	port=$(cat "$pf")
	printf -v "${name}_URL" '%s' "http://127.0.0.1:$port"
	printf -v "${name}_LOG" '%s' "$RV_WORK/$name.log"
	: >>"$RV_WORK/$name.log"
}

# write_config FILE URL [REGISTRY OPTION LINES...]: source registry "reg" at
# URL, the case's own catalog and store ($CASE_DIR).
write_config() {
	local file=$1 url=$2 line
	shift 2
	printf '%s\n' "correct horse battery staple e2e" >"$RV_WORK/passphrase"
	chmod 600 "$RV_WORK/passphrase"
	{
		echo "catalog: $CASE_DIR/catalog.db"
		echo "key:"
		echo "  passphrase_file: $RV_WORK/passphrase"
		echo "registries:"
		echo "  - name: reg"
		echo "    url: $url"
		for line in "$@"; do echo "    $line"; done
		echo "sources:"
		echo "  - registry: reg"
		echo "targets:"
		echo "  - name: local"
		echo "    type: dir"
		echo "    path: $CASE_DIR/store"
	} >"$file"
	RV_CONFIG=$file
}

# case_begin NAME URL [OPTION LINES...]: a fresh catalog and store for a case
# whose source is at URL.
case_begin() {
	CASE_DIR=$RV_WORK/case-$1
	CASES=$((CASES + 1))
	mkdir -p "$CASE_DIR"
	write_config "$CASE_DIR/evil.yml" "$2" "${@:3}"
	rv_run 0 init
}

# timed_backup RC MAX_SECONDS [ARGS...]: backup through the current config;
# fails unless it exits RC within MAX_SECONDS (a hang is killed at
# MAX_SECONDS + 30 and fails the test). Sets TOOK (seconds) and PEAK_KB.
timed_backup() {
	local want=$1 max=$2 rc=0 t0 t1
	shift 2
	t0=$(date +%s.%N)
	timeout -k 5 $((max + 30)) /usr/bin/time -f '%M' -o "$RV_WORK/.rss" \
		"$REGVAULT" --config "$RV_CONFIG" backup "$@" >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	t1=$(date +%s.%N)
	TOOK=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	PEAK_KB=$(tail -n 1 "$RV_WORK/.rss" 2>/dev/null || echo 0)
	[[ $PEAK_KB =~ ^[0-9]+$ ]] || PEAK_KB=0
	if [[ $rc != "$want" ]]; then
		echo "---- stdout" >&2
		cat "$RV_OUT" >&2
		echo "---- stderr" >&2
		tail -n 60 "$RV_ERR" >&2
		[[ $rc == 124 || $rc == 137 ]] && die "backup hung: killed after $((max + 30)) s"
		die "backup exited $rc after $TOOK s, expected $want"
	fi
	awk -v t="$TOOK" -v m="$max" 'BEGIN { exit !(t <= m) }' ||
		die "backup took $TOOK s, more than the $max s allowed"
}

# err_has WHAT REGEX: the backup's stderr matches REGEX (grep -E).
err_has() {
	grep -qE -- "$2" "$RV_ERR" || {
		tail -n 40 "$RV_ERR" >&2
		die "$1: no line matching /$2/ in the backup's stderr"
	}
	pass "$1"
}

# blob_rows DIGEST: rows for DIGEST in the case's catalog's blobs table.
blob_rows() {
	sqlite3 "$CASE_DIR/catalog.db" "select count(*) from blobs where digest = '$1'"
}

snapshot_count() {
	sqlite3 "$CASE_DIR/catalog.db" "select count(*) from snapshots"
}

# recover: a backup without the fault completes; its snapshot restores
# digest-equal into a new registry.
RESTORES=0
recover() {
	local what=$1 name
	RESTORES=$((RESTORES + 1))
	name=dst$RESTORES
	write_config "$CASE_DIR/clean.yml" "$src_URL" "retries: 2"
	timed_backup 0 120 --json
	rv_expect_eq "$what: clean run tags_failed" "$(rv_json_field tags_failed)" 0
	rv_expect_eq "$what: clean run tags" "$(rv_json_field tags)" "$WANT_TAGS"
	rv_start_registry "$name"
	local url=${name}_URL
	rv_run 0 restore latest --to "${!url}" --json
	"$CHECK_EQUAL" "$src_URL" "${!url}" >"$RV_WORK/.check" ||
		{ cat "$RV_WORK/.check" >&2; die "$what: the restored registry differs from the source"; }
	pass "$what: after the fault, a clean run completes and restores digest-equal ($(tail -n 1 "$RV_WORK/.check"))"
	rv_stop_registry "$name"
}

# fails_naming WHAT REGEX: a backup exits 1 or 4 with REGEX on stderr, and
# leaves no snapshot.
fails_naming() {
	local rc=0
	"$REGVAULT" --config "$RV_CONFIG" backup >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	[[ $rc == 1 || $rc == 4 ]] || { cat "$RV_ERR" >&2; die "$1: exit $rc, expected 1 or 4"; }
	err_has "$1 is named (exit $rc)" "$2"
	rv_expect_eq "$1: snapshots" "$(snapshot_count)" 0
}

# blob_size DIGEST: the size the source gives for a blob of big/layers.
blob_size() {
	curl -fsSI "$src_URL/v2/big/layers/blobs/$1" | tr -d '\r' |
		awk 'tolower($1) == "content-length:" { print $2 }'
}

step "a source: part of the sample set, an index, and an image with MiB-sized layers"
rv_start_registry src
layout=$(_mk_layout_dir)
mk_sample_layout "$layout"
push "$layout" abc "$src_URL" a/b/c:1.0
reg_tag "$src_URL" a/b/c 1.0 latest
push "$layout" api-v1 "$src_URL" team-a/api:v1
push "$layout" api-v2 "$src_URL" team-a/api:v2
reg_tag "$src_URL" team-a/api v2 prod
push "$layout" multi "$src_URL" multi/arch:latest --all
push "$layout" many-1 "$src_URL" many/tags:t00
push "$layout" many-2 "$src_URL" many/tags:t01
reg_tag "$src_URL" many/tags t01 t02
mk_image "$layout" big big linux amd64 "" big-a:3145728 big-b:1572864 big-c:1048576
push "$layout" big "$src_URL" big/layers:1
WANT_TAGS=$(rv_tag_count "$src_URL")
big_manifest=$(rv_get_manifest "$src_URL" big/layers 1)
BIG_A=$(jq -r '.layers[0].digest' <<<"$big_manifest")
BIG_B=$(jq -r '.layers[1].digest' <<<"$big_manifest")
BIG_C=$(jq -r '.layers[2].digest' <<<"$big_manifest")
note "source: $WANT_TAGS tags; big/layers:1 has layers $BIG_A ($(blob_size "$BIG_A") bytes) and $BIG_B ($(blob_size "$BIG_B") bytes)"

# ---------------------------------------------------------------------------
step "A. stalls: a blob body stops mid-way, another blob's answer never starts, a third drips"
start_evil stall \
	"GET /v2/big/layers/blobs/$BIG_A stall:200000:150 1" \
	"GET /v2/big/layers/blobs/$BIG_B stallhead:150 1" \
	"GET /v2/big/layers/blobs/$BIG_C drip:100000:500 1"
FAULTS=$((FAULTS + 3))
case_begin stall "$stall_URL" "retries: 3"
timed_backup 0 110 --json
rv_expect_eq "A: tags_failed after two stalls and a drip" "$(rv_json_field tags_failed)" 0
rv_expect_eq "A: tags" "$(rv_json_field tags)" "$WANT_TAGS"
note "A: backup took $TOOK s; the proxy saw: $(grep -E '^(stall|drip)' "$stall_LOG" | tr '\n' ';')"
for kind in "stall GET /v2/big/layers/blobs/$BIG_A 200000 of" "stallhead GET /v2/big/layers/blobs/$BIG_B" \
	"drip GET /v2/big/layers/blobs/$BIG_C 100000 of"; do
	line=$(grep -F "$kind" "$stall_LOG") || die "A: the proxy never stalled: $kind"
	waited=$(sed -n 's/.*client left after \([0-9.]*\) s$/\1/p' <<<"$line")
	[[ -n $waited ]] || die "A: regvault did not give up on a stalled answer: $line"
	awk -v w="$waited" 'BEGIN { exit !(w >= 50 && w <= 90) }' ||
		die "A: regvault gave up after $waited s, expected about 60 s (CURLOPT_LOW_SPEED_TIME)"
done
pass "A: regvault gave up on each stalled or dripping answer after about 60 s, retried and completed"
err_has "A: the stalled blob's retry is logged" "registry 'reg': .*(timeout|timed out|Timeout|slow|speed).*(retry|resum)|resuming blob $BIG_A"
grep -q "^pass GET /v2/big/layers/blobs/$BIG_B 20[06]" "$stall_LOG" || die "A: $BIG_B was never fetched again"
SURVIVED=$((SURVIVED + 3))
rv_expect_eq "A: blob rows for the stalled blobs" "$(blob_rows "$BIG_A")$(blob_rows "$BIG_B")$(blob_rows "$BIG_C")" 111
recover A

# ---------------------------------------------------------------------------
step "B. a reset mid-blob on every attempt: exit 1 in bounded time, naming the blob and the tag"
start_evil rst "GET /v2/big/layers/blobs/$BIG_A rst:100000"
FAULTS=$((FAULTS + 1))
case_begin rst "$rst_URL" "retries: 2"
timed_backup 1 40
n_rst=$(grep -c "^rst GET /v2/big/layers/blobs/$BIG_A" "$rst_LOG" || true)
note "B: failed after $TOOK s, $n_rst resets"
((n_rst >= 2 && n_rst <= 6)) || die "B: $n_rst resets for 2 retries"
err_has "B: the failure names the tag and the blob" "big/layers:1.*$BIG_A|$BIG_A.*big/layers:1"
rv_expect_eq "B: catalog rows for the reset blob" "$(blob_rows "$BIG_A")" 0
rv_expect_eq "B: snapshots after the failed run" "$(snapshot_count)" 0
recover B
SURVIVED=$((SURVIVED + 1))

# ---------------------------------------------------------------------------
step "C. 5xx: 500 on a manifest, 503 on a tag list (every time); a 502 that goes away"
v1=$(rv_manifest_digest "$src_URL" team-a/api v1)
start_evil http5xx \
	"* /v2/team-a/api/manifests/(v1|$v1)\$ status:500" \
	"GET /v2/many/tags/tags/list status:503" \
	"HEAD /v2/a/b/c/manifests/latest\$ status:502 2"
FAULTS=$((FAULTS + 3))
case_begin http5xx "$http5xx_URL" "retries: 3"
timed_backup 1 60 --json
note "C: failed after $TOOK s: $(grep 'error' "$RV_ERR" | head -n 3 | tr '\n' ' ')"
err_has "C: the 500 names team-a/api:v1" "team-a/api:v1"
err_has "C: the 503 names many/tags' tag list" "many/tags"
rv_expect_eq "C: tags_failed" "$(rv_json_field tags_failed)" 1
grep -q "^pass HEAD /v2/a/b/c/manifests/latest 200" "$http5xx_LOG" || die "C: a/b/c:latest was never asked for again after its 502s"
err_has "C: the 502s were retried" "registry 'reg': 502 .* on HEAD /v2/a/b/c/manifests/latest; retry 1 of 3"
grep -qE "a/b/c:latest" "$RV_ERR" && grep -E "a/b/c:latest" "$RV_ERR" | grep -qiE 'fail|skip|error' &&
	die "C: a/b/c:latest failed although its 502s went away"
rv_expect_eq "C: snapshots after the failed run" "$(snapshot_count)" 0
SURVIVED=$((SURVIVED + 1))
recover C
SURVIVED=$((SURVIVED + 2))

# ---------------------------------------------------------------------------
step "D. a blob with wrong bytes under its right digest: exit 4 naming the blob and the tag"
for conns in 4 1; do
	start_evil "flip$conns" "GET /v2/big/layers/blobs/$BIG_B flip:700000"
	FAULTS=$((FAULTS + 1))
	url=flip${conns}_URL
	case_begin "flip$conns" "${!url}" "retries: 2" "max_connections: $conns"
	timed_backup 4 60 --json
	log=flip${conns}_LOG
	grep -q "^flip GET /v2/big/layers/blobs/$BIG_B byte 700000" "${!log}" || die "D: the proxy flipped nothing"
	err_has "D ($conns connections): the failure names the tag and the blob" \
		"big/layers:1.*$BIG_B|$BIG_B.*big/layers:1"
	rv_expect_eq "D ($conns connections): tags_failed" "$(rv_json_field tags_failed)" 1
	rv_expect_eq "D ($conns connections): catalog rows for the wrong blob" "$(blob_rows "$BIG_B")" 0
	rv_expect_eq "D ($conns connections): snapshots" "$(snapshot_count)" 0
	recover "D ($conns connections)"
	SURVIVED=$((SURVIVED + 1))
done

# ---------------------------------------------------------------------------
step "E. malformed JSON: a truncated tag list, a manifest that parses to nothing"
printf '{"name":"team-a/api","tags":["v1","v2"' >"$RV_WORK/trunc-tags.json"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' >"$RV_WORK/bad-manifest.json"
bad_digest=sha256:$(sha256sum "$RV_WORK/bad-manifest.json" | cut -c1-64)
start_evil malformed \
	"GET /v2/team-a/api/tags/list replace:$RV_WORK/trunc-tags.json" \
	"* /v2/a/b/c/manifests/(latest\$|$bad_digest) replace:$RV_WORK/bad-manifest.json:$bad_digest"
FAULTS=$((FAULTS + 2))
case_begin malformed "$malformed_URL" "retries: 2"
timed_backup 4 60 --json
note "E: $(grep -E 'team-a/api|a/b/c' "$RV_ERR" | head -n 4 | tr '\n' ' ')"
err_has "E: the truncated tag list is named" "team-a/api.*(tag|JSON|json)|(tag|JSON|json).*team-a/api"
err_has "E: the malformed manifest is named with its tag" "a/b/c:latest"
rv_expect_eq "E: snapshots" "$(snapshot_count)" 0
recover E
SURVIVED=$((SURVIVED + 2))

step "E. a malformed _catalog"
printf '{"repositories":["a/b/c","team-a/api",' >"$RV_WORK/trunc-catalog.json"
start_evil badcat "GET /v2/_catalog replace:$RV_WORK/trunc-catalog.json"
FAULTS=$((FAULTS + 1))
case_begin badcat "$badcat_URL" "retries: 2"
fails_naming "E: the malformed _catalog" "catalog|repositories"
recover "E (_catalog)"
SURVIVED=$((SURVIVED + 1))

step "E. a tag list whose next-page link leads back to itself"
start_evil loop "GET /v2/many/tags/tags/list link:/v2/many/tags/tags/list?n=1000"
FAULTS=$((FAULTS + 1))
case_begin loop "$loop_URL" "retries: 1"
fails_naming "E: the looping tag list" "many/tags.*leads back|leads back.*many/tags"
n_pages=$(grep -c "^link GET /v2/many/tags/tags/list" "$loop_LOG" || true)
((n_pages <= 4)) || die "E: regvault read $n_pages pages of a looping list"
recover "E (looping tag list)"
SURVIVED=$((SURVIVED + 1))

# ---------------------------------------------------------------------------
step "F. oversized answers: 1 GiB tag list, 1 GiB chunked manifest, 1 GiB chunked _catalog"
GIB=1073741824
start_evil huge \
	"GET /v2/many/tags/tags/list huge:$GIB" \
	"GET /v2/team-a/api/manifests/sha256: huge:$GIB:chunked"
FAULTS=$((FAULTS + 2))
case_begin huge "$huge_URL" "retries: 1"
timed_backup 1 60 --json
note "F: failed after $TOOK s, peak RSS $((PEAK_KB / 1024)) MiB; proxy: $(grep '^huge' "$huge_LOG" | sed 's/ sent / sent /' | tr '\n' ';')"
err_has "F: the oversized tag list is named" "many/tags"
err_has "F: the oversized manifest is named" "team-a/api:(v1|v2|prod)"
max_sent=0
while read -r sent; do
	((sent > max_sent)) && max_sent=$sent
done < <(sed -n 's/^huge .* sent \([0-9]*\) of .*/\1/p' "$huge_LOG")
[[ $(grep -c '^huge' "$huge_LOG") -ge 2 ]] || die "F: the proxy served $(grep -c '^huge' "$huge_LOG") huge answers, expected 2 or more"
((max_sent < 64 * 1048576)) || die "F: regvault read $max_sent bytes of a 1 GiB answer before giving up"
((PEAK_KB < 300 * 1024)) || die "F: peak RSS $((PEAK_KB / 1024)) MiB"
pass "F: each 1 GiB answer refused after at most $((max_sent / 1048576)) MiB; peak RSS $((PEAK_KB / 1024)) MiB"
recover F
SURVIVED=$((SURVIVED + 2))

start_evil hugecat "GET /v2/_catalog huge:$GIB:chunked"
FAULTS=$((FAULTS + 1))
case_begin hugecat "$hugecat_URL" "retries: 1"
timed_backup 1 60
sent=$(sed -n 's/^huge .* sent \([0-9]*\) of .*/\1/p' "$hugecat_LOG" | sort -n | tail -n 1)
[[ -n $sent ]] || die "F: the proxy served no huge _catalog"
((sent < 64 * 1048576)) || die "F: regvault read $sent bytes of a 1 GiB _catalog"
err_has "F: the oversized _catalog is named" "catalog"
pass "F: a 1 GiB chunked _catalog refused after $((sent / 1048576)) MiB; peak RSS $((PEAK_KB / 1024)) MiB"
recover "F (_catalog)"
SURVIVED=$((SURVIVED + 1))

echo "# figures: $FAULTS faults injected in $CASES cases, $SURVIVED survived (retried through, or a clean failure that named what and a clean run after it that restored digest-equal)"
pass "registry faults: every fault detected or survived"
