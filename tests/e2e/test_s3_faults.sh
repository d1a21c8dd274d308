#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_s3_faults.sh - an s3 target (a real Ceph RGW) behind the fault proxy
# (tests/tools/faultproxy.c, plain HTTP, any path):
#  - flaky: every Nth request answered 503 or 500 (S3 error documents), the
#    first PUT of every object and multipart part cut mid-body, the first
#    GET of every object cut mid-response. A backup and a restore through
#    it complete; every retry shows in regvault's log, one per fault the
#    proxy injected; the snapshot restores digest-equal;
#  - down: an endpoint that answers every request 503 fails the backup
#    cleanly (exit 1, the target named, no snapshot); the next run, with
#    the endpoint healthy, completes and passes verify --level deep;
#  - gone mid-run: with a dir target beside it, the proxy is killed once the
#    catalog records a pack (connections refused): write_policy all fails
#    cleanly, quorum 1 completes with a warning naming the target; with the
#    proxy back on its port the next run completes and verifies.
# After every run: nothing recorded in the catalog that is not on the
# bucket (listed with rv_s3, each pack read back and hashed), no object
# under a final pack name that does not hash to it.
#
# Needs RV_FAULTPROXY (the rv_faultproxy binary) and Ceph (scripts/deps.sh).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/s3lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
rv_need_faultproxy
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh
# In a sanitizer build every report (of regvault, of the proxy, of a run in
# the background) lands in a file here; any one fails the test at the end.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$RV_WORK/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$RV_WORK/sanitizer"

EVERY_503=9
EVERY_500=13
CUT_GET=100000
CUT_PUT=65536

declare -A FAULTS=()
N_COMPLETED=0
N_CLEAN=0
N_DEFECTS=0
defect() {
	echo "DEFECT [$RV_TEST_NAME]: $*" >&2
	N_DEFECTS=$((N_DEFECTS + 1))
}
count() { grep -cE "$1" "$2" || true; }

step "a source with ~50 MB of incompressible layers and small images; Ceph RGW"
rv_start_registry src
layout=$RV_WORK/layout
oci_init "$layout"
RV_LAYER_COMPRESS=none mk_image "$layout" heavy heavy linux amd64 "" \
	s3-heavy-1:12582912 s3-heavy-2:12582912 s3-heavy-3:12582912 s3-heavy-4:12582912 \
	s3-heavy-5:4194304
mk_image "$layout" small1 small1 linux amd64 "" s3-small-base:131072 s3-small-1:65536
mk_image "$layout" small2 small2 linux amd64 "" s3-small-base:131072 s3-small-2:65536
push "$layout" heavy "$src_URL" heavy/app:1
push "$layout" small1 "$src_URL" small/one:1
push "$layout" small2 "$src_URL" small/one:2
want_tags=$(rv_tag_count "$src_URL")
rv_start_rgw
S3_DIRECT=$S3_ENDPOINT
# the source through a throttled proxy (8 MiB/s), for the case that acts
# while a backup runs
rv_start_faultproxy slow "$src_HOST" --throttle-kbps 8192

# proxy NAME ARGS...: a fault proxy in front of the RGW (NAME_URL).
proxy() {
	local name=$1
	shift
	rv_start_faultproxy "$name" "${S3_DIRECT#http://}" --xml-errors "$@"
}

CASE=
CAT=
BUCKET=
# case_new NAME ENDPOINT_URL POLICY [dir]: a fresh bucket, catalog and
# config with an s3 target 'offsite' at ENDPOINT_URL (8 MiB parts, so a
# pack goes up in several), and a dir target 'local' first when "dir".
# SOURCE: the registry backed up (src, or slow).
case_new() {
	local name=$1 endpoint=$2 policy=$3 with_dir=${4:-}
	CASE=$name
	CASE_T0=$SECONDS
	CASE_DIR=$RV_WORK/cases/$name
	mkdir -p "$CASE_DIR"
	CAT=$CASE_DIR/catalog.db
	BUCKET=rv-$name-$RANDOM$RANDOM
	step "case $CASE"
	rv_s3_bucket "$BUCKET"
	rv_config --max-connections 1 --catalog "$CAT" --store "$CASE_DIR/local" \
		"$CASE_DIR/regvault.yml" "${SOURCE:-src}"
	if [[ $with_dir != dir ]]; then
		sed -i '/^targets:$/,$d' "$RV_CONFIG"
		echo "targets:" >>"$RV_CONFIG"
	fi
	S3_ENDPOINT=$endpoint rv_s3_target_yaml offsite "$BUCKET" "prefix: rv/" "part_size_mb: 8" >>"$RV_CONFIG"
	if [[ $policy == all ]]; then
		echo "write_policy: all" >>"$RV_CONFIG"
	else
		echo "write_policy: { quorum: $policy }" >>"$RV_CONFIG"
	fi
	CASE_POLICY=$policy
	CASE_DIRTARGET=$with_dir
}

