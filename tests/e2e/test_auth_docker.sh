#!/usr/bin/env bash
# shellcheck disable=SC2154,SC2034 # NAME_URL, ... are set by the start functions; RV_CONFIG is read by lib.sh
# test_auth_docker.sh - credentials the way Docker keeps them, and mutual
# TLS:
#  - docker_config with "auths" {"auth": base64 user:password} (no username
#    in regvault's config): backup of a token-auth registry works;
#  - "identitytoken": the token server sees OAuth2 refresh_token grants
#    (POST) and no GET; it rotates the refresh token with every grant, so
#    the backup only succeeds if regvault uses each new one; the next run,
#    with the now-dead token of the file, fails naming the identity token;
#  - a token server without OAuth2 (POST -> 405): regvault falls back to
#    GET with the identity token as Basic "<token>";
#  - "credHelpers" -> docker-credential-rvtest (tests/tools) on PATH: the
#    helper is asked for the registry's host and its answer works;
#  - mutual TLS (distribution's http.tls.clientcas): backup without
#    client_cert fails with a message that asks for one, with a certificate
#    no CA here signed it is refused, with client_cert/client_key it
#    succeeds; restore into a second mutual-TLS registry is digest-equal;
#  - no password, refresh token or key in any output.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/authlib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
rva_need_tokenserver

reg_tag() { rva_reg_tag "$@"; }

OUTS=$RV_WORK/outputs
mkdir -p "$OUTS"
keep_outputs() {
	cat "$RV_OUT" "$RV_ERR" >>"$OUTS/all.txt"
}

# docker_config_for FILE JSON: a Docker config.json (mode 600).
docker_config_for() {
	printf '%s\n' "$2" >"$1"
	chmod 600 "$1"
}

# config_docker FILE REG DOCKER_CONFIG: regvault config for REG with only
# docker_config (no username, no password_file).
config_docker() {
	rv_config "$1" "$2"
	rva_config_set "$1" "$2" docker_config "$3"
	grep -q "username" "$1" && die "$1 has a username"
	return 0
}

step "PKI, token server, a token-auth registry filled with skopeo"
rva_pki_init
rva_start_tokenserver ts
rva_start_token_registry src ts
populate "$src_URL"
rv_expect_eq "repositories in the source" "$(rva_repos src | wc -l)" "$MK_SAMPLE_REPOS"

step "docker_config with auths.auth (base64 user:password)"
auth_b64=$(printf '%s:%s' "$RVA_USER" "$RVA_PASS" | base64 -w0)
docker_config_for "$RVA_SECRETS/docker-auths.json" \
	"{\"auths\":{\"https://$src_HOST\":{\"auth\":\"$auth_b64\"}}}"
config_docker "$RV_WORK/auths.yml" src "$RVA_SECRETS/docker-auths.json"
rv_run 0 init
keep_outputs
before=$(grep -c "GET /token: token #.* user $RVA_USER" "$ts_LOG" || true)
rv_run 0 -v backup --json
keep_outputs
rv_expect_eq "auths backup tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rv_expect_eq "auths backup tags_failed" "$(rv_json_field tags_failed)" 0
after=$(grep -c "GET /token: token #.* user $RVA_USER" "$ts_LOG" || true)
((after > before)) || die "the token server issued no token to '$RVA_USER' for the auths backup"
grep -q "credentials for '$src_HOST' from docker config" "$RV_ERR" ||
	die "regvault -v does not say where the credentials came from"
pass "backup with auths.auth: $((after - before)) tokens issued to '$RVA_USER' (the key 'https://$src_HOST' matched)"

step "identitytoken: OAuth2 refresh_token grants, rotated on every grant"
refresh=rt-$(openssl rand -hex 16)
printf '%s:%s\n' "$RVA_USER" "$refresh" >"$RVA_SECRETS/refresh"
chmod 600 "$RVA_SECRETS/refresh"
rva_start_tokenserver tsr --refresh-tokens "$RVA_SECRETS/refresh" --rotate --expires 2 --leeway 60
rva_start_token_registry idt tsr --storage "$src_DIR"
docker_config_for "$RVA_SECRETS/docker-idt.json" \
	"{\"auths\":{\"$idt_HOST\":{\"identitytoken\":\"$refresh\"}}}"
config_docker "$RV_WORK/idt.yml" idt "$RVA_SECRETS/docker-idt.json"
rv_run 0 -v backup --json
keep_outputs
rv_expect_eq "identity-token backup tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rv_expect_eq "identity-token backup tags_failed" "$(rv_json_field tags_failed)" 0
grants=$(grep -c "POST /token: refresh_token grant #.*client_id regvault, rotated" "$tsr_LOG" || true)
gets=$(grep -c "GET /token" "$tsr_LOG" || true)
((grants > 1)) || die "the token server saw $grants refresh_token grant(s), expected more than 1"
rv_expect_eq "token GETs on the OAuth2 token server" "$gets" 0
grep -q "user $RVA_USER .*granted: registry:catalog:\*" "$tsr_LOG" ||
	die "the refresh_token grant did not give the catalog to '$RVA_USER'"
