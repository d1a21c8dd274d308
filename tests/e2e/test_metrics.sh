#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_metrics.sh - metrics.textfile and metrics.webhook (cli/metrics.c):
# after a backup and a verify the file holds both jobs' samples in valid
# Prometheus text format, with the backup JSON's figures; a failing backup
# sets success 0 and exit code 1 and keeps the last success; the file is
# never seen partial and no temporary file stays; scheduled jobs update it
# too; the webhook gets the job's JSON on failure (and on success with
# on: always) with the secret header, which never shows in regvault's
# output; a dead, slow or refusing webhook and an unwritable file only warn.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

if [[ -z ${RV_HOOKSERVER:-} ]]; then
	RV_HOOKSERVER=$(dirname "$(command -v "$REGVAULT" 2>/dev/null || echo "$REGVAULT")")/tests/tools/rv_hookserver
fi
[[ -x $RV_HOOKSERVER ]] ||
	die "rv_hookserver not found: RV_HOOKSERVER='$RV_HOOKSERVER' (build target rv_hookserver)"

PROM_DIR=$RV_WORK/textfile
PROM=$PROM_DIR/regvault.prom
SECRET="Bearer hook-secret-$RANDOM$RANDOM-never-logged"
HEADER_FILE=$RV_WORK/webhook-header
ALL_ERR=$RV_WORK/all-stderr
: >"$ALL_ERR"
mkdir -p "$PROM_DIR"
printf 'Authorization: %s\n' "$SECRET" >"$HEADER_FILE"
chmod 600 "$HEADER_FILE"

# start_hooks NAME [ARGS]: a webhook receiver keeping requests in
# $RV_WORK/NAME/; sets NAME_HOOK (its URL base) and NAME_HOOKDIR.
start_hooks() {
	local name=$1 dir=$RV_WORK/$1 pf=$RV_WORK/$1.port i
	shift
	mkdir -p "$dir"
	"$RV_HOOKSERVER" --dir "$dir" --port-file "$pf" "$@" >/dev/null 2>"$RV_WORK/$name.log" &
	echo "$!" >>"$RV_PIDS_FILE"
	for ((i = 0; i < 100; i++)); do
		[[ -s $pf ]] && break
		sleep 0.1
	done
	[[ -s $pf ]] || die "webhook receiver '$name' did not start: $(cat "$RV_WORK/$name.log")"
	printf -v "${name}_HOOK" '%s' "http://127.0.0.1:$(cat "$pf")"
	printf -v "${name}_HOOKDIR" '%s' "$dir"
}

# hook_count DIR: requests received.
hook_count() {
	find "$1" -maxdepth 1 -name '*.body' | wc -l
}

# write_config METRICS_YAML: the base config plus a metrics section.
write_config() {
	cp "$RV_WORK/base.yml" "$RV_WORK/regvault.yml"
	printf '%s\n' "$1" >>"$RV_WORK/regvault.yml"
}

# run RC ARGS: rv_run that also keeps every stderr for the secret check.
run() {
	local rc=0
	rv_run "$@" || rc=$?
	cat "$RV_ERR" >>"$ALL_ERR"
	return "$rc"
}

# check_prom FILE: a strict check of the Prometheus text exposition format
# (what node_exporter's textfile collector parses): HELP/TYPE lines before
# their samples, each at most once; a family's samples together; valid
# names, label names, escaped label values, numbers; no series twice; a
# final newline.
check_prom() {
	local f=$1
	[[ -s $f ]] || die "metrics file '$f' is missing or empty"
	[[ $(tail -c1 "$f" | od -An -c | tr -d ' ') == '\n' ]] || die "'$f' does not end with a newline"
	awk '
	function fail(msg) { printf "line %d: %s: %s\n", NR, msg, $0; bad = 1; exit 1 }
	BEGIN {
		name = "[a-zA-Z_:][a-zA-Z0-9_:]*"
		lv = "\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""
		pair = "[a-zA-Z_][a-zA-Z0-9_]*=" lv
		labels = "\\{(" pair "(," pair ")*)?\\}"
		num = "[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?Inf|NaN"
		sample_re = "^" name "(" labels ")? (" num ")( -?[0-9]+)?$"
	}
	/^# HELP / {
		if ($3 !~ ("^" name "$")) fail("bad HELP name")
		if (help[$3]++) fail("second HELP")
		if (done[$3]) fail("HELP after the family ended")
		next
	}
	/^# TYPE / {
		if ($3 !~ ("^" name "$")) fail("bad TYPE name")
		if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/ || NF != 4) fail("bad TYPE")
		if (type[$3]++) fail("second TYPE")
		if (seen[$3]) fail("TYPE after samples")
		next
	}
	/^#/ { next }
	/^$/ { fail("empty line") }
	{
		if ($0 !~ sample_re) fail("not a sample line")
		fam = $0; sub(/[{ ].*/, "", fam)
		if (!type[fam]) fail("sample before its TYPE")
		if (fam != cur) {
			if (done[fam]) fail("family split")
			if (cur != "") done[cur] = 1
			cur = fam
		}
		seen[fam] = 1
		series = $0; sub(/ [^ ]*$/, "", series)
		if (dup[series]++) fail("series twice")
	}
	' "$f" || die "'$f' is not valid Prometheus text format"
}

