# shellcheck shell=bash
# tests/e2e/lib.sh - shared helpers for the end-to-end tests.
#
# Source it from a test (or a script such as the quickstart):
#
#	. "$SOURCE_DIR/tests/e2e/lib.sh"
#	rv_start_registry src          # sets src_URL, src_HOST, src_DIR
#	rv_config "$RV_WORK/rv.yml" src dst
#	rv init
#
# What it gives you:
#	RV_WORK              a fresh work folder, removed on exit (kept with KEEP=1)
#	die MSG / pass MSG / note MSG / step MSG
#	rv_free_port         prints a free TCP port on 127.0.0.1
#	rv_start_registry N  starts a CNCF distribution registry; sets N_URL
#	                     (http://127.0.0.1:PORT), N_HOST (127.0.0.1:PORT), N_DIR
#	                     (storage root) and N_PID
#	rv_stop_registry N   stops it (storage stays)
#	rv_config FILE SRC [REG...]   writes a regvault config (see below)
#	rv ARGS...           runs "$REGVAULT" --config "$RV_CONFIG" ARGS
#	rv_run RC ARGS...    runs rv, keeps stdout/stderr in $RV_OUT/$RV_ERR, fails
#	                     unless the exit code is RC
#	rv_manifest_digest URL REPO REF   digest a registry reports for a manifest
#	rv_tag_count URL     number of tags over every repo of a registry
#	rv_blob_set URL      every blob digest reachable from every tag, sorted
#	rv_blob_pairs URL    "REPO DIGEST" for every blob each repository needs
#	rv_tree_sums PATH... sha256 of every file under PATHs (to compare states)
#
# Every server started here is killed on EXIT/INT/TERM, whatever happens.

set -euo pipefail
shopt -s inherit_errexit

: "${SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${REGVAULT:=regvault}"
export SOURCE_DIR REGVAULT
# Cheap key slots in tests; a test that wants the real KDF unsets it.
export REGVAULT_TEST_FAST_KDF=1
# Never let the caller's environment pick a config or passphrase for us.
unset REGVAULT_CONFIG REGVAULT_PASSWORD

RV_TEST_NAME=$(basename "${0%.sh}")
RV_WORK=$(mktemp -d "${TMPDIR:-/tmp}/rv-${RV_TEST_NAME}.XXXXXX")
RV_PIDS_FILE=$RV_WORK/.pids
: >"$RV_PIDS_FILE"
RV_CONFIG=
RV_OUT=$RV_WORK/.out
RV_ERR=$RV_WORK/.err
export RV_WORK

MANIFEST_ACCEPT="application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json"

_rv_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	if [[ -s $RV_PIDS_FILE ]]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null || true
		done <"$RV_PIDS_FILE"
		while read -r pid; do
			local i
			for ((i = 0; i < 50; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -9 "$pid" 2>/dev/null || true
		done <"$RV_PIDS_FILE"
	fi
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "# KEEP=1: work folder kept: $RV_WORK" >&2
	else
		rm -rf "$RV_WORK"
	fi
	exit "$rc"
}
trap _rv_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
	echo "FAIL [$RV_TEST_NAME]: $*" >&2
	exit 1
}

pass() {
	echo "ok   [$RV_TEST_NAME]: $*"
}

note() {
	echo "#    $*"
}

step() {
	echo "---- $*"
}

# rv_need_binary: fail clearly when $REGVAULT is not runnable.
rv_need_binary() {
	if ! command -v "$REGVAULT" >/dev/null 2>&1 && [[ ! -x $REGVAULT ]]; then
		die "regvault binary not found: REGVAULT='$REGVAULT' (set REGVAULT to the built binary)"
	fi
}

# rv_port_busy PORT: true when something listens on 127.0.0.1:PORT.
rv_port_busy() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]] && return 0
	fi
	# A connect that succeeds means a listener is there.
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
	return 1
}

# rv_free_port: print a TCP port on 127.0.0.1 that nothing listens on,
# below the kernel's ephemeral range (ip_local_port_range): a port in that
# range may be taken at any moment by an outgoing connection's local end,
# which no listener check sees (seen in CI: "address already in use" with
# many tests connecting at once). A race with another listener is still
# possible; rv_start_registry retries then.
rv_free_port() {
	local i port low=32768 span
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	span=$((low - 10000))
	((span >= 1000)) || span=20000
	for ((i = 0; i < 200; i++)); do
		port=$((10000 + (RANDOM * 32768 + RANDOM) % span))
		rv_port_busy "$port" && continue
		echo "$port"
		return 0
	done
	die "no free TCP port found on 127.0.0.1"
}