pass "$grants refresh_token grants (POST, client_id regvault), each with the refresh token the last one returned"

step "the refresh token of the file is dead now: refused, and said so"
rv_run 1 -v backup
keep_outputs
grep -q "'idt'" "$RV_ERR" || die "the error does not name registry 'idt': $(cat "$RV_ERR")"
grep -q "refused the identity token" "$RV_ERR" ||
	die "the error does not say the identity token was refused: $(cat "$RV_ERR")"
grep -q "refresh token refused -> 400" "$tsr_LOG" || die "the token server refused no refresh token"
pass "backup exits 1: $(grep -m1 "refused the identity token" "$RV_ERR" | head -c 300)"

step "identitytoken against a token server without OAuth2: GET with Basic <token>"
refresh2=rt-$(openssl rand -hex 16)
printf '%s:%s\n' "$RVA_USER" "$refresh2" >"$RVA_SECRETS/refresh2"
chmod 600 "$RVA_SECRETS/refresh2"
rva_start_tokenserver tsn --refresh-tokens "$RVA_SECRETS/refresh2" --no-oauth
rva_start_token_registry noauth tsn --storage "$src_DIR"
docker_config_for "$RVA_SECRETS/docker-noauth.json" \
	"{\"auths\":{\"http://$noauth_HOST\":{\"identitytoken\":\"$refresh2\"}}}"
config_docker "$RV_WORK/noauth.yml" noauth "$RVA_SECRETS/docker-noauth.json"
rv_run 0 -v backup --json
keep_outputs
rv_expect_eq "fallback backup tags_failed" "$(rv_json_field tags_failed)" 0
posts=$(grep -c "POST /token -> 405" "$tsn_LOG" || true)
gets=$(grep -c "GET /token: token #.* user $RVA_USER" "$tsn_LOG" || true)
((posts >= 1)) || die "regvault never tried the OAuth2 POST on the GET-only token server"
((gets > 1)) || die "the GET-only token server issued $gets token(s) to '$RVA_USER'"
pass "$posts POST(s) answered 405, then $gets token GETs as '$RVA_USER' (Basic <token>)"

step "credHelpers: docker-credential-rvtest on PATH"
helper_dir=$RV_WORK/helpers
mkdir -p "$helper_dir"
cp "$SOURCE_DIR/tests/tools/docker-credential-rvtest" "$helper_dir/"
chmod 755 "$helper_dir/docker-credential-rvtest"
docker_config_for "$RVA_SECRETS/docker-helper.json" \
	"{\"auths\":{\"$src_HOST\":{}},\"credHelpers\":{\"$src_HOST\":\"rvtest\"}}"
config_docker "$RV_WORK/helper.yml" src "$RVA_SECRETS/docker-helper.json"
before=$(grep -c "GET /token: token #.* user $RVA_USER" "$ts_LOG" || true)
PATH=$helper_dir:$PATH RVTEST_USER=$RVA_USER RVTEST_SECRET_FILE=$RVA_PASSFILE \
	RVTEST_SERVER=$src_HOST RVTEST_LOG=$RV_WORK/helper.log rv_run 0 -v backup --json
keep_outputs
rv_expect_eq "credHelpers backup tags_failed" "$(rv_json_field tags_failed)" 0
rv_expect_eq "credHelpers backup blobs_fetched (nothing new)" "$(rv_json_field blobs_fetched)" 0
after=$(grep -c "GET /token: token #.* user $RVA_USER" "$ts_LOG" || true)
((after > before)) || die "no token issued to the helper's user"
grep -qx "$src_HOST" "$RV_WORK/helper.log" || die "the helper was not asked for '$src_HOST': $(cat "$RV_WORK/helper.log")"
grep -q "via docker-credential-rvtest" "$RV_ERR" || die "regvault -v does not name the helper"
pass "the helper was asked for '$src_HOST' $(wc -l <"$RV_WORK/helper.log") time(s); $((after - before)) tokens issued"

step "a helper that is not on PATH: the error names it"
docker_config_for "$RVA_SECRETS/docker-nohelper.json" "{\"credsStore\":\"rv-absent\"}"
config_docker "$RV_WORK/nohelper.yml" src "$RVA_SECRETS/docker-nohelper.json"
rc=0
rv -v backup >"$RV_OUT" 2>"$RV_ERR" || rc=$?
keep_outputs
((rc != 0)) || die "backup with a missing credential helper succeeded"
grep -q "docker-credential-rv-absent" "$RV_ERR" || die "the error does not name the helper: $(cat "$RV_ERR")"
pass "backup exits $rc: $(grep -m1 "rv-absent" "$RV_ERR" | head -c 300)"

