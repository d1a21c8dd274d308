# shellcheck shell=bash
# tests/e2e/authlib.sh - registries that ask for credentials, for the
# end-to-end tests. Source it after lib.sh:
#
#	. "$SOURCE_DIR/tests/e2e/lib.sh"
#	. "$SOURCE_DIR/tests/e2e/authlib.sh"
#	rva_pki_init
#	rva_start_tokenserver ts                 # sets ts_TOKEN_URL, ts_LOG, ts_PID
#	rva_start_token_registry src ts          # sets src_URL, src_HOST, src_DIR, src_PID
#	rva_start_tls_registry tls               # https + htpasswd; sets tls_URL, ...
#	rv_config "$RV_WORK/rv.yml" src tls
#	rva_config_auth "$RV_WORK/rv.yml" src    # username + password_file (+ ca_file)
#
# What it gives you:
#	RVA_USER, RVA_PASS   the one user every server here knows (the password
#	                     is random per run; tests grep outputs for it)
#	RVA_PASSFILE         a file holding RVA_PASS (what regvault's config names)
#	RVA_CA               the test root CA (PEM); RVA_CERT_DIR holds it as
#	                     ca.crt for skopeo's --cert-dir
#	RVA_AUTHFILE         skopeo's auth file with the credentials of every
#	                     registry started here; the skopeo function below
#	                     passes it (--authfile), so mkimages.sh's push works
#	                     unchanged and no password goes on an argv. (Not
#	                     exported as RVA_AUTHFILE: distribution reads
#	                     REGISTRY_* variables as config overrides.)
#	rva_pki_init                        root CA, token-signing cert, TLS cert
#	rva_start_tokenserver N [OPTS...]   rv_tokenserver (OPTS: --expires S,
#	                                    --leeway S); N_TOKEN_URL, N_LOG, N_PID
#	rva_start_token_registry N TS [--storage DIR]
#	                                    distribution with auth.token, realm =
#	                                    token server TS; --storage shares
#	                                    another registry's storage folder
#	rva_start_tls_registry N [--storage DIR] [--client-ca PEM]
#	                                    distribution with htpasswd auth and
#	                                    http.tls (cert signed by RVA_CA);
#	                                    --client-ca: http.tls.clientcas, the
#	                                    registry demands a client
#	                                    certificate signed by PEM (mutual
#	                                    TLS; rva_curl then sends
#	                                    RVA_CLIENT_CERT)
#	RVA_CLIENT_CERT, RVA_CLIENT_KEY     a client certificate (clientAuth)
#	                                    signed by RVA_CA, and its key
#	RVA_ROGUE_CERT, RVA_ROGUE_KEY       a self-signed client certificate
#	                                    no registry here trusts
#	rva_start_tokenserver N [OPTS...]   also: --refresh-tokens FILE
#	                                    [--rotate], --no-oauth (OAuth2
#	                                    refresh_token grants; see
#	                                    tests/tools/tokenserver.c)
#	rv_stop_registry N                  (from lib.sh) stops either kind, or a
#	                                    token server
#	rva_config_auth FILE N [--no-ca] [--insecure] [--password-file F]
#	                                    add credentials and TLS keys for N to
#	                                    a config written by rv_config
#	rva_curl N SCOPE CURL_ARGS...       curl with N's credentials (a Bearer
#	                                    token for SCOPE, or Basic + the CA)
#	rva_reg_tag URL REPO FROM NEW       mkimages' reg_tag with credentials
#	rva_check_equal SRC DST [REPO...]   check_equal.sh for registries that
#	                                    need credentials (names, not URLs)
#	rva_assert_no_secret WHAT PATH...   fail if RVA_PASS is in any file
#
# Every process started here is recorded in lib.sh's $RV_PIDS_FILE, so the
# EXIT trap of lib.sh stops it whatever happens.

[[ -n ${RV_PIDS_FILE:-} ]] || {
	echo "authlib.sh: source lib.sh first" >&2
	exit 1
}

RVA_SERVICE=regvault-e2e
RVA_ISSUER=regvault-e2e-issuer
RVA_USER=rvbackup
RVA_PKI=$RV_WORK/pki
RVA_CA=$RVA_PKI/ca.pem
RVA_CERT_DIR=$RVA_PKI/certs.d
RVA_SECRETS=$RV_WORK/secrets
RVA_PASSFILE=$RVA_SECRETS/password
# A distinctive password, so that a grep for it finds nothing by chance.
RVA_PASS=pw-$(openssl rand -hex 12)-e2e
RVA_AUTHFILE=$RVA_SECRETS/auth.json
# Names of the registries started here, for URL -> name lookups.
RVA_REGISTRIES=()

