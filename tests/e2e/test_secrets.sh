#!/usr/bin/env bash
# shellcheck disable=SC2154,SC2034 # NAME_URL, ... are set by the start functions
# test_secrets.sh - no secret leaks anywhere. A full run (init, backup,
# snapshots, verify --level deep, restore, key list) with -v and --json,
# from three registries that want credentials:
#   tls  https + HTTP Basic (htpasswd): username + password_file
#   tok  token auth (rv_tokenserver): username + password_file; the Bearer
#        tokens it hands out are recorded by rv_evilproxy (tap) in front
#        of the token server
#   idt  token auth with docker_config "identitytoken" (an OAuth2 refresh
#        token)
# to a dir target and an S3 target (Ceph RGW, access key + secret key from
# a file), restored into a token registry. Then every stdout and stderr
# (debug lines included), the catalog (strings and raw, WAL too), the
# staging folder, the dir store, every object of the bucket, the argv and
# environment (/proc/PID/cmdline, environ) of a running regvault, and the
# stderr of runs with a wrong registry password, a wrong token-server
# password, a wrong identity token, a wrong passphrase and a wrong S3 secret
# are searched for each secret: the passphrase, the registry password, the
# refresh token, every Bearer token issued, the S3 secret key, plus the
# base64 forms (Basic user:password; each secret base64'd at every byte
# alignment, standard and URL alphabet). None may appear.
#
# Needs RV_TOKENSERVER and RV_EVILPROXY (found beside $REGVAULT in a CMake
# build tree otherwise) and Ceph (s3lib.sh).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/authlib.sh"
. "$SOURCE_DIR/tests/e2e/s3lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
# steps show the seconds since the start (the budget is about 3 minutes)
step() { echo "---- [${SECONDS} s] $*"; }
rva_need_tokenserver
if [[ -z ${RV_EVILPROXY:-} ]]; then
	RV_EVILPROXY=$(dirname "$(command -v "$REGVAULT" 2>/dev/null || echo "$REGVAULT")")/tests/tools/rv_evilproxy
fi
[[ -x $RV_EVILPROXY ]] ||
	die "rv_evilproxy not found: RV_EVILPROXY='$RV_EVILPROXY' (build target rv_evilproxy and set RV_EVILPROXY)"

reg_tag() { rva_reg_tag "$@"; }

PASSPHRASE=pp-$(openssl rand -hex 10)-passphrase
REFRESH=rt-$(openssl rand -hex 16)-refresh
OUTS=$RV_WORK/outputs
mkdir -p "$OUTS"
N_OUT=0
# keep LABEL: file the last run's stdout and stderr under OUTS.
keep() {
	N_OUT=$((N_OUT + 1))
	cp "$RV_OUT" "$OUTS/$(printf '%02d' "$N_OUT")-$1.out"
	cp "$RV_ERR" "$OUTS/$(printf '%02d' "$N_OUT")-$1.err"
}

