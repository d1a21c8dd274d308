#!/usr/bin/env bash
# test_walk_scale.sh - walking at scale:
#  - distribution's `catalog: maxentries: 5` refuses our n=1000 (HTTP 400
#    PAGINATION_NUMBER_INVALID): the client asks without n and follows the
#    Link pages to every repository;
#  - a registry whose catalog stops at exactly 100 entries without a Link
#    (a small misbehaving proxy in front of distribution, which itself
#    always paginates honestly) is reported as truncated, and the
#    repositories named literally in the config are backed up as well;
#  - 10,000 tags on one repository are all in the snapshot (time printed).
. "$(dirname "$0")/lib.sh"
rv_need_binary
N_TAGS=${RV_SCALE_TAGS:-10000}

# start_limited NAME: a registry with catalog.maxentries 5
start_limited() {
	rv_start_registry "$1" "catalog:\n  maxentries: 5"
}

# seed_repo URL REPO TAG: a tiny image (one config blob, no layer)
CFG=$RV_WORK/config.json
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$CFG"
CFG_D=sha256:$(sha256sum "$CFG" | cut -c1-64)
MAN=$RV_WORK/manifest.json
jq -cn --arg d "$CFG_D" --argjson s "$(stat -c %s "$CFG")" \
	'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $d, size: $s},
	  layers: []}' | tr -d '\n' >"$MAN"
seed_repo() {
	local url=$1 repo=$2 tag=$3 loc
	loc=$(curl -fsS -i -X POST "$url/v2/$repo/blobs/uploads/" | tr -d '\r' |
		awk 'tolower($1) == "location:" { print $2 }')
	[[ $loc == http* ]] || loc=$url$loc
	curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$CFG" \
		"$loc&digest=$CFG_D" -o /dev/null || die "blob upload to $repo failed"
	curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
		--data-binary "@$MAN" "$url/v2/$repo/manifests/$tag" -o /dev/null ||
		die "manifest PUT to $repo failed"
}

source_config() { # REGISTRY LINES...
	local reg=$1
	shift
	{
		echo "catalog: $RV_WORK/catalog.db"
		echo "key:"
		echo "  passphrase_file: $RV_WORK/passphrase"
		echo "registries:"
		for n in lim trunc big; do
			local v=${n}_URL
			[[ -n ${!v:-} ]] && printf '  - name: %s\n    url: %s\n' "$n" "${!v}"
		done
		echo "sources:"
		echo "  - registry: $reg"
		printf '%s\n' "$@"
		echo "targets:"
		echo "  - name: local"
		echo "    type: dir"
		echo "    path: $RV_WORK/store"
	} >"$RV_WORK/rv.yml"
	RV_CONFIG=$RV_WORK/rv.yml
}
printf 'scale test passphrase\n' >"$RV_WORK/passphrase"
chmod 600 "$RV_WORK/passphrase"

step "catalog.maxentries 5: n=1000 is refused, pages without n are followed"
start_limited lim
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do seed_repo "$lim_URL" "p/r$i" v1; done
code=$(curl -s -o /dev/null -w '%{http_code}' "$lim_URL/v2/_catalog?n=1000")
rv_expect_eq "distribution refuses n above maxentries" "$code" 400
source_config lim
rv_run 0 init
rv_run 0 backup --json
rv_expect_eq "repositories through 3 catalog pages" "$(rv_json_field repositories)" 12
if grep -q "truncated" "$RV_ERR"; then die "an honest paginated catalog was reported truncated"; fi
pass "no truncation warning for an honest catalog"

step "a catalog cut at 100 entries without a Link: warned, literal names used"
if ! command -v python3 >/dev/null 2>&1; then
	note "python3 missing: the truncating proxy cannot run; part skipped"
else
	rv_start_registry real
	for ((i = 0; i < 103; i++)); do seed_repo "$real_URL" "$(printf 'fill/r%03d' "$i")" v1; done
	seed_repo "$real_URL" zz/app1 v1
	seed_repo "$real_URL" zz/app2 v1
	pport=$(rv_free_port)
	cat >"$RV_WORK/proxy.py" <<'PY'