step "mutual TLS: registries that demand a client certificate"
rva_start_tls_registry plain
populate "$plain_URL"
rva_start_tls_registry mtls --storage "$plain_DIR" --client-ca "$RVA_CA"
rva_start_tls_registry mdst --client-ca "$RVA_CA"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$RVA_CA" "$mtls_URL/v2/" 2>/dev/null) || true
[[ $code == 000 ]] || die "the mTLS registry answered HTTP $code without a client certificate"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$RVA_CA" \
	--cert "$RVA_CLIENT_CERT" --key "$RVA_CLIENT_KEY" "$mtls_URL/v2/")
rv_expect_eq "GET /v2/ with the client certificate" "$code" 401

rv_config --store "$RV_WORK/mstore" --catalog "$RV_WORK/mcatalog.db" "$RV_WORK/nocert.yml" mtls
rva_config_auth "$RV_WORK/nocert.yml" mtls
rv_run 0 init
keep_outputs
rv_run 1 backup
keep_outputs
grep -q "'mtls'" "$RV_ERR" || die "the error does not name registry 'mtls': $(cat "$RV_ERR")"
grep -q "asks for a client certificate" "$RV_ERR" ||
	die "the error does not say a client certificate is needed: $(cat "$RV_ERR")"
pass "without client_cert: exit 1: $(grep -m1 "client certificate" "$RV_ERR" | head -c 300)"

rv_config --store "$RV_WORK/mstore" --catalog "$RV_WORK/mcatalog.db" "$RV_WORK/rogue.yml" mtls
rva_config_auth "$RV_WORK/rogue.yml" mtls
rva_config_set "$RV_WORK/rogue.yml" mtls client_cert "$RVA_ROGUE_CERT"
rva_config_set "$RV_WORK/rogue.yml" mtls client_key "$RVA_ROGUE_KEY"
rv_run 1 backup
keep_outputs
grep -Eqi "client certificate|bad certificate|unknown ca" "$RV_ERR" ||
	die "the error does not say the certificate was refused: $(cat "$RV_ERR")"
pass "an untrusted client certificate: exit 1: $(grep -m1 "error:" "$RV_ERR" | head -c 300)"

rv_config --store "$RV_WORK/mstore" --catalog "$RV_WORK/mcatalog.db" "$RV_WORK/halfcert.yml" mtls
rva_config_auth "$RV_WORK/halfcert.yml" mtls
rva_config_set "$RV_WORK/halfcert.yml" mtls client_cert "$RVA_CLIENT_CERT"
rc=0
rv backup >"$RV_OUT" 2>"$RV_ERR" || rc=$?
keep_outputs
((rc != 0)) || die "client_cert without client_key was accepted"
grep -q "client_cert and client_key go together" "$RV_ERR" ||
	die "the error does not say client_cert needs client_key: $(cat "$RV_ERR")"
pass "client_cert without client_key: exit $rc: $(head -n1 "$RV_ERR" | head -c 200)"

rv_config --store "$RV_WORK/mstore" --catalog "$RV_WORK/mcatalog.db" "$RV_WORK/mtls.yml" mtls mdst
rva_config_auth "$RV_WORK/mtls.yml" mtls
rva_config_auth "$RV_WORK/mtls.yml" mdst
for r in mtls mdst; do
	rva_config_set "$RV_WORK/mtls.yml" "$r" client_cert "$RVA_CLIENT_CERT"
	rva_config_set "$RV_WORK/mtls.yml" "$r" client_key "$RVA_CLIENT_KEY"
done
rv_run 0 -v backup --json
keep_outputs
rv_expect_eq "mTLS backup tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rv_expect_eq "mTLS backup tags_failed" "$(rv_json_field tags_failed)" 0
pass "backup with client_cert and client_key succeeds"
rv_run 0 -v restore latest --to mdst --json
keep_outputs
rv_expect_eq "mTLS restore tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rva_check_equal plain mdst || die "the mTLS restore differs from the source"
pass "restore into a second mutual-TLS registry is digest-equal to the source"

step "no secret in any output"
rva_assert_no_secret "regvault stdout/stderr" "$OUTS/all.txt"
for s in "$refresh" "$refresh2" "$auth_b64"; do
	grep -qaF -e "$s" "$OUTS/all.txt" "$ts_LOG" "$tsr_LOG" "$tsn_LOG" &&
		die "a refresh token or auth value appears in an output or a token server log"
done
pass "no refresh token or auth value in any output"
grep -qaF -e "PRIVATE KEY" "$OUTS/all.txt" && die "a private key appears in an output"
rva_assert_no_secret "the catalogs and the stores" "$RV_WORK"/*catalog.db* "$RV_WORK/store" "$RV_WORK/mstore"

pass "all docker-config and mutual-TLS assertions hold"