# metric NAME LABELS: the value of NAME{LABELS} in $PROM (empty if absent).
metric() {
	# (through the environment: awk -v would undo the backslash escapes)
	SERIES="$1{$2}" awk 'index($0, ENVIRON["SERIES"] " ") == 1 { print $2 }' "$PROM"
}

# no_tmp: only the metrics file in its folder.
no_tmp() {
	local left
	left=$(find "$PROM_DIR" -mindepth 1 ! -name regvault.prom)
	[[ -z $left ]] || die "left in the textfile folder: $left"
}

step "registry, store, config"
rv_start_registry src
populate "$src_URL"
rv_config "$RV_WORK/base.yml" src
# shellcheck disable=SC2034 # read by rv in lib.sh
RV_CONFIG=$RV_WORK/regvault.yml # base.yml plus a metrics section
start_hooks fail_only
write_config "metrics:
  textfile: $PROM
  webhook:
    url: $fail_only_HOOK/regvault
    header_file: $HEADER_FILE
    timeout_seconds: 5"
run 0 init

step "config errors name the line"
bad_config() { # WANT_LINE WANT_TEXT YAML
	local rc=0
	cp "$RV_WORK/base.yml" "$RV_WORK/bad.yml"
	printf '%s\n' "$3" >>"$RV_WORK/bad.yml"
	"$REGVAULT" --config "$RV_WORK/bad.yml" backup >/dev/null 2>"$RV_ERR" || rc=$?
	[[ $rc == 2 ]] || die "config with $2 exited $rc, expected 2"
	grep -q "line $1: .*$2" "$RV_ERR" || die "config error for $2 at line $1: $(cat "$RV_ERR")"
	pass "config: $2 (line $1)"
}
base_lines=$(wc -l <"$RV_WORK/base.yml")
bad_config $((base_lines + 3)) "unknown key 'textfil'" "metrics:
  textfile: $PROM
  textfil: x.prom"
bad_config $((base_lines + 2)) "must name a file ending in '.prom'" "metrics:
  textfile: $PROM_DIR/regvault.txt"
bad_config $((base_lines + 4)) "'on' must be 'failure'" "metrics:
  webhook:
    url: http://127.0.0.1:1/x
    on: sometimes"
bad_config $((base_lines + 3)) "must start with http:// or https://" "metrics:
  webhook:
    url: ftp://127.0.0.1/x"
bad_config $((base_lines + 4)) "'timeout_seconds' must be from 1 to 3600" "metrics:
  webhook:
    url: http://127.0.0.1:1/x
    timeout_seconds: 0"
bad_config $((base_lines + 4)) "unknown key 'method'" "metrics:
  webhook:
    url: http://127.0.0.1:1/x
    method: PUT"
bad_config $((base_lines + 3)) "needs 'url'" "metrics:
  webhook:
    on: always"