# bucket_keys PREFIX: every key under PREFIX on the bucket (read directly,
# not through the proxy).
bucket_keys() {
	local token="" page prefix
	prefix=$(jq -rn --arg p "$1" '$p | @uri')
	while :; do
		page=$(rv_s3 GET "/$BUCKET?list-type=2&prefix=$prefix${token:+&continuation-token=$token}")
		grep -o '<Key>[^<]*</Key>' <<<"$page" | sed 's/<Key>\(.*\)<\/Key>/\1/' || true
		grep -q '<IsTruncated>true</IsTruncated>' <<<"$page" || break
		token=$(sed -n 's/.*<NextContinuationToken>\([^<]*\)<.*/\1/p' <<<"$page" | jq -rR '@uri')
	done
}

# check_durable WHEN: every pack the catalog places on 'offsite' is on the
# bucket and hashes to its id; every object under a pack name hashes to
# it; each snapshot's record and seal are on the bucket when the catalog
# needs it there; PRAGMA integrity_check ok.
check_durable() {
	local when=$1 id key n=0 d0=$N_DEFECTS sid uploads
	[[ $(sqlite3 "$CAT" "pragma integrity_check") == ok ]] ||
		defect "$CASE ($when): catalog integrity_check failed"
	bucket_keys rv/ >"$CASE_DIR/keys.txt"
	while read -r id; do
		n=$((n + 1))
		if ! grep -qx "rv/packs/${id:0:2}/$id" "$CASE_DIR/keys.txt"; then
			defect "$CASE ($when): the catalog records pack $id on 'offsite', but the bucket does not list it"
		fi
	done < <(sqlite3 "$CAT" "select p.pack_id from pack_locations l join packs p on p.id = l.pack
		join targets t on t.id = l.target where t.name = 'offsite'")
	while read -r key; do
		[[ $key =~ ^rv/packs/[0-9a-f]{2}/([0-9a-f]{64})$ ]] || continue
		id=${BASH_REMATCH[1]}
		[[ $(rv_s3 GET "/$BUCKET/$key" | sha256sum | cut -c1-64) == "$id" ]] ||
			defect "$CASE ($when): object $key on the bucket does not hash to its name"
	done <"$CASE_DIR/keys.txt"
	if [[ $CASE_POLICY == all || $CASE_DIRTARGET != dir ]]; then
		for sid in $(sqlite3 "$CAT" "select snap_id from snapshots"); do
			if ! grep -qx "rv/snapshots/$sid" "$CASE_DIR/keys.txt" ||
				! grep -qx "rv/seals/$sid" "$CASE_DIR/keys.txt"; then
				defect "$CASE ($when): snapshot $sid is in the catalog, its record or seal not on the bucket"
			fi
		done
	fi
	uploads=$(rv_s3 GET "/$BUCKET?uploads=" | grep -c '<UploadId>' || true)
	((N_DEFECTS > d0)) && return 0
	note "$CASE ($when): $n pack(s) recorded on 'offsite', each on the bucket and hashing; $(grep -c . "$CASE_DIR/keys.txt") object(s); $uploads unfinished multipart upload(s)"
}

snapshots() { sqlite3 "$CAT" "select count(*) from snapshots"; }

DST_N=0
restore_check() {
	local name urlvar
	DST_N=$((DST_N + 1))
	name=dst$DST_N
	rv_start_registry "$name"
	urlvar=${name}_URL
	if ! rv restore latest --to "${!urlvar}" --json >"$CASE_DIR/restore.out" 2>"$CASE_DIR/restore.err"; then
		defect "$CASE: the restore failed: $(grep -v referrers "$CASE_DIR/restore.err")"
	elif ! "$CHECK_EQUAL" "$src_URL" "${!urlvar}" >"$CASE_DIR/check_equal.txt"; then
		defect "$CASE: the restore differs from the source: $(cat "$CASE_DIR/check_equal.txt")"
	else
		pass "$CASE: the latest snapshot restores digest-equal ($(tail -1 "$CASE_DIR/check_equal.txt"))"
	fi
	rv_stop_registry "$name"
}

# outcome RC WHAT: judge a faulted run (output in $CASE_DIR/fault.err).
outcome() {
	local rc=$1 what=$2 before=$3 err=$CASE_DIR/fault.err
	case $rc in
	0)
		[[ $(snapshots) -gt $before ]] || defect "$CASE: exit 0 but no snapshot recorded"
		check_durable "after the faulted run"
		N_COMPLETED=$((N_COMPLETED + 1))
		note "$CASE: outcome: the backup completed"
		;;
	1)
		grep -q "target 'offsite'" "$err" ||
			defect "$CASE: the failure does not name target 'offsite': $(grep -v referrers "$err")"
		grep -qiE "$what" "$err" ||
			defect "$CASE: the failure does not say '$what': $(grep -v referrers "$err")"
		[[ $(snapshots) == "$before" ]] || defect "$CASE: the failed run recorded a snapshot"
		check_durable "after the failed run"
		N_CLEAN=$((N_CLEAN + 1))
		note "$CASE: outcome: exit 1: $(grep -m1 'error:' "$err")"
		;;
	*)
		defect "$CASE: the faulted run exited $rc (want 0, or 1 for a clean failure): $(grep -v referrers "$err")"
		check_durable "after the faulted run"
		;;
	esac
}

