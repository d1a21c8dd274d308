#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_concurrency.sh - regvault runs that meet, on one S3 store (a real
# Ceph RGW, reached through rv_evilproxy, which makes pack DELETEs slow so
# that a prune lasts long enough to be met):
#  1. one host, one catalog: two backups started at once; without
#     locks.wait_seconds the loser exits 5 (the run lock), with it both
#     complete; nothing is lost (every winner's snapshot is there, verify
#     --level deep is clean, the last snapshot restores digest-equal);
#  2. two hosts (two configs, two catalogs, two sources) back up to the one
#     store at the same time: both complete (shared store locks) or the
#     loser exits 5; each host's catalog verifies deep and its last snapshot
#     restores digest-equal; `catalog rebuild` from the bucket finds both
#     hosts' snapshots;
#  3. a backup while a prune runs: on the prune's host (run lock) and on the
#     other host (the prune's exclusive store lock) it exits 5 naming the
#     prune, or with locks.wait_seconds waits and completes after it;
#     afterwards both hosts verify deep and restore digest-equal;
#     (host B's backup may then exit 4 as documented: its catalog adopted
#     packs of host A that the prune removed; rebuilt as the message says);
#  4. a third host's prune must not delete what the other hosts' snapshots
#     need (docs/OPERATIONS.md, "Several hosts, one store").
#
# Needs RV_EVILPROXY (the rv_evilproxy binary; looked for beside $REGVAULT
# in a CMake build tree, tests/tools/, when unset) and Ceph (s3lib.sh).
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/s3lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
# steps show the seconds since the start (the budget is about 3 minutes)
step() { echo "---- [${SECONDS} s] $*"; }
CHECK_EQUAL=$SOURCE_DIR/tests/e2e/check_equal.sh

if [[ -z ${RV_EVILPROXY:-} ]]; then
	RV_EVILPROXY=$(dirname "$(command -v "$REGVAULT" 2>/dev/null || echo "$REGVAULT")")/tests/tools/rv_evilproxy
fi
[[ -x $RV_EVILPROXY ]] ||
	die "rv_evilproxy not found: RV_EVILPROXY='$RV_EVILPROXY' (build target rv_evilproxy and set RV_EVILPROXY)"

RACES=0   # runs started against another run
LOCKED=0  # of them, exits 5
WAITED=0  # of them, waited for the other and completed
REBUILDS=0 # catalog rebuilds a prune on another host made necessary
DELETE_DELAY_MS=1000

# host_config HOST SOURCE [EXTRA YAML...]: $RV_WORK/HOST.yml, catalog
# $RV_WORK/HOST/catalog.db, source registry SOURCE, the S3 store through
# the proxy.
host_config() {
	local host=$1 src=$2 url line
	shift 2
	url=${src}_URL
	printf '%s\n' "correct horse battery staple e2e" >"$RV_WORK/passphrase"
	chmod 600 "$RV_WORK/passphrase"
	{
		echo "catalog: $RV_WORK/$host/catalog.db"
		echo "key:"
		echo "  passphrase_file: $RV_WORK/passphrase"
		echo "registries:"
		echo "  - name: $src"
		echo "    url: ${!url}"
		echo "sources:"
		echo "  - registry: $src"
		echo "targets:"
		S3_ENDPOINT=$s3proxy_URL rv_s3_target_yaml shared "$BUCKET" "prefix: store/"
		for line in "$@"; do echo "$line"; done
	} >"$RV_WORK/$host.yml"
}

# on HOST ARGS...: regvault with HOST's config (output in $RV_OUT/$RV_ERR).
on() {
	RV_CONFIG=$RV_WORK/$1.yml
	shift
	rv_run 0 "$@"
}

# bg NAME HOST ARGS...: start regvault in the background; BG_NAME_PID.
bg() {
	local name=$1 host=$2
	shift 2
	"$REGVAULT" --config "$RV_WORK/$host.yml" "$@" >"$RV_WORK/$name.out" 2>"$RV_WORK/$name.err" &
	printf -v "BG_${name}_PID" '%s' "$!"
}