step "backup --json, with a reader watching the file"
[[ ! -e $PROM ]] || die "metrics file exists before any job"
SEEN=$RV_WORK/seen
mkdir -p "$SEEN"
(
	while [[ ! -e $RV_WORK/stop-reader ]]; do
		if cat "$PROM" >"$SEEN/cur" 2>/dev/null; then
			h=$(sha256sum <"$SEEN/cur" | cut -c1-64)
			[[ -e $SEEN/$h ]] || cp "$SEEN/cur" "$SEEN/$h"
		fi
	done
) &
READER=$!
echo "$READER" >>"$RV_PIDS_FILE"
t0=$(date +%s)
run 0 backup --json
t1=$(date +%s)
cp "$RV_OUT" "$RV_WORK/backup.json"
jq -e . "$RV_WORK/backup.json" >/dev/null || die "backup --json output is not JSON any more: $(cat "$RV_OUT")"
after_backup=$(sha256sum <"$PROM" | cut -c1-64)
check_prom "$PROM"
pass "the file parses as Prometheus text"
B='kind="backup",source="all"'
rv_expect_eq "backup success" "$(metric regvault_last_run_success "$B")" 1
rv_expect_eq "backup exit code" "$(metric regvault_last_run_exit_code "$B")" 0
rv_expect_eq "backup bytes stored = bytes_written" "$(metric regvault_last_run_bytes_stored "$B")" "$(jq .bytes_written "$RV_WORK/backup.json")"
rv_expect_eq "backup blobs = blobs_fetched" "$(metric regvault_last_run_blobs "$B")" "$(jq .blobs_fetched "$RV_WORK/backup.json")"
rv_expect_eq "backup tags" "$(metric regvault_last_run_tags "$B")" "$MK_SAMPLE_TAGS"
rv_expect_eq "backup errors" "$(metric regvault_last_run_errors "$B")" 0
last_run=$(metric regvault_last_run_timestamp_seconds "$B")
last_ok=$(metric regvault_last_success_timestamp_seconds "$B")
((last_run >= t0 && last_run <= t1)) || die "backup last run $last_run not within [$t0, $t1]"
rv_expect_eq "backup last success = last run" "$last_ok" "$last_run"
dur=$(metric regvault_last_run_duration_seconds "$B")
awk -v d="$dur" -v m=$((t1 - t0 + 1)) 'BEGIN { exit !(d > 0 && d <= m) }' || die "backup duration '$dur'"
pass "backup timestamps within the run, duration $dur s"
packs=$(metric regvault_target_packs 'target="local"')
bytes=$(metric regvault_target_bytes 'target="local"')
rv_expect_eq "target packs = catalog" "$packs" "$(sqlite3 "$RV_WORK/catalog.db" 'SELECT COUNT(*) FROM packs')"
rv_expect_eq "target bytes = catalog" "$bytes" "$(sqlite3 "$RV_WORK/catalog.db" 'SELECT SUM(size) FROM packs')"
rv_expect_eq "file mode" "$(stat -c %a "$PROM")" 644
no_tmp
rv_expect_eq "on: failure sends nothing on success" "$(hook_count "$fail_only_HOOKDIR")" 0