# rv_start_registry NAME [EXTRA_YAML]: start a CNCF distribution registry
# with filesystem storage in $RV_WORK/NAME/storage (EXTRA_YAML: top-level
# config sections added, e.g. "catalog:\n  maxentries: 5"); sets NAME_URL,
# NAME_HOST, NAME_DIR, NAME_PID.
rv_start_registry() {
	local name=$1 extra=${2:-} base=$RV_WORK/$1 attempt port pid i
	[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "registry name '$name' must be a shell identifier"
	mkdir -p "$base/storage"
	for ((attempt = 0; attempt < 5; attempt++)); do
		port=$(rv_free_port)
		cat >"$base/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $base/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: regvault-e2e-$name
EOF
		[[ -z $extra ]] || printf '%b\n' "$extra" >>"$base/config.yml"
		docker-registry serve "$base/config.yml" >>"$base/registry.log" 2>&1 &
		pid=$!
		echo "$pid" >>"$RV_PIDS_FILE"
		for ((i = 0; i < 200; i++)); do
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
				printf -v "${name}_URL" '%s' "http://127.0.0.1:$port"
				printf -v "${name}_HOST" '%s' "127.0.0.1:$port"
				printf -v "${name}_DIR" '%s' "$base/storage"
				printf -v "${name}_PID" '%s' "$pid"
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			echo "---- $base/registry.log" >&2
			cat "$base/registry.log" >&2 || true
			die "registry '$name' did not answer GET /v2/ on port $port within 20 s"
		fi
		# It exited: most likely the port was taken meanwhile. Retry.
		if ! grep -q 'address already in use' "$base/registry.log"; then
			echo "---- $base/registry.log" >&2
			cat "$base/registry.log" >&2 || true
			die "registry '$name' exited at start"
		fi
	done
	cat "$base/registry.log" >&2 || true
	die "registry '$name' could not get a port"
}

# rv_stop_registry NAME: stop a registry started by rv_start_registry.
rv_stop_registry() {
	local pidvar=${1}_PID i
	local pid=${!pidvar:-}
	[[ -n $pid ]] || return 0
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	printf -v "$pidvar" '%s' ""
}

# rv_config [OPTIONS] FILE SRC [REG...]: write a regvault config to FILE and make
# it the one `rv` uses. SRC and REG are names given to rv_start_registry; SRC is
# the backup source, all of them are listed under registries.
# Options:
#	--no-passfile     no key.passphrase_file (use REGVAULT_PASSWORD)
#	--passphrase P    passphrase written to the passphrase file (default: a fixed one)
#	--store DIR       dir target path (default $RV_WORK/store)
#	--catalog FILE    catalog path (default $RV_WORK/catalog.db)
#	--repos GLOB      add a repositories glob to the source (repeatable)
#	--exclude GLOB    add an exclude glob to the source (repeatable)
#	--max-connections N  max_connections for every registry (1: no parallel fetch)
rv_config() {
	local passfile=1 pass="correct horse battery staple e2e"
	local store=$RV_WORK/store catalog=$RV_WORK/catalog.db
	local -a repos=() excludes=()
	local conns=""
	while [[ $# -gt 0 ]]; do
		case $1 in
		--no-passfile) passfile=0; shift ;;
		--max-connections) conns=$2; shift 2 ;;
		--passphrase) pass=$2; shift 2 ;;
		--store) store=$2; shift 2 ;;
		--catalog) catalog=$2; shift 2 ;;
		--repos) repos+=("$2"); shift 2 ;;
		--exclude) excludes+=("$2"); shift 2 ;;
		--) shift; break ;;
		-*) die "rv_config: unknown option $1" ;;
		*) break ;;
		esac
	done
	[[ $# -ge 2 ]] || die "usage: rv_config [OPTIONS] FILE SRC [REG...]"
	local file=$1 src=$2 name urlvar g
	shift 2
	mkdir -p "$(dirname "$file")"
	{
		echo "catalog: $catalog"
		if [[ $passfile == 1 ]]; then
			printf '%s\n' "$pass" >"$RV_WORK/passphrase"
			chmod 600 "$RV_WORK/passphrase"
			echo "key:"
			echo "  passphrase_file: $RV_WORK/passphrase"
		fi
		echo "registries:"
		for name in "$src" "$@"; do
			urlvar=${name}_URL
			[[ -n ${!urlvar:-} ]] || die "rv_config: registry '$name' not started"
			echo "  - name: $name"
			echo "    url: ${!urlvar}"
			[[ -z $conns ]] || echo "    max_connections: $conns"
		done
		echo "sources:"
		echo "  - registry: $src"
		if [[ ${#repos[@]} -gt 0 ]]; then
			echo "    repositories:"
			for g in "${repos[@]}"; do echo "      - \"$g\""; done
		fi
		if [[ ${#excludes[@]} -gt 0 ]]; then
			echo "    exclude:"
			for g in "${excludes[@]}"; do echo "      - \"$g\""; done
		fi
		echo "targets:"
		echo "  - name: local"
		echo "    type: dir"
		echo "    path: $store"
	} >"$file"
	RV_CONFIG=$file
}

# rv ARGS...: run regvault with the current config.
rv() {
	[[ -n $RV_CONFIG ]] || die "rv: no config (call rv_config first)"
	"$REGVAULT" --config "$RV_CONFIG" "$@"
}

# rv_run RC ARGS...: run `rv ARGS`, keep its output in $RV_OUT / $RV_ERR, and
# fail the test (showing both) unless it exits with RC.
rv_run() {
	local want=$1 rc=0
	shift
	rv "$@" >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	if [[ $rc != "$want" ]]; then
		echo "---- stdout of: regvault $*" >&2
		cat "$RV_OUT" >&2
		echo "---- stderr of: regvault $*" >&2
		cat "$RV_ERR" >&2
		die "regvault $* exited $rc, expected $want"
	fi
}

# rv_json_field FIELD: print .FIELD of the JSON in $RV_OUT (fails if absent).
rv_json_field() {
	jq -er ".$1" "$RV_OUT" || {
		cat "$RV_OUT" >&2
		die "field '$1' missing from JSON output"
	}
}

# RV_NEEDED_PACKS: SQL for the ids of the packs some blob reads. Two fetch
# workers may both write a chunk new to both; the catalog keeps one copy, so
# a pack of nothing but such chunks is in no seal and verify skips it
# (docs/DESIGN.md, "Each blob once"). Count what verify checks with this.
RV_NEEDED_PACKS='SELECT DISTINCT p.pack_id FROM packs p JOIN chunks c ON c.pack = p.id
	JOIN blob_chunks bc ON bc.chunk = c.id'

# rv_expect_eq WHAT GOT WANT
rv_expect_eq() {
	[[ $2 == "$3" ]] || die "$1: got '$2', expected '$3'"
	pass "$1 = $3"
}

# rv_manifest_digest URL REPO REF: the Docker-Content-Digest the registry
# gives for a manifest (HEAD with every manifest media type accepted).
rv_manifest_digest() {
	local d
	d=$(curl -fsS -I -H "Accept: $MANIFEST_ACCEPT" "$1/v2/$2/manifests/$3" |
		tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }') || true
	[[ $d == sha256:* ]] || return 1
	echo "$d"
}

# rv_get_manifest URL REPO REF: the raw manifest bytes on stdout.
rv_get_manifest() {
	curl -fsS -H "Accept: $MANIFEST_ACCEPT" "$1/v2/$2/manifests/$3"
}

# rv_repos URL: every repository in the registry's _catalog.
rv_repos() {
	curl -fsS "$1/v2/_catalog?n=1000" | jq -r '.repositories[]?'
}

# rv_tags URL REPO: every tag of a repository.
rv_tags() {
	curl -fsS "$1/v2/$2/tags/list?n=1000" | jq -r '.tags[]?'
}

# rv_tag_count URL: tags over every repository.
rv_tag_count() {
	local url=$1 repo n=0 c
	while read -r repo; do
		c=$(rv_tags "$url" "$repo" | wc -l)
		n=$((n + c))
	done < <(rv_repos "$url")
	echo "$n"
}

# _rv_manifest_blobs URL REPO REF: blob digests a manifest needs (recurses
# into index children).
_rv_manifest_blobs() {
	local url=$1 repo=$2 ref=$3 body child
	body=$(rv_get_manifest "$url" "$repo" "$ref")
	if jq -e '.manifests' >/dev/null <<<"$body"; then
		for child in $(jq -r '.manifests[].digest' <<<"$body"); do
			_rv_manifest_blobs "$url" "$repo" "$child"
		done
	else
		jq -r '.config.digest, .layers[]?.digest' <<<"$body"
	fi
}

# rv_blob_set URL: sorted unique blob digests reachable from every tag.
rv_blob_set() {
	local url=$1 repo tag
	while read -r repo; do
		while read -r tag; do
			_rv_manifest_blobs "$url" "$repo" "$tag"
		done < <(rv_tags "$url" "$repo")
	done < <(rv_repos "$url") | sort -u
}

# rv_blob_pairs URL: sorted unique "REPO DIGEST" lines, every blob each
# repository needs.
rv_blob_pairs() {
	local url=$1 repo tag
	while read -r repo; do
		while read -r tag; do
			_rv_manifest_blobs "$url" "$repo" "$tag" | sed "s|^|$repo |"
		done < <(rv_tags "$url" "$repo")
	done < <(rv_repos "$url") | sort -u
}

# rv_tree_sums DIR...: sha256 of every file under the given paths, sorted by
# name, so two calls can be compared byte for byte.
rv_tree_sums() {
	local p
	for p in "$@"; do
		if [[ -d $p ]]; then
			find "$p" -type f -print0 | sort -z | xargs -0 -r sha256sum
		elif [[ -e $p ]]; then
			sha256sum "$p"
		fi
	done
}

# rv_flip_byte FILE OFFSET: invert the byte at OFFSET (a write of a fixed
# value would leave the file unchanged when the byte already had it).
rv_flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n')
	[[ -n $b ]] || die "rv_flip_byte: $1 has no byte at offset $2"
	# shellcheck disable=SC2059 # the format is the octal escape we build
	printf "\\$(printf '%03o' $((b ^ 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# rv_start_logged_registry NAME: rv_start_registry with the access log and
# info-level messages on (in $RV_WORK/NAME/registry.log), on the same port.
rv_start_logged_registry() {
	local name=$1 base=$RV_WORK/$1 pid i urlvar
	rv_start_registry "$name"
	urlvar=${name}_URL
	rv_stop_registry "$name"
	sed -i 's/disabled: true/disabled: false/; s/level: warn/level: info/' "$base/config.yml"
	docker-registry serve "$base/config.yml" >>"$base/registry.log" 2>&1 &
	pid=$!
	echo "$pid" >>"$RV_PIDS_FILE"
	printf -v "${name}_PID" '%s' "$pid"
	for ((i = 0; i < 200; i++)); do
		curl -fsS -o /dev/null "${!urlvar}/v2/" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$base/registry.log" >&2
	die "registry '$name' did not come back with its access log on"
}

# rv_need_faultproxy: find the rv_faultproxy test tool (RV_FAULTPROXY, else
# beside $REGVAULT in a CMake build tree) or fail.
rv_need_faultproxy() {
	if [[ -z ${RV_FAULTPROXY:-} ]]; then
		RV_FAULTPROXY=$(dirname "$(command -v "$REGVAULT" 2>/dev/null || echo "$REGVAULT")")/tests/tools/rv_faultproxy
	fi
	[[ -x $RV_FAULTPROXY ]] ||
		die "rv_faultproxy not found: RV_FAULTPROXY='$RV_FAULTPROXY' (build target rv_faultproxy and set RV_FAULTPROXY)"
}

# rv_start_faultproxy NAME UPSTREAM_HOST ARGS...: start rv_faultproxy in front of
# UPSTREAM_HOST; sets NAME_URL and NAME_LOG.
rv_start_faultproxy() {
	local name=$1 up=$2 i port
	shift 2
	local log=$RV_WORK/$name.log pf=$RV_WORK/$name.port
	"$RV_FAULTPROXY" --upstream "$up" --log "$log" --port-file "$pf" "$@" \
		>/dev/null 2>"$RV_WORK/$name.err" &
	echo "$!" >>"$RV_PIDS_FILE"
	for ((i = 0; i < 100; i++)); do
		[[ -s $pf ]] && break
		sleep 0.1
	done
	[[ -s $pf ]] || die "fault proxy '$name' did not start: $(cat "$RV_WORK/$name.err")"
	port=$(cat "$pf")
	printf -v "${name}_URL" '%s' "http://127.0.0.1:$port"
	printf -v "${name}_LOG" '%s' "$log"
}