# after_clear: the next run completes, and verify --level deep passes.
after_clear() {
	local before
	before=$(snapshots)
	if ! rv backup --json >"$RV_OUT" 2>"$RV_ERR"; then
		defect "$CASE: the backup after the fault was cleared failed: $(grep -v referrers "$RV_ERR")"
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

# ---- flaky: 5xx, PUTs and GETs cut; the backup and the restore go through --------

proxy flaky --every-503 "$EVERY_503" --every-500 "$EVERY_500" \
	--cut-put "$CUT_PUT" --cut-any-path --cut-first --cut-bytes "$CUT_GET" --cut-mode mix
case_new flaky "$flaky_URL" all
rv_run 0 init
rv_run 0 backup --json
cp "$RV_ERR" "$CASE_DIR/backup.err"
cp "$RV_OUT" "$CASE_DIR/backup.json"
check_durable "after the backup"
N_COMPLETED=$((N_COMPLETED + 1))
rv_expect_eq "$CASE: backup tags" "$(rv_json_field tags)" "$want_tags"
log=$flaky_LOG
cp "$log" "$CASE_DIR/proxy-backup.log"
p503=$(count '^503 ' "$log")
p500=$(count '^500 ' "$log")
pput=$(count '^cut PUT ' "$log")
pget=$(count '^cut GET ' "$log")
err=$CASE_DIR/backup.err
l503=$(count "s3 target 'offsite': [a-z ]+ '[^']*' failed \(503 ServiceUnavailable\); retrying in" "$err")
l500=$(count "s3 target 'offsite': [a-z ]+ '[^']*' failed \(500 InternalError\); retrying in" "$err")
lconn=$(count "s3 target 'offsite': [a-z ]+ '[^']*' failed \(connection error\); retrying in" "$err")
note "backup: proxy injected $p503 x 503, $p500 x 500, $pput PUTs cut, $pget GETs cut; regvault logged $l503 + $l500 + $lconn retries (503, 500, connection)"
((p503 >= 2 && p500 >= 1 && pput >= 2)) || die "too few faults injected in the backup: $p503 x 503, $p500 x 500, $pput PUTs cut"
[[ $l503 == "$p503" ]] || defect "$CASE: $p503 answers 503 but $l503 retry lines for them"
[[ $l500 == "$p500" ]] || defect "$CASE: $p500 answers 500 but $l500 retry lines for them"
[[ $lconn == $((pput + pget)) ]] || defect "$CASE: $((pput + pget)) connections cut but $lconn retry lines for them"
pass "$CASE: every fault in the backup shows in the log as a retry"
FAULTS[503]=$p503
FAULTS[500]=$p500
FAULTS[put-cut]=$pput
FAULTS[get-cut]=$pget
if grep -qaF "$S3_SECRET_KEY" "$err" "$CASE_DIR/backup.json"; then die "the S3 secret appears in the output"; fi

step "restore through the same faults (GETs of pack ranges cut, 5xx)"
: >"$log"
restore_check
p503=$(count '^503 ' "$log")
p500=$(count '^500 ' "$log")
pget=$(count '^cut GET ' "$log")
err=$CASE_DIR/restore.err
l503=$(count "s3 target 'offsite': [a-z ]+ '[^']*' failed \(503 ServiceUnavailable\); retrying in" "$err")
l500=$(count "s3 target 'offsite': [a-z ]+ '[^']*' failed \(500 InternalError\); retrying in" "$err")
lconn=$(count "s3 target 'offsite': [a-z ]+ '[^']*' failed \(connection error\); retrying in" "$err")
note "restore: proxy injected $p503 x 503, $p500 x 500, $pget GETs cut; regvault logged $l503 + $l500 + $lconn retries"
((p503 + p500 + pget >= 3)) || die "too few faults injected in the restore: $p503 x 503, $p500 x 500, $pget GETs cut"
[[ $((l503 + l500 + lconn)) == $((p503 + p500 + pget)) ]] ||
	defect "$CASE: the restore met $((p503 + p500 + pget)) faults but logged $((l503 + l500 + lconn)) retries"
FAULTS[503]=$((FAULTS[503] + p503))
FAULTS[500]=$((FAULTS[500] + p500))
FAULTS[get-cut]=$((FAULTS[get-cut] + pget))
after_clear

# ---- down: every request answered 503 ----------------------------------------------

proxy down --every-503 1
case_new down "$down_URL" all
# init on the healthy endpoint; the backup meets the outage
sed -i "s|endpoint: $down_URL|endpoint: $S3_DIRECT|" "$RV_CONFIG"
rv_run 0 init
sed -i "s|endpoint: $S3_DIRECT|endpoint: $down_URL|" "$RV_CONFIG"
rc=0
rv backup --json >"$RV_OUT" 2>"$CASE_DIR/fault.err" || rc=$?
FAULTS[503]=$((FAULTS[503] + $(count '^503 ' "$down_LOG")))
outcome "$rc" "503|unavailable" 0
sed -i "s|endpoint: $down_URL|endpoint: $S3_DIRECT|" "$RV_CONFIG"
after_clear

# ---- gone mid-run: the endpoint stops answering once the bucket holds a pack -------

for policy in all 1; do
	rv_start_faultproxy "gone$policy" "${S3_DIRECT#http://}" --xml-errors
	urlvar=gone${policy}_URL
	gone_url=${!urlvar}
	SOURCE=slow case_new "gone-$policy" "$gone_url" "$policy" dir
	rv_run 0 init
	rv backup --json >"$RV_OUT" 2>"$CASE_DIR/fault.err" &
	bg=$!
	# once the catalog records a pack (it is on both targets), the
	# endpoint goes: the next pack cannot reach the bucket
	for ((i = 0; i < 600; i++)); do
		n=$(sqlite3 "$CAT" "select count(*) from packs" 2>/dev/null || echo 0)
		((${n:-0} > 0)) && break
		kill -0 "$bg" 2>/dev/null || break
		sleep 0.05
	done
	# the proxy is the last pid started for it: stop it (connections refused)
	pid=$(tail -n1 "$RV_PIDS_FILE")
	kill "$pid"
	FAULTS[endpoint-gone]=$((${FAULTS[endpoint-gone]:-0} + 1))
	rc=0
	wait "$bg" || rc=$?
	outcome "$rc" "connect|refused|connection" 0
	if [[ $rc == 0 ]]; then
		grep -q "target 'offsite'" "$CASE_DIR/fault.err" ||
			defect "$CASE: completed without a warning naming target 'offsite'"
		restore_check
	fi
	# the endpoint is back on the same port
	port=${gone_url##*:}
	rv_start_faultproxy "back$policy" "${S3_DIRECT#http://}" --port "$port"
	[[ $policy == all ]] || rv_run 0 repair --json
	after_clear
done

for f in "$RV_WORK"/sanitizer*; do
	[[ -e $f ]] || continue
	cat "$f" >&2
	defect "a sanitizer report: $f"
done

faults=
for k in $(printf '%s\n' "${!FAULTS[@]}" | sort); do faults+="$k=${FAULTS[$k]} "; done
echo "figures [$RV_TEST_NAME]: faults injected: ${faults% }; outcomes: completed=$N_COMPLETED clean-failure=$N_CLEAN; defects=$N_DEFECTS"
((N_DEFECTS == 0)) || die "$N_DEFECTS broken promise(s), each shown above as DEFECT"
pass "every s3 fault ended in a completed run or a clean failure, with nothing recorded that is not on the bucket"