step "verify (no --json) keeps the backup's samples"
run 0 verify
after_verify=$(sha256sum <"$PROM" | cut -c1-64)
touch "$RV_WORK/stop-reader"
wait "$READER" 2>/dev/null || true
check_prom "$PROM"
V='kind="verify",target="all"'
rv_expect_eq "verify success" "$(metric regvault_last_run_success "$V")" 1
rv_expect_eq "verify errors (damaged copies)" "$(metric regvault_last_run_errors "$V")" 0
[[ -n $(metric regvault_last_run_blobs "$V") ]] || die "verify without --json has no blobs figure (from the runs table)"
rv_expect_eq "backup samples kept after verify" "$(metric regvault_last_run_bytes_stored "$B")" "$(jq .bytes_written "$RV_WORK/backup.json")"
rv_expect_eq "backup last run kept after verify" "$(metric regvault_last_run_timestamp_seconds "$B")" "$last_run"
n_seen=0
for f in "$SEEN"/*; do
	h=$(basename "$f")
	[[ $h == cur ]] && continue
	n_seen=$((n_seen + 1))
	[[ $h == "$after_backup" || $h == "$after_verify" ]] || {
		cat "$f" >&2
		die "the reader saw a content that is neither the backup's nor the verify's file"
	}
done
((n_seen >= 1)) || die "the reader saw nothing"
pass "the reader saw $n_seen complete version(s), never a partial file"
no_tmp

step "a backup run as cron runs it (no --json) has its figures too"
run 0 backup
grep -q "^snapshot [0-9a-f]\{12\} of 'src'" "$RV_OUT" || die "the text output changed: $(cat "$RV_OUT")"
jq -e . "$RV_OUT" >/dev/null 2>&1 && die "a backup without --json printed JSON"
check_prom "$PROM"
rv_expect_eq "plain backup tags" "$(metric regvault_last_run_tags "$B")" "$MK_SAMPLE_TAGS"
rv_expect_eq "plain backup blobs (nothing new)" "$(metric regvault_last_run_blobs "$B")" 0
rv_expect_eq "plain backup bytes stored (nothing new)" "$(metric regvault_last_run_bytes_stored "$B")" 0
pass "a backup without --json still reports its figures in the file"
last_ok=$(metric regvault_last_success_timestamp_seconds "$B")

step "a failing backup (registry stopped)"
rv_stop_registry src
run 1 backup
check_prom "$PROM"
rv_expect_eq "failed backup success" "$(metric regvault_last_run_success "$B")" 0
rv_expect_eq "failed backup exit code" "$(metric regvault_last_run_exit_code "$B")" 1
rv_expect_eq "last success kept" "$(metric regvault_last_success_timestamp_seconds "$B")" "$last_ok"
new_run=$(metric regvault_last_run_timestamp_seconds "$B")
((new_run >= last_run)) || die "last run went back: $new_run < $last_run"
rv_expect_eq "verify samples kept" "$(metric regvault_last_run_success "$V")" 1
no_tmp
rv_expect_eq "webhook requests after the failure" "$(hook_count "$fail_only_HOOKDIR")" 1
body=$fail_only_HOOKDIR/1.body
head=$fail_only_HOOKDIR/1.head
jq -e . "$body" >/dev/null || die "webhook body is not JSON: $(cat "$body")"
rv_expect_eq "webhook job" "$(jq -r .job "$body")" backup
rv_expect_eq "webhook source" "$(jq -r .source "$body")" all
rv_expect_eq "webhook outcome" "$(jq -r .outcome "$body")" failed
rv_expect_eq "webhook exit_code" "$(jq -r .exit_code "$body")" 1
rv_expect_eq "webhook host" "$(jq -r .host "$body")" "$(uname -n)"
jq -e '(.started | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and (.finished | test("Z$")) and (.duration_seconds | type == "number") and (.summary | type == "object")' "$body" >/dev/null ||
	die "webhook body fields: $(cat "$body")"
pass "webhook body has started, finished, duration_seconds, summary"
grep -q '^POST /regvault HTTP/1.1$' "$head" || die "webhook request line: $(head -1 "$head")"
grep -qi '^content-type: application/json$' "$head" || die "webhook content type: $(cat "$head")"
grep -qF "Authorization: $SECRET" "$head" || die "the header_file line did not arrive"
pass "webhook POSTs JSON with the header_file line"

step "on: always sends on success too"
rv_start_registry src2
populate "$src2_URL"
sed -i "s|$src_URL|$src2_URL|" "$RV_WORK/base.yml"
start_hooks always
write_config "metrics:
  textfile: $PROM
  webhook:
    url: $always_HOOK/hook
    on: always
    header_file: $HEADER_FILE"
run 0 backup --source src
rv_expect_eq "on: always requests" "$(hook_count "$always_HOOKDIR")" 1
body=$always_HOOKDIR/1.body
rv_expect_eq "webhook outcome on success" "$(jq -r .outcome "$body")" ok
rv_expect_eq "webhook source" "$(jq -r .source "$body")" src
rv_expect_eq "webhook summary (no --json: the backup's result all the same)" \
	"$(jq -r '.summary | has("bytes_written") and has("tags") and (.snapshots | length == 1)' "$body")" true
S='kind="backup",source="src"'
rv_expect_eq "backup --source has its own series" "$(metric regvault_last_run_success "$S")" 1
rv_expect_eq "the 'all' series stays" "$(metric regvault_last_run_success "$B")" 0
run 0 verify --json
rv_expect_eq "verify --json: webhook on success" "$(hook_count "$always_HOOKDIR")" 2
rv_expect_eq "webhook summary is the verify result" "$(jq -r .summary.outcome "$always_HOOKDIR/2.body")" "$(jq -r .outcome "$RV_OUT")"
rv_expect_eq "webhook target" "$(jq -r .target "$always_HOOKDIR/2.body")" all

step "a dead webhook only warns; the URL's secrets are not shown"
dead=$(rv_free_port)
write_config "metrics:
  textfile: $PROM
  webhook:
    url: http://hookuser:hookpass@127.0.0.1:$dead/hidden-path?token=qs
    on: always
    header_file: $HEADER_FILE
    timeout_seconds: 3"
run 0 backup --json
grep -q "warning: webhook http://127.0.0.1:$dead/\.\.\.: " "$RV_ERR" || die "no warning for the dead webhook: $(cat "$RV_ERR")"
for s in hookuser hookpass hidden-path token=qs; do
	! grep -qF "$s" "$RV_ERR" || die "'$s' of the webhook URL shows in stderr"
done
pass "dead webhook: exit 0, a warning without userinfo, path or query"

step "a webhook that never answers times out; one that answers 500 warns"
start_hooks stall --stall
write_config "metrics:
  webhook:
    url: $stall_HOOK/x
    on: always
    timeout_seconds: 1"
s0=$(date +%s)
run 0 backup
(($(date +%s) - s0 < 30)) || die "the stalled webhook held the job"
grep -q "warning: webhook .*timed out\|warning: webhook .*Timeout" "$RV_ERR" || die "no timeout warning: $(cat "$RV_ERR")"
pass "stalled webhook: timeout warning, exit 0"
start_hooks refuse --status 500
write_config "metrics:
  webhook:
    url: $refuse_HOOK/x
    on: always"
run 0 backup
grep -q "warning: webhook http://127.0.0.1:[0-9]*/\.\.\. answered HTTP 500" "$RV_ERR" || die "no HTTP 500 warning: $(cat "$RV_ERR")"
pass "HTTP 500: warning, exit 0"

