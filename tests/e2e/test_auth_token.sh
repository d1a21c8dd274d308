#!/usr/bin/env bash
# shellcheck disable=SC2154,SC2034 # NAME_URL, ... are set by the start functions; RV_CONFIG is read by lib.sh
# test_auth_token.sh - regvault against registries with token auth (CNCF
# distribution 2.8 + rv_tokenserver, RS256 JWTs with an x5c chain):
#  - backup with username + password_file, restore into a second token
#    registry (push scope), digest-equal (tags, index children, blobs);
#  - a wrong password: backup exits 1 naming the registry and saying the
#    credentials were refused; the password is in no output;
#  - tokens that really expire after 2 s (the registry's 60 s leeway is
#    cancelled): a backup that lasts longer renews them and succeeds; the
#    token server and regvault's own log (-v) both count more than one
#    token for the repository.
# Needs RV_TOKENSERVER (the rv_tokenserver binary; found beside $REGVAULT in
# a build tree otherwise).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/authlib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
rva_need_tokenserver

# populate's reg_tag uses plain curl; these registries want a token.
reg_tag() { rva_reg_tag "$@"; }

OUTS=$RV_WORK/outputs # every stdout/stderr of regvault, to grep for secrets
mkdir -p "$OUTS"
keep_outputs() {
	cat "$RV_OUT" "$RV_ERR" >>"$OUTS/all.txt"
}

step "PKI, token server, two registries with token auth"
rva_pki_init
rva_start_tokenserver ts
rva_start_token_registry src ts
rva_start_token_registry dst ts
note "token realm $ts_TOKEN_URL; src $src_URL; dst $dst_URL"

step "fill the source with skopeo (credentials from the auth file)"
populate "$src_URL"
rv_expect_eq "repositories in the source" "$(rva_repos src | wc -l)" "$MK_SAMPLE_REPOS"

rv_config "$RV_WORK/regvault.yml" src dst
rva_config_auth "$RV_WORK/regvault.yml" src
rva_config_auth "$RV_WORK/regvault.yml" dst

step "backup and restore with username + password_file"
rv_run 0 init
keep_outputs
rv_run 0 -v backup --json # -v: debug lines are grepped for secrets too
keep_outputs
snap=$(rv_json_field snapshot)
rv_expect_eq "backup repositories" "$(rv_json_field repositories)" "$MK_SAMPLE_REPOS"
rv_expect_eq "backup tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
rv_expect_eq "backup tags_failed" "$(rv_json_field tags_failed)" 0
grep -q "user $RVA_USER .*granted: registry:catalog:\*" "$ts_LOG" ||
	die "the token server never granted the catalog to '$RVA_USER'"
pass "regvault listed the catalog with a token asked for with its credentials"

rv_run 0 -v restore latest --to dst --json
keep_outputs
rv_expect_eq "restore snapshot" "$(rv_json_field snapshot)" "$snap"
rv_expect_eq "restore tags" "$(rv_json_field tags)" "$MK_SAMPLE_TAGS"
grep -q "user $RVA_USER .*granted: repository:team-a/api:pull,push" "$ts_LOG" ||
	die "the token server never granted push on team-a/api"
pass "restore pushed with pull,push tokens"

step "the destination is digest-equal to the source"
rva_check_equal src dst || die "restored registry differs from the source"
pass "every tag, index child and blob is in dst with the source's digest"
# And skopeo's own view, for an index and for a whole image copy.
s=$(skopeo inspect --raw --tls-verify=false "docker://$src_HOST/multi/arch:latest" | sha256sum)
d=$(skopeo inspect --raw --tls-verify=false "docker://$dst_HOST/multi/arch:latest" | sha256sum)
rv_expect_eq "skopeo: multi/arch:latest index digest in dst" "${d%% *}" "${s%% *}"
skopeo copy --quiet --src-tls-verify=false "docker://$dst_HOST/team-a/api:prod" \
	"dir:$RV_WORK/api-prod" >/dev/null || die "skopeo cannot copy team-a/api:prod out of dst"
pass "skopeo copies team-a/api:prod out of dst (every blob verified)"

step "a wrong password is refused, and named as such"
printf '%s\n' "wrong-$RVA_PASS-x" >"$RVA_SECRETS/wrong"
cp "$RV_WORK/regvault.yml" "$RV_WORK/wrong.yml"
sed -i "s|password_file: $RVA_PASSFILE|password_file: $RVA_SECRETS/wrong|" "$RV_WORK/wrong.yml"
RV_CONFIG=$RV_WORK/wrong.yml
rv_run 1 -v backup
keep_outputs
grep -q "'src'" "$RV_ERR" || die "the error does not name registry 'src': $(cat "$RV_ERR")"
if ! grep -qi "refused" "$RV_ERR" || ! grep -qi "credentials" "$RV_ERR"; then
	die "the error does not say the credentials were refused: $(cat "$RV_ERR")"
fi
pass "backup exits 1: $(head -c 300 "$RV_ERR")"
grep -q "credentials refused -> 401" "$ts_LOG" || die "the token server saw no wrong credentials"
grep -rqaF -e "wrong-$RVA_PASS-x" "$OUTS/all.txt" "$ts_LOG" &&
	die "the wrong password appears in an output"