step "PKI, a token server behind a tap, three source registries, a destination"
rva_pki_init
printf '%s:%s\n' "$RVA_USER" "$REFRESH" >"$RVA_SECRETS/refresh"
chmod 600 "$RVA_SECRETS/refresh"
rva_start_tokenserver ts --refresh-tokens "$RVA_SECRETS/refresh"
ts_hostport=${ts_TOKEN_URL#http://}
ts_hostport=${ts_hostport%%/*}
TAP=$RV_WORK/tokens.tap
pf=$RV_WORK/tap.port
"$RV_EVILPROXY" --upstream "$ts_hostport" --log "$RV_WORK/tap.log" --port-file "$pf" \
	--tap "$TAP" --rule "* ^/token tap" >/dev/null 2>"$RV_WORK/tap.err" &
echo "$!" >>"$RV_PIDS_FILE"
for ((i = 0; i < 100; i++)); do [[ -s $pf ]] && break; sleep 0.05; done
[[ -s $pf ]] || die "the tap proxy did not start: $(cat "$RV_WORK/tap.err")"
# the registries send clients to the tap, which records every token
tsp_TOKEN_URL=http://127.0.0.1:$(cat "$pf")/token
rva_start_tls_registry tls
rva_start_token_registry tok tsp
rva_start_token_registry idt tsp
rva_start_token_registry dst tsp
layout=$(_mk_layout_dir)
mk_sample_layout "$layout"
push "$layout" abc "$tls_URL" a/b/c:1.0
push "$layout" multi "$tls_URL" multi/arch:latest --all
push "$layout" api-v1 "$tok_URL" team-a/api:v1
push "$layout" worker "$tok_URL" team-a/worker:latest
push "$layout" lint "$idt_URL" team-a/tools/lint:1
note "tls $tls_URL (basic), tok $tok_URL and idt $idt_URL (token, realm $tsp_TOKEN_URL), dst $dst_URL"

step "Ceph RGW and a bucket; the config (dir + s3 targets, secrets in files)"
rv_start_rgw
BUCKET=rv-secrets-$RANDOM$RANDOM
rv_s3_bucket "$BUCKET"
S3_SECRET_FILE=$RVA_SECRETS/s3-secret
printf '%s\n' "$S3_SECRET_KEY" >"$S3_SECRET_FILE"
chmod 600 "$S3_SECRET_FILE"
DOCKER_CFG=$RVA_SECRETS/docker-config.json
printf '{"auths":{"%s":{"identitytoken":"%s"}}}\n' "$idt_HOST" "$REFRESH" >"$DOCKER_CFG"
chmod 600 "$DOCKER_CFG"

# write_config FILE [PASSWORD_FILE] [DOCKER_CONFIG] [S3_SECRET_FILE]
write_config() {
	local file=$1 pwfile=${2:-$RVA_PASSFILE} dcfg=${3:-$DOCKER_CFG} s3f=${4:-$S3_SECRET_FILE}
	rv_config --passphrase "$PASSPHRASE" "$file" tls tok idt dst
	# sources: the three; registries: tls and tok with a password, idt
	# with docker_config, dst with a password
	rva_config_auth "$file" tls --password-file "$pwfile"
	rva_config_auth "$file" tok --password-file "$pwfile"
	rva_config_auth "$file" dst
	rva_config_set "$file" idt docker_config "$dcfg"
	awk '/^sources:/ { print; print "  - registry: tok"; print "  - registry: idt"; next } { print }' \
		"$file" >"$file.tmp"
	mv -f "$file.tmp" "$file"
	{
		echo "  - name: offsite"
		echo "    type: s3"
		echo "    endpoint: $S3_ENDPOINT"
		echo "    bucket: $BUCKET"
		echo "    region: $S3_REGION"
		echo "    path_style: true"
		echo "    access_key_id_env: S3_ACCESS_KEY"
		echo "    secret_access_key_file: $s3f"
	} >>"$file"
	RV_CONFIG=$file
}
write_config "$RV_WORK/regvault.yml"
grep -qF -e "$RVA_PASS" -e "$PASSPHRASE" -e "$REFRESH" -e "$S3_SECRET_KEY" "$RV_CONFIG" &&
	die "the config itself holds a secret"

step "a full run with -v and --json"
rv_run 0 -v --json init
keep init
rv_run 0 -v backup --json
keep backup
rv_expect_eq "backup tags" "$(rv_json_field tags)" 5
rv_expect_eq "backup tags_failed" "$(rv_json_field tags_failed)" 0
rv_expect_eq "snapshots (one per source)" "$(jq '.snapshots | length' "$RV_OUT")" 3
rv_run 0 -v snapshots --json
keep snapshots
rv_run 0 -v verify --level deep --json
keep verify
rv_expect_eq "verify deep outcome" "$(rv_json_field outcome)" ok
rv_run 0 -v key list --json
keep keylist
for id in $(sqlite3 "$RV_WORK/catalog.db" "select snap_id from snapshots"); do
	rv_run 0 -v restore "$id" --to dst --json
	keep restore
done
for src in tls tok idt; do
	rva_check_equal "$src" dst >"$RV_WORK/.check" ||
		{ cat "$RV_WORK/.check" >&2; die "restore of '$src' into dst is not digest-equal"; }
done
pass "every source restored digest-equal into the token registry dst"
grep -q "user $RVA_USER" "$ts_LOG" || die "the token server never saw '$RVA_USER'"
grep -q "refresh_token grant" "$ts_LOG" || die "the token server saw no refresh_token grant (idt)"

step "a running regvault: argv and environment"
# a backup that lasts: the sample set's big layers into a new repository
RV_LAYER_COMPRESS=none mk_image "$layout" slow slow linux amd64 "" slow-a:41943040
push "$layout" slow "$tok_URL" slow/app:1
env -u S3_SECRET_KEY "$REGVAULT" --config "$RV_CONFIG" -v backup --json >"$OUTS/bg.out" 2>"$OUTS/bg.err" &
bgpid=$!
proc_seen=0
for ((i = 0; i < 400; i++)); do
	if [[ -r /proc/$bgpid/cmdline ]] && tr '\0' '\n' </proc/$bgpid/cmdline >"$OUTS/proc-cmdline.$i" 2>/dev/null &&
		grep -q backup "$OUTS/proc-cmdline.$i"; then
		tr '\0' '\n' </proc/$bgpid/environ >"$OUTS/proc-environ.$i" 2>/dev/null || true
		proc_seen=$((proc_seen + 1))
	else
		rm -f "$OUTS/proc-cmdline.$i"
	fi
	kill -0 "$bgpid" 2>/dev/null || break
	sleep 0.05
done
rc=0
wait "$bgpid" || rc=$?
[[ $rc == 0 ]] || { cat "$OUTS/bg.err" >&2; die "the background backup exited $rc"; }
((proc_seen >= 1)) || die "never saw the running regvault's /proc entries"
pass "read /proc/PID/cmdline and environ $proc_seen times while a backup ran"

step "runs with a wrong secret"
printf 'pw-wrong-%s\n' "$(openssl rand -hex 8)" >"$RVA_SECRETS/wrong-password"
WRONG_PASS=$(head -n 1 "$RVA_SECRETS/wrong-password")
write_config "$RV_WORK/wrong-pw.yml" "$RVA_SECRETS/wrong-password"
rv_run 1 -v backup --json
keep wrong-password
for reg in tls tok; do
	grep -q "registry '$reg': .*refused the credentials" "$RV_ERR" ||
		die "the wrong password's error does not name registry '$reg': $(cat "$RV_ERR")"
done
pass "wrong registry password: exit 1: $(grep -m1 'error' "$RV_ERR")"
WRONG_REFRESH=rt-wrong-$(openssl rand -hex 8)
printf '{"auths":{"%s":{"identitytoken":"%s"}}}\n' "$idt_HOST" "$WRONG_REFRESH" >"$RVA_SECRETS/wrong-docker.json"
write_config "$RV_WORK/wrong-idt.yml" "" "$RVA_SECRETS/wrong-docker.json"
rv_run 1 -v backup --source idt --json
keep wrong-identity-token
pass "wrong identity token: exit 1: $(grep -m1 'error' "$RV_ERR")"
printf 'wrong-s3-%s\n' "$(openssl rand -hex 8)" >"$RVA_SECRETS/wrong-s3"
WRONG_S3=$(head -n 1 "$RVA_SECRETS/wrong-s3")
write_config "$RV_WORK/wrong-s3.yml" "" "" "$RVA_SECRETS/wrong-s3"
rc=0
"$REGVAULT" --config "$RV_CONFIG" -v verify --json >"$RV_OUT" 2>"$RV_ERR" || rc=$?
keep wrong-s3
[[ $rc != 0 ]] || die "verify with a wrong S3 secret exited 0"
pass "wrong S3 secret: exit $rc: $(grep -m1 'error' "$RV_ERR")"
write_config "$RV_WORK/regvault.yml"
WRONG_PHRASE=pp-wrong-$(openssl rand -hex 8)
REGVAULT_PASSWORD=$WRONG_PHRASE rv_run 3 -v backup --json
keep wrong-passphrase
pass "wrong passphrase: exit 3: $(grep -m1 'error' "$RV_ERR")"

step "search every output and file for every secret"
# b64_forms SECRET: SECRET base64'd at each of the three byte alignments,
# only the characters that depend on SECRET alone; standard and URL alphabet.
b64_forms() {
	local s=$1 k n full enc
	for k in 0 1 2; do
		n=$((k + ${#s}))
		full=$((n / 3 * 4))
		enc=$(printf '%s%s' "$(head -c "$k" /dev/zero | tr '\0' 'x')" "$s" | base64 -w0)
		enc=${enc:0:full}
		[[ $k == 0 ]] || enc=${enc:4}
		[[ ${#enc} -ge 8 ]] || continue
		echo "$enc"
		echo "$enc" | tr '+/' '-_'
	done
}
declare -A SECRETS=()
SECRETS[passphrase]=$PASSPHRASE
SECRETS[registry password]=$RVA_PASS
SECRETS[wrong registry password]=$WRONG_PASS
SECRETS[refresh token]=$REFRESH
SECRETS[wrong refresh token]=$WRONG_REFRESH
SECRETS[S3 secret key]=$S3_SECRET_KEY
SECRETS[wrong S3 secret key]=$WRONG_S3
SECRETS[wrong passphrase]=$WRONG_PHRASE
SECRETS[basic user:password]=$RVA_USER:$RVA_PASS
# every Bearer token the token server handed out (through the tap)
n_tokens=0
while read -r tok; do
	[[ -n $tok && $tok != null ]] || continue
	n_tokens=$((n_tokens + 1))
	SECRETS[bearer token $n_tokens]=$tok
	# its parts alone (a log that cut the token short would still show
	# its header and claims; the signature on its own is the secret part)
	SECRETS[bearer token $n_tokens claims]=${tok%.*}
	SECRETS[bearer token $n_tokens signature]=${tok##*.}
done < <(jq -r '.token // empty, .access_token // empty' "$TAP" 2>/dev/null | sort -u)
((n_tokens >= 3)) || die "the tap recorded $n_tokens tokens, expected several"
note "$n_tokens distinct Bearer tokens were handed out"

PATTERNS=$RV_WORK/patterns
: >"$PATTERNS"
: >"$RV_WORK/pattern-names"
for name in "${!SECRETS[@]}"; do
	printf '%s\n' "${SECRETS[$name]}" >>"$PATTERNS"
	printf '%s\t%s\n' "${SECRETS[$name]}" "$name" >>"$RV_WORK/pattern-names"
	[[ $name == "bearer token "* ]] && continue
	while read -r form; do
		printf '%s\n' "$form" >>"$PATTERNS"
		printf '%s\t%s (base64)\n' "$form" "$name" >>"$RV_WORK/pattern-names"
	done < <(b64_forms "${SECRETS[$name]}")
done
n_patterns=$(sort -u "$PATTERNS" | wc -l)

# the bucket, object by object
mkdir -p "$RV_WORK/bucket"
keys=$(rv_s3 GET "/$BUCKET?list-type=2&max-keys=1000" | grep -o '<Key>[^<]*</Key>' | sed 's/<Key>//; s/<\/Key>//')
n_keys=0
for key in $keys; do
	n_keys=$((n_keys + 1))
	rv_s3 GET "/$BUCKET/$key" -o "$RV_WORK/bucket/$(printf '%04d' "$n_keys")"
done
((n_keys >= 5)) || die "only $n_keys objects in the bucket"
for f in "$RV_WORK"/catalog.db "$RV_WORK"/catalog.db-wal "$RV_WORK"/catalog.db-shm "$RV_WORK"/catalog.db.lock; do
	[[ -f $f ]] && strings -a "$f"
done >"$RV_WORK/catalog.strings"

declare -A WHERE=(
	[outputs]="$OUTS"
	[catalog]="$RV_WORK/catalog.strings"
	[catalog raw]="$RV_WORK/catalog.db"
	[staging]="$RV_WORK/catalog.db.staging"
	[dir store]="$RV_WORK/store"
	[bucket]="$RV_WORK/bucket"
)
[[ -f $RV_WORK/catalog.db-wal ]] && WHERE[catalog wal]="$RV_WORK/catalog.db-wal"
# the search itself works: a planted Basic header, a token cut short and a
# passphrase inside a longer line are found
canary=$RV_WORK/canary
mkdir -p "$canary"
printf 'Authorization: Basic %s\n' "$(printf '%s:%s' "$RVA_USER" "$RVA_PASS" | base64 -w0)" >"$canary/a"
printf 'token=%s...\n' "${SECRETS[bearer token 1]:0:${#SECRETS[bearer token 1]}-5}" >"$canary/b"
printf 'xx%syy\n' "$(printf 'zz%s' "$PASSPHRASE" | base64 -w0)" >"$canary/c"
found=$(grep -raoHFf "$PATTERNS" -- "$canary" | cut -d: -f1 | sort -u | wc -l)
rv_expect_eq "planted secrets the search finds" "$found" 3
rm -rf "$canary"

checked=0
leaks=0
for where in "${!WHERE[@]}"; do
	path=${WHERE[$where]}
	[[ -e $path ]] || continue
	if hits=$(grep -raoHFf "$PATTERNS" -- "$path" 2>/dev/null | sort -u); then
		while IFS= read -r hit; do
			file=${hit%%:*}
			what=$(awk -F '\t' -v h="${hit#*:}" '$1 == h { print $2; exit }' "$RV_WORK/pattern-names")
			echo "LEAK: ${what:-a secret} in $where ($file)" >&2
			grep -aF -- "${hit#*:}" "$file" | head -n 2 | cut -c1-300 >&2 || true
			leaks=$((leaks + 1))
		done <<<"$hits"
	fi
	checked=$((checked + 1))
done
((leaks == 0)) || die "$leaks leak(s) of secrets (see above)"
n_files=$(find "$OUTS" "$RV_WORK/store" "$RV_WORK/bucket" -type f | wc -l)
pass "${#SECRETS[@]} secrets ($n_patterns patterns with the base64 forms) appear in none of $checked places ($n_files files, $n_keys bucket objects)"

echo "# figures: ${#SECRETS[@]} secrets checked ($n_tokens Bearer tokens, $n_patterns patterns with base64 forms) in $N_OUT outputs, $proc_seen /proc snapshots, the catalog, the staging folder, the dir store and $n_keys bucket objects; 0 leaks"
pass "no secret leaks"