step "an unwritable metrics file only warns"
write_config "metrics:
  textfile: $RV_WORK/missing-folder/regvault.prom"
run 0 backup
grep -q "warning: cannot write the metrics file '$RV_WORK/missing-folder/regvault.prom'" "$RV_ERR" ||
	die "no warning naming the file: $(cat "$RV_ERR")"
pass "unwritable file: warning naming it, exit 0"

step "scheduled jobs (schedule run-due) update the file"
write_config "metrics:
  textfile: $PROM
schedules:
  - name: hourly
    cron: \"0 * * * *\"
    job: backup
  - name: prune
    cron: \"0 * * * *\"
    job: prune"
T0=1900000000 # a whole hour
push_new "$src2_URL" # something new for the scheduled backup to store
REGVAULT_TEST_NOW=$((T0 + 60)) run 0 schedule run-due --json
REGVAULT_TEST_NOW=$((T0 + 3660)) run 0 schedule run-due --json
rv_expect_eq "scheduled jobs ran" "$(jq -r '[.[].job] | join(",")' "$RV_OUT")" backup,prune
check_prom "$PROM"
rv_expect_eq "scheduled backup time" "$(metric regvault_last_run_timestamp_seconds "$B")" $((T0 + 3660))
rv_expect_eq "scheduled backup success" "$(metric regvault_last_run_success "$B")" 1
rv_expect_eq "scheduled backup bytes from its captured JSON" \
	"$(metric regvault_last_run_bytes_stored "$B")" "$(jq '.[0].result.bytes_written' "$RV_OUT")"
(($(metric regvault_last_run_bytes_stored "$B") > 0)) || die "the scheduled backup stored no bytes"
rv_expect_eq "scheduled prune" "$(metric regvault_last_run_success 'kind="prune"')" 1
rv_expect_eq "verify samples still there" "$(metric regvault_last_run_success "$V")" 1
no_tmp

step "label values are escaped"
rc=0
rv restore latest --to 'we"ird\name' >"$RV_OUT" 2>"$RV_ERR" || rc=$?
cat "$RV_ERR" >>"$ALL_ERR"
[[ $rc != 0 ]] || die "restore to a registry that does not exist exited 0"
check_prom "$PROM"
grep -qxF 'regvault_last_run_success{kind="restore",registry="we\"ird\\name"} 0' "$PROM" ||
	die "escaped restore sample missing: $(grep restore "$PROM")"
rv_expect_eq "restore exit code sample" "$(metric regvault_last_run_exit_code 'kind="restore",registry="we\"ird\\name"')" "$rc"

step "the secret header never shows"
! grep -qF "$SECRET" "$ALL_ERR" || die "the webhook header value shows in regvault's stderr"
! grep -qaF "$SECRET" "$RV_WORK/catalog.db" || die "the webhook header value is in the catalog"
! grep -qF "$SECRET" "$PROM" || die "the webhook header value is in the metrics file"
pass "the header value is in no output, catalog or metrics file"