# reap NAME: wait for a background run; sets BG_RC.
reap() {
	local pidvar=BG_${1}_PID
	BG_RC=0
	wait "${!pidvar}" || BG_RC=$?
}

# snapshots_of HOST: snapshots in HOST's catalog.
snapshots_of() {
	if [[ -f $RV_WORK/$1/catalog.db ]]; then
		sqlite3 "$RV_WORK/$1/catalog.db" "select count(*) from snapshots"
	else
		echo 0
	fi
}

# check_host HOST SOURCE WHAT: HOST's catalog verifies deep, its last
# snapshot restores digest-equal into a new registry.
CHECKS=0
check_host() {
	local host=$1 src=$2 what=$3 name snap rc
	CHECKS=$((CHECKS + 1))
	name=chk$CHECKS
	RV_CONFIG=$RV_WORK/$host.yml
	rc=0
	rv verify --level deep --json >"$RV_OUT" 2>"$RV_ERR" || rc=$?
	if [[ $rc != 0 ]]; then
		cat "$RV_ERR" >&2
		die "$what: $host's snapshots no longer verify (verify --level deep exited $rc, outcome $(jq -r .outcome "$RV_OUT" 2>/dev/null)): packs they need are gone"
	fi
	rv_expect_eq "$what: $host verify --level deep outcome" "$(rv_json_field outcome)" ok
	rv_start_registry "$name"
	local url=${name}_URL src_url=${src}_URL
	snap=$(sqlite3 "$RV_WORK/$host/catalog.db" "select snap_id from snapshots
		where source = '$src' order by time desc, id desc limit 1")
	[[ -n $snap ]] || die "$what: no snapshot of '$src' in $host's catalog"
	on "$host" restore "$snap" --to "${!url}" --json
	"$CHECK_EQUAL" "${!src_url}" "${!url}" >"$RV_WORK/.check" ||
		{ cat "$RV_WORK/.check" >&2; die "$what: $host's last snapshot does not restore digest-equal"; }
	pass "$what: $host's last snapshot restores digest-equal ($(tail -n 1 "$RV_WORK/.check"))"
	rv_stop_registry "$name"
}

# wait_for_prune_deleting NAME: until the proxy has delayed a pack DELETE
# (the prune is in its delete step, holding its locks) or NAME ended.
wait_for_prune_deleting() {
	local pidvar=BG_${1}_PID i
	for ((i = 0; i < 600; i++)); do
		grep -q '^delay DELETE ' "$s3proxy_LOG" && return 0
		kill -0 "${!pidvar}" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

step "two source registries (host A: six images + 24 MiB; host B: three images + 24 MiB)"
rv_start_registry ra
rv_start_registry rb
layout=$(_mk_layout_dir)
mk_sample_layout "$layout"
push "$layout" abc "$ra_URL" a/b/c:1.0
reg_tag "$ra_URL" a/b/c 1.0 latest
push "$layout" api-v1 "$ra_URL" team-a/api:v1
push "$layout" api-v2 "$ra_URL" team-a/api:v2
reg_tag "$ra_URL" team-a/api v2 prod
push "$layout" worker "$ra_URL" team-a/worker:latest
push "$layout" multi "$ra_URL" multi/arch:latest --all
push "$layout" many-1 "$ra_URL" many/tags:t00
push "$layout" many-2 "$ra_URL" many/tags:t01
RV_LAYER_COMPRESS=none mk_image "$layout" heavy-a heavy-a linux amd64 "" heavy-a:25165824
RV_LAYER_COMPRESS=none mk_image "$layout" heavy-b heavy-b linux amd64 "" heavy-b:25165824
push "$layout" heavy-a "$ra_URL" heavy/a:1
push "$layout" abc "$rb_URL" a/b/c:1.0
push "$layout" api-v1 "$rb_URL" team-b/api:v1
push "$layout" multi "$rb_URL" multi/arch:latest --all
push "$layout" heavy-b "$rb_URL" heavy/b:1

step "Ceph RGW, a bucket, and the proxy in front of it (pack DELETEs take ${DELETE_DELAY_MS} ms)"
rv_start_rgw
BUCKET=rv-conc-$RANDOM$RANDOM
rv_s3_bucket "$BUCKET"
rgw_host=${S3_ENDPOINT#http://}
pf=$RV_WORK/s3proxy.port
"$RV_EVILPROXY" --upstream "$rgw_host" --log "$RV_WORK/s3proxy.log" --port-file "$pf" \
	--rule "DELETE /$BUCKET/store/packs/ delay:$DELETE_DELAY_MS" >/dev/null 2>"$RV_WORK/s3proxy.err" &
echo "$!" >>"$RV_PIDS_FILE"
for ((i = 0; i < 100; i++)); do [[ -s $pf ]] && break; sleep 0.05; done
[[ -s $pf ]] || die "the S3 proxy did not start: $(cat "$RV_WORK/s3proxy.err")"
s3proxy_URL=http://127.0.0.1:$(cat "$pf")
s3proxy_LOG=$RV_WORK/s3proxy.log
host_config hostA ra
host_config hostA-wait ra "locks:" "  wait_seconds: 120"
sed -i "s|$RV_WORK/hostA-wait/catalog.db|$RV_WORK/hostA/catalog.db|" "$RV_WORK/hostA-wait.yml"
host_config hostB rb
host_config hostB-wait rb "locks:" "  wait_seconds: 120"
sed -i "s|$RV_WORK/hostB-wait/catalog.db|$RV_WORK/hostB/catalog.db|" "$RV_WORK/hostB-wait.yml"
on hostA init

# ---------------------------------------------------------------------------
step "1. one host, one catalog: two backups at once"
for round in 1 2 3; do
	cfg=hostA
	[[ $round == 2 ]] && cfg=hostA-wait
	if [[ $round == 3 ]]; then
		RV_LAYER_COMPRESS=none mk_image "$layout" r3 r3 linux amd64 "" round-3:6291456
		push "$layout" r3 "$ra_URL" rounds/r:3
	fi
	before=$(snapshots_of hostA)
	bg one "$cfg" backup
	bg two "$cfg" backup
	reap one
	rc1=$BG_RC
	reap two
	rc2=$BG_RC
	RACES=$((RACES + 2))
	outcome=$(printf '%s\n' "$rc1" "$rc2" | sort | tr '\n' ' ')
	ok=0
	for name in one two; do
		rc=rc1
		[[ $name == two ]] && rc=rc2
		case ${!rc} in
		0) ok=$((ok + 1)) ;;
		5)
			LOCKED=$((LOCKED + 1))
			grep -q "another regvault run holds the lock" "$RV_WORK/$name.err" ||
				die "round $round: exit 5 without the lock message: $(cat "$RV_WORK/$name.err")"
			;;
		*)
			cat "$RV_WORK/$name.err" >&2
			die "round $round: backup '$name' exited ${!rc}, expected 0 or 5"
			;;
		esac
	done
	if [[ $cfg == hostA-wait ]]; then
		rv_expect_eq "round $round (wait_seconds 120): exits" "$outcome" "0 0 "
		WAITED=$((WAITED + 1))
	else
		rv_expect_eq "round $round (wait_seconds 0): exits" "$outcome" "0 5 "
	fi
	rv_expect_eq "round $round: new snapshots (one per run that exited 0)" \
		"$(($(snapshots_of hostA) - before))" "$ok"
