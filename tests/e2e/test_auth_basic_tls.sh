#!/usr/bin/env bash
# shellcheck disable=SC2154,SC2034 # NAME_URL, ... are set by the start functions; RV_CONFIG is read by lib.sh
# test_auth_basic_tls.sh - regvault against registries over https (a
# certificate signed by a test CA) with htpasswd (HTTP Basic) auth:
#  - backup with ca_file succeeds;
#  - without ca_file it fails with a TLS/certificate message (exit 1) and
#    records no snapshot;
#  - with insecure: true (and no ca_file) it succeeds;
#  - restore into a second TLS registry is digest-equal to the source;
#  - the password appears in no output, not in the catalog file, not in the
#    store folder.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/authlib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

# populate's reg_tag uses plain curl; these registries want https + Basic.
reg_tag() { rva_reg_tag "$@"; }

OUTS=$RV_WORK/outputs # every stdout/stderr of regvault, to grep for secrets
mkdir -p "$OUTS"
keep_outputs() {
	cat "$RV_OUT" "$RV_ERR" >>"$OUTS/all.txt"
}

step "PKI and two https registries with htpasswd auth"
rva_pki_init
rva_start_tls_registry src
rva_start_tls_registry dst
note "src $src_URL; dst $dst_URL (certificate for 127.0.0.1 signed by the test CA)"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$RVA_CA" "$src_URL/v2/")
rv_expect_eq "anonymous GET /v2/ on src" "$code" 401

step "fill the source with skopeo (credentials from the auth file)"
populate "$src_URL"
rv_expect_eq "repositories in the source" "$(rva_repos src | wc -l)" "$MK_SAMPLE_REPOS"

step "backup with ca_file"
rv_config "$RV_WORK/regvault.yml" src dst
rva_config_auth "$RV_WORK/regvault.yml" src
rva_config_auth "$RV_WORK/regvault.yml" dst
grep -q "ca_file: $RVA_CA" "$RV_WORK/regvault.yml" || die "config has no ca_file"
rv_run 0 init
keep_outputs
rv_run 0 -v backup --json # -v: debug lines are grepped for secrets too
keep_outputs
snap=$(rv_json_field snapshot)
rv_expect_eq "backup repositories" "$(rv_json_field repositories)" "$MK_SAMPLE_REPOS"
rv_expect_eq "backup tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rv_expect_eq "backup tags_failed" "$(rv_json_field tags_failed)" 0

step "backup without ca_file: the certificate is not trusted"
rv_config "$RV_WORK/noca.yml" src
rva_config_auth "$RV_WORK/noca.yml" src --no-ca
grep -q "ca_file" "$RV_WORK/noca.yml" && die "noca.yml has a ca_file"
RV_CONFIG=$RV_WORK/noca.yml
rv_run 1 -v backup
keep_outputs
grep -Eqi "certificate|tls|ssl" "$RV_ERR" ||
	die "the error says nothing about TLS or certificates: $(cat "$RV_ERR")"
grep -q "'src'" "$RV_ERR" || die "the error does not name registry 'src': $(cat "$RV_ERR")"
pass "backup exits 1: $(head -n1 "$RV_ERR")"
rv_run 0 snapshots --json
rv_expect_eq "snapshots after the refused backup" "$(jq length "$RV_OUT")" 1

step "backup with insecure: true (no ca_file)"
rv_config "$RV_WORK/insecure.yml" src
rva_config_auth "$RV_WORK/insecure.yml" src --no-ca --insecure
grep -q "insecure: true" "$RV_WORK/insecure.yml" || die "insecure.yml lacks insecure: true"
RV_CONFIG=$RV_WORK/insecure.yml
rv_run 0 backup --json
keep_outputs
rv_expect_eq "insecure backup tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rv_expect_eq "insecure backup blobs_fetched (nothing new)" "$(rv_json_field blobs_fetched)" 0
rv_run 0 snapshots --json
rv_expect_eq "snapshots after the insecure backup" "$(jq length "$RV_OUT")" 2

step "a wrong password"
printf '%s\n' "wrong-$RVA_PASS-x" >"$RVA_SECRETS/wrong"
rv_config "$RV_WORK/wrong.yml" src
rva_config_auth "$RV_WORK/wrong.yml" src --password-file "$RVA_SECRETS/wrong"
RV_CONFIG=$RV_WORK/wrong.yml
rv_run 1 backup
keep_outputs
grep -q "'src'" "$RV_ERR" || die "the error does not name registry 'src': $(cat "$RV_ERR")"
pass "backup exits 1: $(head -n1 "$RV_ERR")"
grep -Eqi "refused the credentials" "$RV_ERR" ||
	die "the error does not say the credentials were refused: $(cat "$RV_ERR")"
pass "the error says the credentials were refused"
grep -qaF -e "wrong-$RVA_PASS-x" "$OUTS/all.txt" && die "the wrong password appears in an output"
pass "the wrong password appears in no output"
rv_run 0 snapshots --json
rv_expect_eq "snapshots after the refused backup" "$(jq length "$RV_OUT")" 2

step "restore into a second https registry"
RV_CONFIG=$RV_WORK/regvault.yml
rv_run 0 -v restore "$snap" --to dst --json
keep_outputs
rv_expect_eq "restore tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rva_check_equal src dst || die "restored registry differs from the source"
pass "every tag, index child and blob is in dst with the source's digest"
s=$(skopeo inspect --raw --cert-dir "$RVA_CERT_DIR" "docker://$src_HOST/multi/arch:1.0" | sha256sum)
d=$(skopeo inspect --raw --cert-dir "$RVA_CERT_DIR" "docker://$dst_HOST/multi/arch:1.0" | sha256sum)
rv_expect_eq "skopeo (verifying TLS): multi/arch:1.0 index digest in dst" "${d%% *}" "${s%% *}"
skopeo copy --quiet --src-cert-dir "$RVA_CERT_DIR" "docker://$dst_HOST/legacy/docker:v1" \
	"dir:$RV_WORK/legacy-v1" >/dev/null || die "skopeo cannot copy legacy/docker:v1 out of dst"
pass "skopeo copies legacy/docker:v1 out of dst (every blob verified)"

step "no secret anywhere"
rva_assert_no_secret "regvault stdout/stderr" "$OUTS/all.txt"
rva_assert_no_secret "the catalog file" "$RV_WORK"/catalog.db*
rva_assert_no_secret "the store folder" "$RV_WORK/store"
rva_assert_no_secret "the regvault configs" "$RV_WORK"/*.yml
# And the check itself can find the password where it is.
grep -qaF -e "$RVA_PASS" "$RVA_PASSFILE" || die "self-check: the password file lacks the password"

pass "all basic-auth/TLS assertions hold"