mkdir -p "$RVA_SECRETS"
chmod 700 "$RVA_SECRETS"
printf '%s\n' "$RVA_PASS" >"$RVA_PASSFILE"
printf '%s:%s\n' "$RVA_USER" "$RVA_PASS" >"$RVA_SECRETS/users"
printf '{"auths":{}}\n' >"$RVA_AUTHFILE"
chmod 600 "$RVA_PASSFILE" "$RVA_SECRETS/users" "$RVA_AUTHFILE"

# skopeo SUBCOMMAND ARGS...: skopeo with the credentials of RVA_AUTHFILE.
skopeo() {
	command skopeo "$1" --authfile "$RVA_AUTHFILE" "${@:2}"
}

# rva_need_tokenserver: find rv_tokenserver. $RV_TOKENSERVER wins; else it
# is looked for beside $REGVAULT in a CMake build tree (tests/tools/).
rva_need_tokenserver() {
	local dir
	if [[ -z ${RV_TOKENSERVER:-} ]]; then
		dir=$(dirname "$(command -v "$REGVAULT" 2>/dev/null || echo "$REGVAULT")")
		RV_TOKENSERVER=$dir/tests/tools/rv_tokenserver
	fi
	[[ -x $RV_TOKENSERVER ]] ||
		die "rv_tokenserver not found: RV_TOKENSERVER='$RV_TOKENSERVER' (build target rv_tokenserver and set RV_TOKENSERVER)"
}

# rva_pki_init: a test root CA; a token-signing certificate (RSA, signed by
# the CA); a TLS server certificate for 127.0.0.1 (signed by the CA).
rva_pki_init() {
	mkdir -p "$RVA_PKI" "$RVA_CERT_DIR"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
		-subj "/CN=regvault e2e root CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$RVA_PKI/ca.key" -out "$RVA_CA" 2>"$RVA_PKI/openssl.log" ||
		{ cat "$RVA_PKI/openssl.log" >&2; die "openssl: cannot make the root CA"; }
	cp "$RVA_CA" "$RVA_CERT_DIR/ca.crt"
	_rva_leaf token "regvault e2e token signer" \
		"keyUsage=critical,digitalSignature"
	_rva_leaf tls 127.0.0.1 \
		"keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
	_rva_leaf client "regvault e2e client" \
		"keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
	RVA_CLIENT_CERT=$RVA_PKI/client.pem
	RVA_CLIENT_KEY=$RVA_PKI/client.key
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -sha256 \
		-subj "/CN=regvault e2e rogue client" \
		-addext "extendedKeyUsage=clientAuth" \
		-keyout "$RVA_PKI/rogue.key" -out "$RVA_PKI/rogue.pem" 2>>"$RVA_PKI/openssl.log" ||
		{ cat "$RVA_PKI/openssl.log" >&2; die "openssl: cannot make the rogue client certificate"; }
	RVA_ROGUE_CERT=$RVA_PKI/rogue.pem
	RVA_ROGUE_KEY=$RVA_PKI/rogue.key
}

# _rva_leaf NAME CN EXTENSIONS: $RVA_PKI/NAME.key and NAME.pem signed by the CA.
_rva_leaf() {
	local name=$1 cn=$2 ext=$3
	printf 'basicConstraints=critical,CA:FALSE\n%s\n' "$ext" >"$RVA_PKI/$name.ext"
	{
		openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$cn" \
			-keyout "$RVA_PKI/$name.key" -out "$RVA_PKI/$name.csr" &&
			openssl x509 -req -in "$RVA_PKI/$name.csr" -days 2 -sha256 \
				-CA "$RVA_CA" -CAkey "$RVA_PKI/ca.key" -CAcreateserial \
				-extfile "$RVA_PKI/$name.ext" -out "$RVA_PKI/$name.pem"
	} 2>>"$RVA_PKI/openssl.log" ||
		{ cat "$RVA_PKI/openssl.log" >&2; die "openssl: cannot make certificate '$name'"; }
}

# _rva_record_pid PID: lib.sh's EXIT trap stops it.
_rva_record_pid() {
	echo "$1" >>"$RV_PIDS_FILE"
}