done
check_host hostA ra "1"

# ---------------------------------------------------------------------------
step "2. two hosts, two catalogs, one S3 store: backups at the same time"
for round in 1 2; do
	if [[ $round == 2 ]]; then
		RV_LAYER_COMPRESS=none mk_image "$layout" ba ba linux amd64 "" base:2097152 both-a:4194304
		RV_LAYER_COMPRESS=none mk_image "$layout" bb bb linux amd64 "" base:2097152 both-b:4194304
		push "$layout" ba "$ra_URL" both/a:1
		push "$layout" bb "$rb_URL" both/b:1
	fi
	a_before=$(snapshots_of hostA)
	b_before=$(snapshots_of hostB)
	bg A hostA backup
	bg B hostB backup
	reap A
	rcA=$BG_RC
	reap B
	rcB=$BG_RC
	RACES=$((RACES + 2))
	for h in A B; do
		rc=rc$h
		case ${!rc} in
		0) ;;
		5) LOCKED=$((LOCKED + 1)) ;;
		*)
			cat "$RV_WORK/$h.err" >&2
			die "two hosts, round $round: host $h's backup exited ${!rc}, expected 0 or 5"
			;;
		esac
	done
	[[ $rcA == 0 || $rcB == 0 ]] || die "two hosts, round $round: neither backup completed ($rcA, $rcB)"
	pass "two hosts, round $round: host A exited $rcA, host B exited $rcB"
	[[ $rcA != 0 ]] || rv_expect_eq "host A's new snapshots" "$(($(snapshots_of hostA) - a_before))" 1
	[[ $rcB != 0 ]] || rv_expect_eq "host B's new snapshots" "$(($(snapshots_of hostB) - b_before))" 1
