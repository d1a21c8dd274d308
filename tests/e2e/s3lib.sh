# shellcheck shell=bash
# tests/e2e/s3lib.sh - a real S3 server for end-to-end tests: a throwaway
# Ceph RADOS Gateway (tests/fixtures/ceph-rgw.sh) on 127.0.0.1, stopped
# when the test ends. Source after lib.sh.
#
#	rv_start_rgw              sets S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION
#	rv_s3 METHOD PATH [curl args...]   a SigV4-signed request (path: /bucket/key)
#	rv_s3_bucket NAME [lock]  create a bucket (with Object Lock when "lock")
#	rv_s3_target_yaml NAME BUCKET [extra yaml lines...]  a target entry for rv_config files

RV_RGW_DIR=

rv_start_rgw() {
	local fixture=$SOURCE_DIR/tests/fixtures/ceph-rgw.sh env_out= attempt port n
	for n in ceph-mon ceph-osd radosgw radosgw-admin; do
		command -v "$n" >/dev/null || die "'$n' is not installed; run scripts/deps.sh"
	done
	RV_RGW_DIR=$RV_WORK/rgw
	for ((attempt = 0; attempt < 3; attempt++)); do
		port=$(rv_free_port)
		rv_port_busy $((port + 1)) && continue
		if env_out=$(bash "$fixture" up "$RV_RGW_DIR" "$port" 2>"$RV_WORK/rgw-up.log"); then
			break
		fi
		env_out=
		grep -q 'already in use' "$RV_WORK/rgw-up.log" || break
	done
	if [[ -z $env_out ]]; then
		cat "$RV_WORK/rgw-up.log" >&2
		die "Ceph RGW did not start"
	fi
	for n in rgw osd mon; do cat "$RV_RGW_DIR/run/$n.pid" >>"$RV_PIDS_FILE"; done
	S3_ENDPOINT=$(sed -n 's/^S3_ENDPOINT=//p' <<<"$env_out")
	S3_ACCESS_KEY=$(sed -n 's/^S3_ACCESS_KEY=//p' <<<"$env_out")
	S3_SECRET_KEY=$(sed -n 's/^S3_SECRET_KEY=//p' <<<"$env_out")
	S3_REGION=$(sed -n 's/^S3_REGION=//p' <<<"$env_out")
	[[ -n $S3_ENDPOINT && -n $S3_SECRET_KEY ]] || die "the RGW fixture printed no endpoint or keys"
	export S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION
	note "Ceph RGW at $S3_ENDPOINT"
}

# rv_s3 METHOD PATH [curl args...]: prints the body; fails on HTTP >= 400
# unless RV_S3_ALLOW_FAIL=1. The payload hash header is always sent (RGW
# rejects SigV4 requests without it).
rv_s3() {
	local method=$1 path=$2
	shift 2
	curl -sS --fail-with-body --aws-sigv4 "aws:amz:$S3_REGION:s3" \
		--user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
		-X "$method" "$@" "$S3_ENDPOINT$path"
}

rv_s3_bucket() {
	if [[ ${2:-} == lock ]]; then
		rv_s3 PUT "/$1" -H 'x-amz-bucket-object-lock-enabled: true' >/dev/null
	else
		rv_s3 PUT "/$1" >/dev/null
	fi
}

# rv_s3_target_yaml NAME BUCKET [LINE...]: a targets entry; the keys come
# from the environment variables S3_ACCESS_KEY / S3_SECRET_KEY.
rv_s3_target_yaml() {
	local name=$1 bucket=$2 line
	shift 2
	echo "  - name: $name"
	echo "    type: s3"
	echo "    endpoint: $S3_ENDPOINT"
	echo "    bucket: $bucket"
	echo "    region: $S3_REGION"
	echo "    path_style: true"
	echo "    access_key_id_env: S3_ACCESS_KEY"
	echo "    secret_access_key_env: S3_SECRET_KEY"
	for line in "$@"; do echo "    $line"; done
}
