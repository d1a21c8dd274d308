#!/usr/bin/env bash
# The registry client's own tests against real distribution registries:
# tests/unit/test_registry_live*.c, run here because they need a server.
#  - plain registry: uploads, manifests by tag and digest, tags, catalog
#    pages (Link), streamed blob GET with digest checks, mounts, refusals;
#  - htpasswd registry: anonymous refused with a clear message, a wrong
#    password refused (and never printed), the right one pushes and pulls.
# In the plain build the binaries also run under valgrind.
. "$(dirname "$0")/lib.sh"

bin=${RV_TEST_BIN_DIR:?RV_TEST_BIN_DIR must name the folder of the test binaries}
wrap=()
if [[ ${RV_SANITIZE:-0} != 1 ]] && command -v valgrind >/dev/null; then
	wrap=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
fi

step "plain registry"
rv_start_registry plain
REGVAULT_TEST_REGISTRY=$plain_URL "${wrap[@]}" "$bin/test_registry_live" ||
	die "test_registry_live failed against $plain_URL"
pass "registry client live suite against a real registry${wrap:+ (under valgrind)}"

step "htpasswd registry"
command -v htpasswd >/dev/null || die "htpasswd (apache2-utils) is not installed; run scripts/deps.sh"
user=rvtest
password="s3cret-$RANDOM-$RANDOM"
mkdir -p "$RV_WORK/basic"
htpasswd -Bbn "$user" "$password" >"$RV_WORK/basic/htpasswd" 2>/dev/null
# Start it on a free port; when another test takes the port first, the
# registry exits with "address already in use": try another one.
code=
for ((attempt = 0; attempt < 5; attempt++)); do
	port=$(rv_free_port)
	cat >"$RV_WORK/basic/config.yml" <<EOC
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $RV_WORK/basic/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: regvault-e2e-basic
auth:
  htpasswd:
    realm: regvault-test
    path: $RV_WORK/basic/htpasswd
EOC
	docker-registry serve "$RV_WORK/basic/config.yml" >"$RV_WORK/basic/registry.log" 2>&1 &
	pid=$!
	echo "$pid" >>"$RV_PIDS_FILE"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
		[[ $code == 401 ]] && break
		sleep 0.1
	done
	[[ $code == 401 ]] && kill -0 "$pid" 2>/dev/null && break
	kill "$pid" 2>/dev/null || true
	grep -q 'address already in use' "$RV_WORK/basic/registry.log" || break
done
[[ $code == 401 ]] || { cat "$RV_WORK/basic/registry.log" >&2; die "htpasswd registry did not come up (last status $code)"; }
REGVAULT_TEST_REGISTRY_BASIC=http://127.0.0.1:$port REGVAULT_TEST_REGISTRY_USER=$user \
	REGVAULT_TEST_REGISTRY_PASSWORD=$password "${wrap[@]}" "$bin/test_registry_live_basic" \
	>"$RV_WORK/basic/out" 2>&1 || { cat "$RV_WORK/basic/out"; die "test_registry_live_basic failed"; }
cat "$RV_WORK/basic/out"
if grep -qF "$password" "$RV_WORK/basic/out"; then
	die "the password appeared in the test output"
fi
pass "HTTP Basic auth: anonymous refused, wrong password refused, right one works; password never printed"