pass "the wrong password appears in no output"
rv_run 0 snapshots --json
rv_expect_eq "snapshots after the refused backup" "$(jq length "$RV_OUT")" 1
RV_CONFIG=$RV_WORK/regvault.yml

step "tokens that expire after 2 s are renewed during a longer backup"
# A second registry on the same storage, whose token server signs tokens
# the registry stops accepting 2 s after they are issued (--leeway 60
# cancels distribution's 60 s allowance for clock skew).
rva_start_tokenserver tshort --expires 2 --leeway 60
rva_start_token_registry short tshort --storage "$src_DIR"
# Many tags, written straight into the registry's storage (sleep-free), in
# a new repository renew/tags; regvault HEADs each one with a pull token.
repos_dir=$src_DIR/docker/registry/v2/repositories
cp -a "$repos_dir/many/tags" "$repos_dir/renew-tmp"
mkdir -p "$repos_dir/renew"
mv "$repos_dir/renew-tmp" "$repos_dir/renew/tags"
tags_dir=$repos_dir/renew/tags/_manifests/tags
digest=$(cat "$tags_dir/t00/current/link")
ntags=$(find "$tags_dir" -mindepth 1 -maxdepth 1 -type d | wc -l)
# add_tags N: tags x0000.. until the repository holds N more.
added=0
add_tags() {
	local want=$1 i name
	local -a dirs=()
	for ((i = added; i < want; i++)); do
		printf -v name 'x%05d' "$i"
		dirs+=("$tags_dir/$name/current" "$tags_dir/$name/index/sha256/${digest#sha256:}")
	done
	printf '%s\0' "${dirs[@]}" | xargs -0 mkdir -p
	for ((i = added; i < want; i++)); do
		printf -v name 'x%05d' "$i"
		printf '%s' "$digest" >"$tags_dir/$name/current/link"
		printf '%s' "$digest" >"$tags_dir/$name/index/sha256/${digest#sha256:}/link"
	done
	added=$want
}
rv_config --repos 'renew/**' "$RV_WORK/short.yml" short
rva_config_auth "$RV_WORK/short.yml" short
# A token issued now must be refused by the registry once the backup is
# over: then the backup's success really depends on renewal.
early_token=$(rva_token short "repository:renew/tags:pull")
code=$(curl -sS -o /dev/null -w '%{http_code}' -K - "$short_URL/v2/renew/tags/tags/list" \
	<<<"header = \"Authorization: Bearer $early_token\"")
rv_expect_eq "a fresh 2 s token lists renew/tags" "$code" 200
# renew_tokens: pull tokens issued so far for renew/tags.
renew_tokens() {
	local n
	n=$(grep -c "token #.*granted: repository:renew/tags:pull" "$tshort_LOG") || true
	echo "${n:-0}"
}
more=3500
for round in 1 2 3; do
	add_tags "$more"
	before=$(renew_tokens)
	t0=${EPOCHREALTIME/./}
	rv_run 0 -v backup --json # -v: regvault logs each token it fetches
	keep_outputs
	t1=${EPOCHREALTIME/./}
	ms=$(((t1 - t0) / 1000))
	secs=$((ms / 1000)).$(printf '%03d' $((ms % 1000)))
	tokens=$(($(renew_tokens) - before))
	# regvault's own count: "access token #N for scope '...'" (debug)
	own=$(grep -c "registry 'short': access token #[0-9]* for scope 'repository:renew/tags:pull'" "$RV_ERR" || true)
	rv_expect_eq "short-token backup tags (round $round)" "$(rv_json_field tags)" "$((ntags + added))"
	rv_expect_eq "short-token backup tags_failed" "$(rv_json_field tags_failed)" 0
	note "round $round: $((ntags + added)) tags in ${secs}s, $tokens pull token(s) for renew/tags ($own in regvault's log)"
	# Done once the backup outlived two tokens.
	((ms >= 4000)) && break
	more=$((added * 2))
done
((ms >= 4000)) ||
	die "could not make a backup last 4 s (last: ${secs}s with $((ntags + added)) tags): renewal not exercised"
((tokens >= 2)) || die "only $tokens pull token(s) for renew/tags over a ${secs}s backup with 2 s tokens"
((own >= 2)) || die "regvault logged only $own token fetch(es) for renew/tags over a ${secs}s backup"
rv_expect_eq "tokens regvault logged = tokens the server issued (renew/tags)" "$own" "$tokens"
pass "a ${secs}s backup succeeded with 2 s tokens: the token server issued $tokens pull tokens for renew/tags"
code=$(curl -sS -o /dev/null -w '%{http_code}' -K - "$short_URL/v2/renew/tags/tags/list" \
	<<<"header = \"Authorization: Bearer $early_token\"")
rv_expect_eq "the token issued before the backup, used after it" "$code" 401
expired=$(grep -c 'invalid token\|token expired' "$RV_WORK/short/registry.log" || true)
note "the registry refused $expired request(s) with an expired token (regvault then renewed it and retried)"

step "no secret in any output"
rva_assert_no_secret "regvault stdout/stderr" "$OUTS/all.txt"
rva_assert_no_secret "token server logs" "$ts_LOG" "$tshort_LOG"
rva_assert_no_secret "the catalog and the store" "$RV_WORK"/catalog.db* "$RV_WORK/store"
rva_assert_no_secret "the regvault configs" "$RV_WORK/regvault.yml" "$RV_WORK/short.yml"

pass "all token-auth assertions hold"
