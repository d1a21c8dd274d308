#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_faults.sh - politeness and faults: a backup through a proxy that cuts
# blob downloads mid-body (connection closed, reset, or a body that ends
# short), answers 429 with Retry-After and 503 now and then, completes with
# every blob verified; the retries and resumes show in regvault's log and
# match what the proxy did; the snapshot restores digest-equal. A request
# budget too small for the run stops it with exit 1 and a message that
# names the budget.
#
# Needs RV_FAULTPROXY (the rv_faultproxy binary; looked for beside $REGVAULT
# in a CMake build tree, tests/tools/, when unset).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

rv_need_faultproxy

CUT_BYTES=100000
EVERY_429=11
EVERY_503=7


# write_config FILE [REGISTRY OPTION LINES...]: the source is the registry
# "flaky" at $flaky_URL (behind a proxy); the extra lines go under it.
# $CFG_CATALOG and $CFG_STORE override the catalog and dir target paths.
write_config() {
	local file=$1 line
	shift
	printf '%s\n' "correct horse battery staple e2e" >"$RV_WORK/passphrase"
	chmod 600 "$RV_WORK/passphrase"
	{
		echo "catalog: ${CFG_CATALOG:-$RV_WORK/catalog.db}"
		echo "key:"
		echo "  passphrase_file: $RV_WORK/passphrase"
		echo "registries:"
		echo "  - name: flaky"
		echo "    url: $flaky_URL"
		for line in "$@"; do echo "    $line"; done
		echo "  - name: dst"
		echo "    url: $dst_URL"
		echo "sources:"
		echo "  - registry: flaky"
		echo "targets:"
		echo "  - name: local"
		echo "    type: dir"
		echo "    path: ${CFG_STORE:-$RV_WORK/store}"
	} >"$file"
	RV_CONFIG=$file
}

# count PATTERN FILE: lines of FILE matching the extended regex PATTERN.
count() {
	grep -cE "$1" "$2" || true
}

step "start registries; the sample set plus an image with MiB-sized layers"
rv_start_registry src
rv_start_registry dst
populate "$src_URL"
layout=$(_mk_layout_dir)
mk_image "$layout" big big linux amd64 "" big-a:3145728 big-b:5242880 big-c:1572864
push "$layout" big "$src_URL" big/layers:1
want_tags=$(rv_tag_count "$src_URL")
want_blobs=$(rv_blob_set "$src_URL" | wc -l)
big_blobs=0
declare -A sized=()
while read -r repo d; do
	[[ -n ${sized[$d]:-} ]] && continue
	sized[$d]=$(curl -fsSI "$src_URL/v2/$repo/blobs/$d" | tr -d '\r' |
		awk 'tolower($1) == "content-length:" { print $2 }')
	((sized[$d] > CUT_BYTES)) && big_blobs=$((big_blobs + 1))
done < <(rv_blob_pairs "$src_URL")
note "source: $want_tags tags, $want_blobs blobs, $big_blobs above $CUT_BYTES bytes"
((big_blobs >= 6)) || die "fixture: only $big_blobs blobs above $CUT_BYTES bytes"

step "the fault proxy in front of the source"
rv_start_faultproxy flaky "$src_HOST" --cut-first --cut-bytes "$CUT_BYTES" \
	--cut-mode mix --every-429 "$EVERY_429" --every-503 "$EVERY_503" \
	--retry-after 1
note "proxy at $flaky_URL: cut each blob above $CUT_BYTES bytes once (fin, rst, short in turn), 429 every ${EVERY_429}th request, 503 every ${EVERY_503}th"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$flaky_URL/v2/")
[[ $code == 200 ]] || die "GET /v2/ through the proxy gave HTTP $code"
rv_expect_eq "a request through the proxy" "$code" 200

write_config "$RV_WORK/regvault.yml" "retries: 8"
rv_run 0 init

step "backup through the faults"
t0=$(date +%s)
rv_run 0 backup --json
t1=$(date +%s)
cp "$RV_ERR" "$RV_WORK/backup.err"
cp "$RV_OUT" "$RV_WORK/backup.json"
jq -e . "$RV_OUT" >/dev/null || die "backup --json is not JSON: $(cat "$RV_OUT")"
rv_expect_eq "backup tags" "$(rv_json_field tags)" "$want_tags"
rv_expect_eq "backup tags_failed" "$(rv_json_field tags_failed)" 0
rv_expect_eq "backup blobs_fetched (every blob, verified)" "$(rv_json_field blobs_fetched)" "$want_blobs"
note "backup took $((t1 - t0)) s"

step "what the proxy did"
log=$flaky_LOG
n_req=$(wc -l <"$log")
n_cut=$(count '^cut ' "$log")
n_fin=$(count '^cut .* fin$' "$log")
n_rst=$(count '^cut .* rst$' "$log")
n_short=$(count '^cut .* short$' "$log")
n_429=$(count '^429 ' "$log")
n_503=$(count '^503 ' "$log")
note "proxy: $n_req requests, $n_cut cuts ($n_fin fin, $n_rst rst, $n_short short), $n_429 x 429, $n_503 x 503"
rv_expect_eq "blobs cut once each (every blob above $CUT_BYTES bytes)" "$n_cut" "$big_blobs"
((n_fin >= 1 && n_rst >= 1 && n_short >= 1)) || die "not every cut mode happened"
pass "cuts of every kind happened"
((n_429 >= 2 && n_503 >= 2)) || die "too few throttles: $n_429 x 429, $n_503 x 503"
pass "429s and 503s happened"
# No request after a cut or a fault was dropped: every cut blob was fetched
# again with Range and passed.
n_range=$(count '^pass GET /v2/.*/blobs/sha256:[0-9a-f]{64} 206$' "$log")
note "resumed GETs answered 206: $n_range"

