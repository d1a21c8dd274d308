#!/usr/bin/env bash
# The s3 target against a real S3 server: a throwaway Ceph RADOS Gateway
# (tests/fixtures/ceph-rgw.sh) that checks SigV4 signatures and enforces
# Object Lock. Runs tests/unit/test_store_live_s3.c against it (under
# valgrind in the plain build), checks the secret never appears in its
# output, then prints PUT/GET figures for a 64 MiB object.
. "$(dirname "$0")/lib.sh"

bin=${RV_TEST_BIN_DIR:?RV_TEST_BIN_DIR must name the folder of the test binaries}
fixture=$SOURCE_DIR/tests/fixtures/ceph-rgw.sh
for c in ceph-mon ceph-osd radosgw radosgw-admin; do
	command -v "$c" >/dev/null || die "'$c' is not installed; run scripts/deps.sh (Ceph: ceph-mon ceph-osd radosgw ceph-common)"
done
wrap=()
if [[ ${RV_SANITIZE:-0} != 1 ]] && command -v valgrind >/dev/null; then
	wrap=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
fi

rgw=$RV_WORK/rgw
# Stop the cluster whatever happens, then let lib.sh clean up.
trap '_s3_rc=$?; bash "$fixture" down "$rgw" >/dev/null 2>&1 || true; (exit $_s3_rc); _rv_cleanup' EXIT

step "start Ceph RGW"
env_out=
for ((attempt = 0; attempt < 3; attempt++)); do
	port=$(rv_free_port)
	rv_port_busy $((port + 1)) && continue
	if env_out=$(bash "$fixture" up "$rgw" "$port" 2>"$RV_WORK/rgw-up.log"); then
		break
	fi
	env_out=
	grep -q 'already in use' "$RV_WORK/rgw-up.log" || break
done
if [[ -z $env_out ]]; then
	cat "$RV_WORK/rgw-up.log" >&2
	die "Ceph RGW did not start"
fi
for n in rgw osd mon; do cat "$rgw/run/$n.pid" >>"$RV_PIDS_FILE"; done
S3_ENDPOINT=$(sed -n 's/^S3_ENDPOINT=//p' <<<"$env_out")
S3_ACCESS_KEY=$(sed -n 's/^S3_ACCESS_KEY=//p' <<<"$env_out")
S3_SECRET_KEY=$(sed -n 's/^S3_SECRET_KEY=//p' <<<"$env_out")
S3_REGION=$(sed -n 's/^S3_REGION=//p' <<<"$env_out")
[[ -n $S3_ENDPOINT && -n $S3_SECRET_KEY ]] || die "the fixture printed no endpoint or keys"
pass "Ceph RGW up at $S3_ENDPOINT in $(sed -n 's/^S3_READY_SECONDS=//p' "$RV_WORK/rgw-up.log") s"

export REGVAULT_TEST_S3_ENDPOINT=$S3_ENDPOINT REGVAULT_TEST_S3_ACCESS_KEY=$S3_ACCESS_KEY
export REGVAULT_TEST_S3_SECRET_KEY=$S3_SECRET_KEY REGVAULT_TEST_S3_REGION=$S3_REGION

step "s3 target live suite"
"${wrap[@]}" "$bin/test_store_live_s3" >"$RV_WORK/live.out" 2>&1 || {
	cat "$RV_WORK/live.out"
	die "test_store_live_s3 failed against $S3_ENDPOINT"
}
cat "$RV_WORK/live.out"
grep -q 'SKIPPED' "$RV_WORK/live.out" && die "live tests were skipped although the server is up"
if grep -qF "$S3_SECRET_KEY" "$RV_WORK/live.out"; then
	die "the secret key appeared in the test output"
fi
pass "s3 target: put/get/range/stat/list (1100 keys, pages of 100)/del, multipart, auth, missing bucket, object lock, virtual host${wrap:+ (under valgrind)}; secret never printed"

step "figures: 64 MiB through the target"
REGVAULT_TEST_S3_BENCH=1 "$bin/test_store_live_s3" >"$RV_WORK/bench.out" 2>&1 || {
	cat "$RV_WORK/bench.out"
	die "the 64 MiB round trip failed"
}
grep '^# s3 bench' "$RV_WORK/bench.out" | sed 's/^# /#    /'
pass "64 MiB PUT and GET through the s3 target, bytes equal"