done
check_host hostA ra "2"
check_host hostB rb "2"

step "2. catalog rebuild from the bucket finds both hosts' snapshots"
host_config rebuilt ra
on rebuilt catalog rebuild --from shared --json
want=$(sqlite3 "$RV_WORK/hostA/catalog.db" "select snap_id from snapshots" |
	cat - <(sqlite3 "$RV_WORK/hostB/catalog.db" "select snap_id from snapshots") | sort)
got=$(sqlite3 "$RV_WORK/rebuilt/catalog.db" "select snap_id from snapshots" | sort)
[[ $got == "$want" ]] || die "rebuilt catalog's snapshots:
$got
expected host A's and host B's:
$want"
sources=$(sqlite3 "$RV_WORK/rebuilt/catalog.db" "select count(distinct source) from snapshots")
rv_expect_eq "sources in the rebuilt catalog" "$sources" 2
pass "the rebuilt catalog holds all $(wc -l <<<"$got") snapshots of both hosts"

# ---------------------------------------------------------------------------
step "3. a backup while a prune runs"
# Something for the prune to delete: an image backed up once, then gone
# from the source, its snapshot forgotten.
RV_LAYER_COMPRESS=none mk_image "$layout" junk junk linux amd64 "" junk-1:4194304 junk-2:4194304
push "$layout" junk "$ra_URL" junk/img:1
on hostA backup
jd=$(rv_manifest_digest "$ra_URL" junk/img 1)
curl -fsS -X DELETE -o /dev/null "$ra_URL/v2/junk/img/manifests/$jd"
REGVAULT_TEST_NOW=$(($(date +%s) + 60)) on hostA backup
REGVAULT_TEST_NOW=$(($(date +%s) + 120)) on hostA forget --keep-last 1 --json
(($(rv_json_field forgotten) >= 1)) || die "forget forgot nothing"
cp "$s3proxy_LOG" "$s3proxy_LOG.before"
: >"$s3proxy_LOG"
bg prune hostA prune
wait_for_prune_deleting prune || {
	reap prune
	cat "$RV_WORK/prune.err" >&2
	die "the prune never reached its delete step (exit $BG_RC)"
}
note "the prune is deleting packs (each DELETE delayed ${DELETE_DELAY_MS} ms)"
# same host, same catalog: the run lock
bg sameA hostA backup
reap sameA
RACES=$((RACES + 1))
kill -0 "$BG_prune_PID" 2>/dev/null || note "(the prune ended before the same-host backup was reaped)"
rv_expect_eq "same host: backup while the prune runs exits" "$BG_RC" 5
LOCKED=$((LOCKED + 1))
grep -q "another regvault run holds the lock" "$RV_WORK/sameA.err" ||
	die "same host: no run-lock message: $(cat "$RV_WORK/sameA.err")"