# rva_start_tokenserver NAME [OPTS...]: start rv_tokenserver on a port it
# picks itself; sets NAME_TOKEN_URL (the realm), NAME_LOG and NAME_PID.
rva_start_tokenserver() {
	local name=$1 base=$RV_WORK/$1 pid port="" i
	shift
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "token server name '$name' must be a shell identifier"
	rva_need_tokenserver
	[[ -f $RVA_PKI/token.pem ]] || die "rva_start_tokenserver: call rva_pki_init first"
	mkdir -p "$base"
	: >"$base/port"
	"$RV_TOKENSERVER" --port 0 --key "$RVA_PKI/token.key" --cert "$RVA_PKI/token.pem" \
		--issuer "$RVA_ISSUER" --service "$RVA_SERVICE" \
		--users "$RVA_SECRETS/users" "$@" \
		>"$base/port" 2>>"$base/tokenserver.log" &
	pid=$!
	_rva_record_pid "$pid"
	for ((i = 0; i < 100; i++)); do
		read -r port <"$base/port" 2>/dev/null || true
		[[ -n $port ]] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[[ $port =~ ^[0-9]+$ ]] || {
		cat "$base/tokenserver.log" >&2
		die "token server '$name' did not start"
	}
	printf -v "${name}_TOKEN_URL" '%s' "http://127.0.0.1:$port/token"
	printf -v "${name}_LOG" '%s' "$base/tokenserver.log"
	printf -v "${name}_PID" '%s' "$pid"
}

# Extra curl options for _rva_start_registry's readiness check (a client
# certificate for a mutual-TLS registry).
_RVA_CURL_EXTRA=()

# _rva_start_registry NAME SCHEME AUTH_YAML [STORAGE]: start distribution with
# AUTH_YAML appended to its config; wait until GET /v2/ answers 401 (the
# registry asks for credentials) over SCHEME.
_rva_start_registry() {
	local name=$1 scheme=$2 auth_yaml=$3 storage=${4:-} base=$RV_WORK/$1
	local attempt port pid i code
	local -a curl_tls=()
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "registry name '$name' must be a shell identifier"
	[[ -n $storage ]] || storage=$base/storage
	mkdir -p "$base" "$storage"
	[[ $scheme == https ]] && curl_tls=(--cacert "$RVA_CA" "${_RVA_CURL_EXTRA[@]}")
	for ((attempt = 0; attempt < 5; attempt++)); do
		port=$(rv_free_port)
		cat >"$base/config.yml" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: regvault-e2e-$name
$auth_yaml
EOF
		docker-registry serve "$base/config.yml" >>"$base/registry.log" 2>&1 &
		pid=$!
		_rva_record_pid "$pid"
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			code=$(curl -sS -o /dev/null -w '%{http_code}' "${curl_tls[@]}" \
				"$scheme://127.0.0.1:$port/v2/" 2>/dev/null) || true
			if [[ $code == 401 ]]; then
				printf -v "${name}_URL" '%s' "$scheme://127.0.0.1:$port"
				printf -v "${name}_HOST" '%s' "127.0.0.1:$port"
				printf -v "${name}_DIR" '%s' "$storage"
				printf -v "${name}_PID" '%s' "$pid"
				RVA_REGISTRIES+=("$name")
				_rva_authfile_add "127.0.0.1:$port"
				return 0
			fi
			[[ $code == 000 ]] || {
				kill "$pid" 2>/dev/null || true
				die "registry '$name' answered GET /v2/ with HTTP $code, expected 401"
			}
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			cat "$base/registry.log" >&2 || true
			die "registry '$name' did not answer GET /v2/ on port $port within 20 s"
		fi
		if ! grep -q 'address already in use' "$base/registry.log"; then
			cat "$base/registry.log" >&2 || true
			die "registry '$name' exited at start"
		fi
	done
	cat "$base/registry.log" >&2 || true
	die "registry '$name' could not get a port"
}

# _rva_authfile_add HOST: skopeo's auth file gets the credentials for HOST.
_rva_authfile_add() {
	local tmp=$RVA_AUTHFILE.tmp b64
	b64=$(printf '%s:%s' "$RVA_USER" "$RVA_PASS" | base64 -w0)
	jq --arg h "$1" --arg a "$b64" '.auths[$h] = {auth: $a}' \
		"$RVA_AUTHFILE" >"$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$RVA_AUTHFILE"
}