# A registry front that cuts the catalog at 100 entries and drops its
# Link header, as some registries do; everything else passes through.
import http.server, json, sys, urllib.request, urllib.error
UP = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def fwd(self, head):
        req = urllib.request.Request(UP + self.path, method=self.command,
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            r = urllib.request.urlopen(req)
            status, hdrs, body = r.status, r.getheaders(), r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, body = e.code, e.headers.items(), e.read()
        if self.path.startswith("/v2/_catalog") and status == 200:
            doc = json.loads(body)
            doc["repositories"] = doc["repositories"][:100]
            body = json.dumps(doc).encode()
            hdrs = [(k, v) for k, v in hdrs if k.lower() not in ("link", "content-length")]
            hdrs.append(("Content-Length", str(len(body))))
        self.send_response(status)
        for k, v in hdrs:
            if k.lower() not in ("connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)
    def do_GET(self): self.fwd(False)
    def do_HEAD(self): self.fwd(True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
	# a few attempts, each on a fresh port: under load the interpreter is
	# slow to start, and a parallel test may take the free port first
	up=0
	for ((attempt = 0; attempt < 5 && !up; attempt++)); do
		((attempt == 0)) || pport=$(rv_free_port)
		python3 "$RV_WORK/proxy.py" "$pport" "$real_URL" >>"$RV_WORK/proxy.log" 2>&1 &
		ppid=$!
		echo "$ppid" >>"$RV_PIDS_FILE"
		trunc_URL=http://127.0.0.1:$pport
		for ((i = 0; i < 300; i++)); do
			curl -fsS -o /dev/null "$trunc_URL/v2/" 2>/dev/null && { up=1; break; }
			kill -0 "$ppid" 2>/dev/null || break
			sleep 0.1
		done
		((up)) || kill "$ppid" 2>/dev/null || true
	done
	((up)) || die "the truncating proxy did not start: $(cat "$RV_WORK/proxy.log")"
	n=$(curl -fsS "$trunc_URL/v2/_catalog?n=1000" | jq '.repositories | length')
	rv_expect_eq "the proxy's catalog page" "$n" 100
	source_config trunc '    repositories: ["zz/app1", "zz/app2", "fill/r00*"]'
	rv_run 0 backup --json
	grep -q "looks truncated" "$RV_ERR" || die "no truncation warning: $(cat "$RV_ERR")"
	pass "the truncated catalog is reported: $(grep -o "the catalog answer looks truncated[^;]*" "$RV_ERR" | head -1)"
	# fill/r000..r009 from the catalog (the glob), zz/app1 and zz/app2 by name
	rv_expect_eq "repositories backed up" "$(rv_json_field repositories)" 12
fi

step "$N_TAGS tags on one repository"
rv_start_registry big
seed_repo "$big_URL" big/tags t0
: >"$RV_WORK/urls.txt"
for ((i = 1; i < N_TAGS; i++)); do
	printf 'url = "%s/v2/big/tags/manifests/t%d"\n' "$big_URL" "$i" >>"$RV_WORK/urls.txt"
done
t0=$(date +%s.%N)
# one curl per slice of URLs, 8 at a time, each keeping its connection
split -n l/8 "$RV_WORK/urls.txt" "$RV_WORK/urls."
ls "$RV_WORK"/urls.?? | xargs -P8 -I{} curl -sS -X PUT \
	-H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
	--data-binary "@$MAN" --config {} -o /dev/null -w '%{http_code}\n' >"$RV_WORK/codes.txt"
bad=$(grep -vc '^201$' "$RV_WORK/codes.txt" || true)
[[ $bad == 0 ]] || die "$bad tag PUTs failed"
t1=$(date +%s.%N)
n=$(curl -fsS "$big_URL/v2/big/tags/tags/list" | jq '.tags | length')
rv_expect_eq "tags in the registry" "$n" "$N_TAGS"
note "created $N_TAGS tags in $(echo "$t1 - $t0" | bc) s"
source_config big '    repositories: ["big/tags"]'
t0=$(date +%s.%N)
rv_run 0 backup --json
t1=$(date +%s.%N)
rv_expect_eq "tags in the snapshot" "$(rv_json_field tags)" "$N_TAGS"
snap=$(rv_json_field snapshot)
n=$(sqlite3 "$RV_WORK/catalog.db" "SELECT count(*) FROM snapshot_tags t JOIN snapshots s ON s.id = t.snapshot WHERE s.snap_id = '$snap'")
rv_expect_eq "tags recorded in the catalog" "$n" "$N_TAGS"
note "backup of $N_TAGS tags: $(echo "$t1 - $t0" | bc) s"
t0=$(date +%s.%N)
rv_run 0 backup --json
t1=$(date +%s.%N)
rv_expect_eq "second run: manifests fetched" "$(rv_json_field manifests_fetched)" 0
note "second (nothing new) backup of $N_TAGS tags: $(echo "$t1 - $t0" | bc) s"