step "what regvault logged"
err=$RV_WORK/backup.err
l_resume=$(count "^.*registry 'flaky': resuming blob sha256:[0-9a-f]{64} of '[^']+' at byte [1-9][0-9]* of [0-9]+" "$err")
l_429=$(count "registry 'flaky': 429 Too Many Requests on (GET|HEAD) /v2/[^ ]*; waiting 1 s \(Retry-After\); retry [0-9]+ of 8" "$err")
l_503=$(count "registry 'flaky': 503 Service Unavailable on (GET|HEAD) /v2/[^ ]*; retry [0-9]+ of 8 in [0-9]+\.[0-9]{3} s" "$err")
l_net=$(count "registry 'flaky': .* on [A-Z]+ /v2/[^ ]*; retry [0-9]+ of 8 in" "$err")
l_net=$((l_net - l_503))
note "regvault: $l_resume resumes, $l_429 Retry-After waits, $l_503 retries after 503, $l_net retries after a broken connection"
rv_expect_eq "a Retry-After line per 429" "$l_429" "$n_429"
rv_expect_eq "a retry line per 503" "$l_503" "$n_503"
# A cut resumes at the byte it reached; only a reset that threw away every
# body byte before the client read one is retried whole instead.
rv_expect_eq "a resume or a retry per cut" "$((l_resume + l_net))" "$n_cut"
((l_resume >= n_cut - n_rst)) || die "$l_resume resumes for $n_cut cuts ($n_rst resets)"
pass "every fin and short cut resumed with Range"
rv_expect_eq "resumes answered 206" "$n_range" "$l_resume"
rv_expect_eq "backup --json resumed" "$(jq -r .resumed "$RV_WORK/backup.json")" "$l_resume"
rv_expect_eq "backup --json throttled" "$(jq -r .throttled "$RV_WORK/backup.json")" "$n_429"
if grep -qiE 'authorization|bearer|password' "$err"; then
	die "the log mentions credentials: $(grep -iE 'authorization|bearer|password' "$err")"
fi
pass "no credentials in the log"

step "the snapshot restores digest-equal"
rv_run 0 restore latest --to dst --json
rv_expect_eq "restore tags" "$(rv_json_field tags)" "$want_tags"
"$CHECK_EQUAL" "$src_URL" "$dst_URL" || die "restored registry differs from the source"
pass "destination is digest-equal to the source"

step "a request budget too small for the run"
write_config "$RV_WORK/budget.yml" "retries: 8" "request_budget: 5"
rv_run 1 backup
grep -q "registry 'flaky': the request budget of 5 requests for this run is spent; raise registries\[\].request_budget or run again later" "$RV_ERR" ||
	die "no budget message in: $(cat "$RV_ERR")"
pass "the backup stops with exit 1 and names the budget"

step "a server that ignores Range: a resume skips the bytes it already has"
rv_start_registry dst2
rv_start_faultproxy norange "$src_HOST" --cut-first --cut-bytes "$CUT_BYTES" \
	--cut-mode mix --strip-range
flaky_URL=$norange_URL
CFG_CATALOG=$RV_WORK/catalog2.db CFG_STORE=$RV_WORK/store2 \
	write_config "$RV_WORK/norange.yml" "retries: 8"
rv_run 0 init
rv_run 0 backup --json
rv_expect_eq "backup tags_failed" "$(rv_json_field tags_failed)" 0
rv_expect_eq "backup blobs_fetched" "$(rv_json_field blobs_fetched)" "$want_blobs"
log=$norange_LOG
n_cut=$(count '^cut ' "$log")
n_rst=$(count '^cut .* rst$' "$log")
rv_expect_eq "blobs cut once each" "$n_cut" "$big_blobs"
l_resume=$(count "registry 'flaky': resuming blob sha256:[0-9a-f]{64} of '[^']+' at byte [1-9]" "$RV_ERR")
l_all=$(count "registry 'flaky': .* on [A-Z]+ /v2/[^ ]*; retry [0-9]+ of 8 in" "$RV_ERR")
rv_expect_eq "a resume or a retry per cut" "$((l_resume + l_all))" "$n_cut"
((l_resume >= n_cut - n_rst)) || die "$l_resume resumes for $n_cut cuts ($n_rst resets)"
n_206=$(count ' 206$' "$log")
rv_expect_eq "answers 206 (the proxy drops Range)" "$n_206" 0
pass "$l_resume resumes answered 200 and skipped what was already hashed"
rv_run 0 restore latest --to "$dst2_URL" --json
"$CHECK_EQUAL" "$src_URL" "$dst2_URL" || die "restored registry differs from the source"
pass "destination is digest-equal to the source"

pass "all fault assertions hold"