# rva_start_token_registry NAME TOKENSERVER [--storage DIR]: distribution
# with token auth; its realm is TOKENSERVER's (see rva_start_tokenserver).
rva_start_token_registry() {
	local name=$1 ts=$2 storage=
	shift 2
	if [[ ${1:-} == --storage ]]; then
		storage=$2
		shift 2
	fi
	local realmvar=${ts}_TOKEN_URL
	[[ -n ${!realmvar:-} ]] || die "token server '$ts' not started"
	_rva_start_registry "$name" http "auth:
  token:
    realm: ${!realmvar}
    service: $RVA_SERVICE
    issuer: $RVA_ISSUER
    rootcertbundle: $RVA_CA" "$storage"
	printf -v "${name}_AUTH" '%s' token
	printf -v "${name}_REALM" '%s' "${!realmvar}"
}

# rva_start_tls_registry NAME [--storage DIR] [--client-ca PEM]: distribution
# over https (certificate for 127.0.0.1 signed by RVA_CA) with htpasswd
# (bcrypt) auth; --client-ca makes it demand a client certificate signed by
# PEM (http.tls.clientcas: tls.RequireAndVerifyClientCert).
rva_start_tls_registry() {
	local name=$1 htpasswd_file=$RVA_SECRETS/htpasswd storage= clientca= clientca_yaml=
	shift
	while [[ $# -gt 0 ]]; do
		case $1 in
		--storage) storage=$2; shift 2 ;;
		--client-ca) clientca=$2; shift 2 ;;
		*) die "rva_start_tls_registry: unknown option $1" ;;
		esac
	done
	command -v htpasswd >/dev/null || die "htpasswd not found (apt-get install apache2-utils)"
	if [[ ! -s $htpasswd_file ]]; then
		# -i: the password comes on stdin, not on the command line
		printf '%s\n' "$RVA_PASS" | htpasswd -iBn "$RVA_USER" >"$htpasswd_file" 2>/dev/null ||
			die "htpasswd failed"
		chmod 600 "$htpasswd_file"
	fi
	if [[ -n $clientca ]]; then
		clientca_yaml="
    clientcas:
      - $clientca"
		_RVA_CURL_EXTRA=(--cert "$RVA_CLIENT_CERT" --key "$RVA_CLIENT_KEY")
	fi
	_rva_start_registry "$name" https "  tls:
    certificate: $RVA_PKI/tls.pem
    key: $RVA_PKI/tls.key$clientca_yaml
auth:
  htpasswd:
    realm: regvault-e2e
    path: $htpasswd_file" "$storage"
	_RVA_CURL_EXTRA=()
	printf -v "${name}_AUTH" '%s' basic
	printf -v "${name}_CA" '%s' "$RVA_CA"
	printf -v "${name}_MTLS" '%s' "${clientca:+1}"
}

# rva_config_set FILE REG KEY VALUE: add "KEY: VALUE" to registry REG of a
# config written by rv_config.
rva_config_set() {
	local file=$1 reg=$2 key=$3 value=$4 tmp
	grep -q "^  - name: $reg\$" "$file" || die "rva_config_set: no registry '$reg' in $file"
	tmp=$file.tmp
	awk -v reg="$reg" -v line="    $key: $value" '
		{ print }
		/^[a-z]/ { section = $1 }
		section == "registries:" && /^  - name: / { cur = substr($0, 11) }
		section == "registries:" && cur == reg && /^    url: / { print line }
	' "$file" >"$tmp"
	mv -f "$tmp" "$file"
}

# rva_config_auth FILE NAME [--no-ca] [--insecure] [--password-file F]: give
# registry NAME its username and password_file, and its ca_file when it is a
# TLS registry (unless --no-ca); --insecure adds "insecure: true".
rva_config_auth() {
	local file=$1 name=$2 ca=1 insecure=0 pwfile=$RVA_PASSFILE
	shift 2
	while [[ $# -gt 0 ]]; do
		case $1 in
		--no-ca) ca=0; shift ;;
		--insecure) insecure=1; shift ;;
		--password-file) pwfile=$2; shift 2 ;;
		*) die "rva_config_auth: unknown option $1" ;;
		esac
	done
	local cavar=${name}_CA
	rva_config_set "$file" "$name" username "$RVA_USER"
	rva_config_set "$file" "$name" password_file "$pwfile"
	if [[ $ca == 1 && -n ${!cavar:-} ]]; then
		rva_config_set "$file" "$name" ca_file "${!cavar}"
	fi
	if [[ $insecure == 1 ]]; then
		rva_config_set "$file" "$name" insecure true
	fi
}