# other host: the prune's exclusive lock on the store
bg otherB hostB backup
reap otherB
RACES=$((RACES + 1))
if kill -0 "$BG_prune_PID" 2>/dev/null; then
	rv_expect_eq "other host: backup while the prune runs exits" "$BG_RC" 5
	LOCKED=$((LOCKED + 1))
	grep -q "prune" "$RV_WORK/otherB.err" ||
		die "other host: the message does not name the prune: $(cat "$RV_WORK/otherB.err")"
	pass "other host: $(grep -m1 prune "$RV_WORK/otherB.err")"
else
	die "the prune ended before the other host's backup could meet it; raise DELETE_DELAY_MS"
fi
# other host with locks.wait_seconds: waits for the prune, then completes
b_before=$(snapshots_of hostB)
bg waitB hostB-wait backup
reap prune
rc_prune=$BG_RC
reap waitB
RACES=$((RACES + 1))
[[ $rc_prune == 0 ]] || { cat "$RV_WORK/prune.err" >&2; die "the prune exited $rc_prune"; }
grep -q "waiting up to 120 s for the store: locked by 'prune'" "$RV_WORK/waitB.err" ||
	die "other host with wait_seconds: it did not say it waited for the prune: $(cat "$RV_WORK/waitB.err")"
WAITED=$((WAITED + 1))
rc_waitB=$BG_RC
n_del=$(grep -c '^delay DELETE ' "$s3proxy_LOG" || true)
note "host A's prune deleted $n_del pack copies; host B's waiting backup then exited $rc_waitB"
# What matters first: every host's snapshots survive host A's prune.
check_host hostA ra "3 (after host A's prune)"
check_host hostB rb "3 (after host A's prune)"
if [[ $rc_waitB == 4 ]]; then
	# documented (docs/OPERATIONS.md, "Several hosts, one store"): host B's
	# backups adopted packs of host A that only host A's forgotten
	# snapshots needed; the prune removed them, so host B's catalog refers
	# to packs that are gone: exit 4, rebuild
	grep -q "a prune run from another host removed them" "$RV_WORK/waitB.err" ||
		die "other host with wait_seconds: exit 4 without the documented message: $(cat "$RV_WORK/waitB.err")"
	note "host B's catalog refers to packs it had adopted from host A, which the prune removed; rebuilding it as the message says"
	on hostB catalog rebuild --from shared --force
	on hostB backup
	REBUILDS=$((REBUILDS + 1))
	check_host hostB rb "3 (after host B's rebuild)"
else
	[[ $rc_waitB == 0 ]] || { cat "$RV_WORK/waitB.err" >&2; die "other host with wait_seconds: backup exited $rc_waitB, expected 0 (or 4 and the rebuild message)"; }
	rv_expect_eq "other host with wait_seconds: new snapshots" "$(($(snapshots_of hostB) - b_before))" 1
fi

# ---------------------------------------------------------------------------
step "4. a third host's prune keeps what the other hosts' snapshots need"
# host C: its own catalog and source; its first backup adopts every pack on
# the store (they check out), its prune must still not delete what host A's
# and host B's snapshots need.
rv_start_registry rc
push "$layout" lint "$rc_URL" team-c/lint:1
host_config hostC rc
on hostC backup
note "host C's backup: $(grep -m1 'adopted' "$RV_ERR" || echo 'adopted nothing')"
on hostC prune --json
note "host C's prune: $(jq -c '{packs_deleted, packs_repacked, copies_deleted}' "$RV_OUT")"
check_host hostC rc "4 (after host C's prune)"
check_host hostA ra "4 (after host C's prune)"
check_host hostB rb "4 (after host C's prune)"

echo "# figures: $RACES runs raced against another, $LOCKED exited 5, $WAITED waited for the other; $REBUILDS catalog rebuild(s) forced by another host's prune; $CHECKS verify-deep + restore checks"
pass "concurrent runs lose nothing"