# rva_token NAME SCOPE...: print a token for SCOPEs from registry NAME's
# token server (with the credentials).
rva_token() {
	local name=$1 realmvar=${1}_REALM s
	shift
	local -a q=(--data-urlencode "service=$RVA_SERVICE")
	for s in "$@"; do
		q+=(--data-urlencode "scope=$s")
	done
	curl -fsS -G -K - "${q[@]}" "${!realmvar}" <<<"user = \"$RVA_USER:$RVA_PASS\"" |
		jq -er .token
}

# rva_curl NAME SCOPE CURL_ARGS...: curl with registry NAME's credentials: a
# Bearer token for SCOPE (token registries, cached per scope) or Basic and
# the test CA (TLS registries). The secrets go through stdin, not argv.
declare -A _RVA_TOKENS=()
rva_curl() {
	local name=$1 scope=$2 authvar=${1}_AUTH
	shift 2
	case ${!authvar:-} in
	token)
		_rva_token_cached "$name" "$scope"
		curl -K - "$@" <<<"header = \"Authorization: Bearer ${_RVA_TOKENS["$name $scope"]}\""
		;;
	basic)
		local mtlsvar=${name}_MTLS
		local -a client=()
		[[ -n ${!mtlsvar:-} ]] && client=(--cert "$RVA_CLIENT_CERT" --key "$RVA_CLIENT_KEY")
		curl -K - --cacert "$RVA_CA" "${client[@]}" "$@" <<<"user = \"$RVA_USER:$RVA_PASS\""
		;;
	*)
		die "rva_curl: '$name' is not a registry started by authlib.sh"
		;;
	esac
}

# _rva_token_cached NAME SCOPE: fill the token cache for NAME and SCOPE.
# (Call it outside $(...) so that the cache outlives the call.)
_rva_token_cached() {
	local key="$1 $2"
	[[ -n ${_RVA_TOKENS[$key]:-} ]] && return 0
	_RVA_TOKENS[$key]=$(rva_token "$1" "$2") ||
		die "cannot get a token for '$2' from '$1'"
}

# _rva_name_of URL: the name of the registry started here at URL.
_rva_name_of() {
	local n urlvar
	for n in "${RVA_REGISTRIES[@]}"; do
		urlvar=${n}_URL
		[[ ${!urlvar} == "${1%/}" ]] && {
			echo "$n"
			return 0
		}
	done
	die "no registry started by authlib.sh has URL '$1'"
}

# rva_reg_tag URL REPO FROM_REF NEW_TAG: mkimages.sh's reg_tag, with
# credentials. A test that sources mkimages.sh can define
#	reg_tag() { rva_reg_tag "$@"; }
# so that populate works against these registries.
rva_reg_tag() {
	local url=$1 repo=$2 from=$3 tag=$4 name tmp ct
	name=$(_rva_name_of "$url")
	tmp=$(mktemp "$RV_WORK/.tag.XXXXXX")
	ct=$(rva_curl "$name" "repository:$repo:pull,push" -fsS -H "Accept: $MANIFEST_ACCEPT" \
		-o "$tmp" -w '%{content_type}' "$url/v2/$repo/manifests/$from") ||
		die "GET $repo:$from on '$name' failed"
	rva_curl "$name" "repository:$repo:pull,push" -fsS -X PUT -H "Content-Type: $ct" \
		--data-binary "@$tmp" -o /dev/null "$url/v2/$repo/manifests/$tag" ||
		die "PUT $repo:$tag on '$name' failed"
	rm -f "$tmp"
}

# rva_repos NAME: the repositories in NAME's _catalog.
rva_repos() {
	local urlvar=${1}_URL
	rva_curl "$1" registry:catalog:* -fsS "${!urlvar}/v2/_catalog?n=1000" |
		jq -r '.repositories[]?'
}

# rva_tags NAME REPO: the tags of REPO, listed by skopeo with the
# credentials of the auth file.
rva_tags() {
	local hostvar=${1}_HOST
	skopeo list-tags --tls-verify=false "docker://${!hostvar}/$2" | jq -r '.Tags[]?'
}

# _rva_head NAME REPO REF: "STATUS DIGEST" of a manifest HEAD.
_rva_head() {
	local urlvar=${1}_URL
	rva_curl "$1" "repository:$2:pull" -sS -I -H "Accept: $MANIFEST_ACCEPT" \
		"${!urlvar}/v2/$2/manifests/$3" | tr -d '\r' | awk '
		NR == 1 { st = $2 }
		tolower($1) == "docker-content-digest:" { d = $2 }
		END { print st, d }'
}

# rva_check_equal SRC DST [REPO...]: what check_equal.sh checks (every tag
# of SRC is in DST with the same digest; index children are in DST by
# digest and the bytes hash to it; every blob a manifest needs is in DST),
# for registries started here. Prints mismatches and "N tags checked, M
# mismatches"; returns 1 on any mismatch.
rva_check_equal() {
	local src=$1 dst=$2 repo tag s d checked=0 bad=0
	local dsturl=${2}_URL srcauth=${1}_AUTH dstauth=${2}_AUTH
	local src_auth=${!srcauth:-} dst_auth=${!dstauth:-}
	shift 2
	local -a repos=("$@")
	declare -A seen=()
	[[ ${#repos[@]} -gt 0 ]] || mapfile -t repos < <(rva_repos "$src")
	[[ ${#repos[@]} -gt 0 ]] || { echo "rva_check_equal: no repositories in '$src'"; return 1; }

	_rva_mismatch() {
		echo "MISMATCH: $*"
		bad=$((bad + 1))
	}
	_rva_check_manifest() {
		local repo=$1 digest=$2 body got child blob code
		[[ -n ${seen[$repo@$digest]:-} ]] && return 0
		seen[$repo@$digest]=1
		body=$(rva_curl "$dst" "repository:$repo:pull" -fsS -H "Accept: $MANIFEST_ACCEPT" \
			"${!dsturl}/v2/$repo/manifests/$digest") || {
			_rva_mismatch "$repo@$digest: manifest missing in '$dst'"
			return 0
		}
		got=sha256:$(printf '%s' "$body" | sha256sum | cut -c1-64)
		[[ $got == "$digest" ]] || _rva_mismatch "$repo@$digest: '$dst' sends bytes hashing to $got"
		if jq -e '.manifests' >/dev/null <<<"$body"; then
			for child in $(jq -r '.manifests[].digest' <<<"$body"); do
				_rva_check_manifest "$repo" "$child"
			done
		else
			for blob in $(jq -r '.config.digest, .layers[]?.digest' <<<"$body"); do
				[[ -n ${seen[$repo@$blob]:-} ]] && continue
				seen[$repo@$blob]=1
				code=$(rva_curl "$dst" "repository:$repo:pull" -sS -o /dev/null -I \
					-w '%{http_code}' "${!dsturl}/v2/$repo/blobs/$blob") || true
				[[ $code == 200 ]] || _rva_mismatch "$repo: blob $blob missing in '$dst' (HTTP $code)"
			done
		fi
	}

	for repo in "${repos[@]}"; do
		if [[ $src_auth == token ]]; then _rva_token_cached "$src" "repository:$repo:pull"; fi
		if [[ $dst_auth == token ]]; then _rva_token_cached "$dst" "repository:$repo:pull"; fi
		while read -r tag; do
			checked=$((checked + 1))
			read -r _ s < <(_rva_head "$src" "$repo" "$tag")
			read -r _ d < <(_rva_head "$dst" "$repo" "$tag")
			if [[ -z $s ]]; then
				_rva_mismatch "$repo:$tag: no digest from '$src'"
			elif [[ -z $d ]]; then
				_rva_mismatch "$repo:$tag: missing in '$dst' (source $s)"
			elif [[ $s != "$d" ]]; then
				_rva_mismatch "$repo:$tag: '$src' $s, '$dst' $d"
			else
				_rva_check_manifest "$repo" "$s"
			fi
		done < <(rva_tags "$src" "$repo")
	done
	echo "$checked tags checked, $bad mismatches"
	[[ $checked -gt 0 && $bad -eq 0 ]]
}

# rva_assert_no_secret WHAT PATH...: fail unless RVA_PASS (and its base64
# form in a Basic header) is absent from every file under PATHs.
rva_assert_no_secret() {
	local what=$1 b64
	shift
	b64=$(printf '%s:%s' "$RVA_USER" "$RVA_PASS" | base64 -w0)
	if grep -raFl -e "$RVA_PASS" -e "$b64" -- "$@" 2>/dev/null; then
		die "$what: the registry password appears in the file(s) above"
	fi
	pass "$what: the password appears nowhere"
}
