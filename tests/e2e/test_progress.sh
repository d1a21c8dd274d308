#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_HOST, ... are set by rv_start_registry
# test_progress.sh - the progress line (issue 9).
#
# On a terminal (a pseudo-terminal from `script`, 100 columns) a long
# command redraws one line ("\r\033[K" then "VERB: ...") several times, never
# wider than the terminal, with a rate, an ETA where the totals are known
# and where the work is:
# - backup of an image of ~60 MB of layers through rv_faultproxy
#   --throttle-kbps (a slow source: the run lasts ~5 s);
# - restore into a second registry behind rv_evilproxy, which holds each
#   blob upload's last PUT a while (on loopback a restore of 60 MB takes
#   under a second, and the meter shows a rate and an ETA only after its
#   first second);
# - verify --level hash of a local dir target and of an S3 target (Ceph RGW)
#   behind rv_faultproxy --throttle-kbps (hashing 60 MB of a local folder
#   also takes well under a second).
# The repository's name is long enough to run past 100 columns, so the line
# is cut to 99.
# Without a terminal (stderr to a file) nothing is drawn: no "\r", no escape
# byte, every line a "regvault: " log line. --quiet: a clean backup writes
# nothing to stderr, not even on a terminal; --verbose: debug lines.
# --log-format json: every stderr line of a backup (on a terminal) and of a
# failing restore is one JSON object with time, level, program, msg.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/e2e/s3lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary
rv_need_faultproxy
if [[ -z ${RV_EVILPROXY:-} ]]; then
	RV_EVILPROXY=$(dirname "$(command -v "$REGVAULT" 2>/dev/null || echo "$REGVAULT")")/tests/tools/rv_evilproxy
fi
[[ -x $RV_EVILPROXY ]] ||
	die "rv_evilproxy not found: RV_EVILPROXY='$RV_EVILPROXY' (build target rv_evilproxy and set RV_EVILPROXY)"
command -v script >/dev/null ||
	die "'script' (util-linux, Debian package bsdutils) is needed for a pseudo-terminal"
command -v jq >/dev/null || die "jq is needed"

REPO=progress/a-repository-name-long-enough-to-run-past-the-end-of-a-100-column-line
ESC=$'\033'
CR=$'\r'

# on_tty OUT CMD: run the shell command CMD on a pseudo-terminal of 100
# columns (output post-processing off, so "\n" stays "\n"); everything it
# writes to the terminal goes to OUT. Returns CMD's exit code.
on_tty() {
	local out=$1 cmd=$2
	COLUMNS=100 script -qfec "stty cols 100 rows 40 -onlcr; $cmd" /dev/null >"$out" </dev/null
}

# draws FILE VERB: the lines drawn (the text after each "\r\033[K") that
# start with "VERB: ", one a line.
draws() {
	tr '\r' '\n' <"$1" | sed -n "s/^${ESC}\[K\($2: .*\)\$/\1/p"
}

# check_draws WHAT FILE VERB WHERE ETA CUT: at least 3 redraws, none wider
# than 99 columns, and one with a rate and "| WHERE" (and an ETA when ETA is
# 1); when CUT is 1, the widest is cut at exactly 99.
check_draws() {
	local what=$1 file=$2 verb=$3 where=$4 eta=$5 cut=$6 n line widest=0 full=0
	n=$(draws "$file" "$verb" | wc -l)
	if ((n < 3)); then
		cat -v "$file" >&2
		die "$what: $n redraw(s) of the '$verb:' line, expected at least 3"
	fi
	while IFS= read -r line; do
		((${#line} <= widest)) || widest=${#line}
		[[ $line == *'/s'* && $line == *"| $where"* ]] || continue
		[[ $eta == 0 || $line == *', ETA '* ]] || continue
		full=$((full + 1))
	done < <(draws "$file" "$verb")
	((widest <= 99)) || die "$what: a drawn line is $widest columns wide on a 100-column terminal"
	((cut == 0 || widest == 99)) ||
		die "$what: the widest drawn line is $widest columns; the long repository name should have been cut at 99"
	if ((full == 0)); then
		draws "$file" "$verb" >&2
		die "$what: no drawn line has a rate$( ((eta)) && echo ", an ETA") and '| $where'"
	fi
	pass "$what: $n redraws, at most $widest columns, $full with a rate$( ((eta)) && echo ", an ETA") and '| ${where:0:24}'"
	note "e.g. $(draws "$file" "$verb" | grep -F -- "| $where" | grep -F '/s' | tail -n 1)"
}

# check_plain WHAT FILE: stderr of a run without a terminal.
check_plain() {
	local what=$1 file=$2 bad
	! grep -q "$CR" "$file" || die "$what: stderr holds a carriage return"
	! grep -q "$ESC" "$file" || die "$what: stderr holds an escape byte"
	bad=$(grep -v '^regvault: ' "$file" || true)
	[[ -z $bad ]] || die "$what: stderr lines that are not log lines: $bad"
	pass "$what: no \\r, no escape, $(wc -l <"$file") 'regvault: ' line(s)"
}

# check_json WHAT FILE: every line one JSON log object.
check_json() {
	local what=$1 file=$2 line n=0
	! grep -q "$CR" "$file" || die "$what: a carriage return in the JSON log"
	! grep -q "$ESC" "$file" || die "$what: an escape byte in the JSON log"
	while IFS= read -r line; do
		jq -e 'type == "object" and (keys == ["level", "msg", "program", "time"])
			and .program == "regvault" and (.msg | type == "string")
			and (.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))
			and (.level | IN("error", "warning", "info", "debug"))' \
			>/dev/null <<<"$line" || die "$what: not a JSON log line: $line"
		n=$((n + 1))
	done <"$file"
	((n > 0)) || die "$what: no log line at all"
	pass "$what: $n JSON log line(s), nothing else"
}

step "registries, proxies, an S3 target, and an image of ~60 MB"
rv_start_registry src
rv_start_registry dst
rv_start_registry dst2
layout=$RV_WORK/layout
oci_init "$layout"
# layers of different sizes, so the fetchers finish them one after another
# (3/4 of each is incompressible: skopeo's gzip leaves ~60 MiB)
RV_LAYER_COMPRESS=none mk_image "$layout" big big linux amd64 "" \
	big-a:5242880 big-b:8388608 big-c:11534336 big-d:14680064 \
	big-e:19922944 big-f:25165824
push "$layout" big "$src_URL" "$REPO:1"
# each blob of the source at most 5 MiB/s per connection (3 fetchers)
rv_start_faultproxy slowsrc "$src_HOST" --throttle-kbps 5120
# each blob upload's closing PUT to dst waits 700 ms
pf=$RV_WORK/slowdst.port
"$RV_EVILPROXY" --upstream "$dst_HOST" --log "$RV_WORK/slowdst.log" --port-file "$pf" \
	--rule "PUT /blobs/uploads/ delay:700" >/dev/null 2>"$RV_WORK/slowdst.err" &
echo "$!" >>"$RV_PIDS_FILE"
for ((i = 0; i < 100; i++)); do [[ -s $pf ]] && break; sleep 0.05; done
[[ -s $pf ]] || die "the proxy in front of dst did not start: $(cat "$RV_WORK/slowdst.err")"
# shellcheck disable=SC2034 # rv_config reads it as ${name}_URL
slowdst_URL=http://127.0.0.1:$(cat "$pf")
rv_start_rgw
bucket=rv-progress-$RANDOM$RANDOM
rv_s3_bucket "$bucket"
rv_start_faultproxy slows3 "${S3_ENDPOINT#http://}" --throttle-kbps 16384
rv_config "$RV_WORK/rv.yml" slowsrc slowdst dst dst2
S3_ENDPOINT=$slows3_URL rv_s3_target_yaml slow "$bucket" "prefix: store/" >>"$RV_CONFIG"
rv_run 0 init

step "backup on a terminal"
t0=$SECONDS
on_tty "$RV_WORK/tty-backup.out" "exec '$REGVAULT' --config '$RV_CONFIG' backup" ||
	{ cat -v "$RV_WORK/tty-backup.out" >&2; die "backup on a terminal failed"; }
note "backup took $((SECONDS - t0)) s"
check_draws "backup" "$RV_WORK/tty-backup.out" backup "${REPO:0:40}" 0 1
draws "$RV_WORK/tty-backup.out" backup | grep -q '^backup: [0-9]* tags, ' ||
	die "backup: the drawn line does not count tags"
# the line is erased ("\r\033[K") before the result is printed
tr '\r' '\n' <"$RV_WORK/tty-backup.out" | grep -q "^${ESC}\[Ksnapshot [0-9a-f]\{12\} of" ||
	die "backup: the progress line was not erased before the result"
pass "backup: the line is erased before the result"

step "restore on a terminal into a second registry"
t0=$SECONDS
on_tty "$RV_WORK/tty-restore.out" "exec '$REGVAULT' --config '$RV_CONFIG' restore latest --to slowdst" ||
	{ cat -v "$RV_WORK/tty-restore.out" >&2; die "restore on a terminal failed"; }
note "restore took $((SECONDS - t0)) s"
check_draws "restore" "$RV_WORK/tty-restore.out" restore "${REPO:0:30}" 1 1
draws "$RV_WORK/tty-restore.out" restore | grep -q '^restore: [01]/1 tags, [0-9.]* [KMG]*i*B/[0-9.]* MiB' ||
	die "restore: the drawn line has no 'N/1 tags, DONE/TOTAL' (the bytes to upload)"
pass "restore: tags of the total, bytes of the bytes to upload"

step "verify --level hash on a terminal (local and S3 targets)"
t0=$SECONDS
on_tty "$RV_WORK/tty-verify.out" "exec '$REGVAULT' --config '$RV_CONFIG' verify --level hash" ||
	{ cat -v "$RV_WORK/tty-verify.out" >&2; die "verify on a terminal failed"; }
note "verify took $((SECONDS - t0)) s"
check_draws "verify" "$RV_WORK/tty-verify.out" verify slow 0 0
draws "$RV_WORK/tty-verify.out" verify | grep -q '^verify: [0-9]*/[0-9]* packs, [0-9.]* [KMG]*i*B/[0-9.]* MiB' ||
	die "verify: the drawn line has no 'N/M packs, DONE/TOTAL'"
draws "$RV_WORK/tty-verify.out" verify | grep -q '| local$' ||
	die "verify: no drawn line names the target 'local'"
pass "verify: packs of the total, bytes of the total, each target named"

step "no terminal: plain log lines only"
RV_LAYER_COMPRESS=none mk_image "$layout" two two linux amd64 "" two-a:3145728 two-b:2097152
push "$layout" two "$src_URL" "$REPO:2"
rv_run 0 backup
check_plain "backup, stderr to a file" "$RV_ERR"
rv_run 0 restore latest --to dst2
check_plain "restore, stderr to a file" "$RV_ERR"
rv_run 0 verify --level hash --target local
check_plain "verify, stderr to a file" "$RV_ERR"

step "--quiet and --verbose"
RV_LAYER_COMPRESS=none mk_image "$layout" three three linux amd64 "" three-a:3145728
push "$layout" three "$src_URL" "$REPO:3"
on_tty "$RV_WORK/tty-quiet.out" "exec '$REGVAULT' --config '$RV_CONFIG' --quiet backup >'$RV_WORK/quiet.stdout'" ||
	die "backup --quiet on a terminal failed: $(cat -v "$RV_WORK/tty-quiet.out")"
[[ ! -s $RV_WORK/tty-quiet.out ]] ||
	die "backup --quiet wrote to the terminal: $(cat -v "$RV_WORK/tty-quiet.out")"
grep -q '^snapshot ' "$RV_WORK/quiet.stdout" || die "backup --quiet printed no result on stdout"
pass "backup --quiet on a terminal: nothing on stderr, the result on stdout"
rv_run 0 --quiet backup
[[ ! -s $RV_ERR ]] || die "backup --quiet wrote to stderr: $(cat "$RV_ERR")"
pass "backup --quiet, stderr to a file: nothing"
rv_run 0 --verbose backup
grep -q '^regvault: debug: ' "$RV_ERR" || die "backup --verbose logged no debug line: $(cat "$RV_ERR")"
check_plain "backup --verbose, stderr to a file" "$RV_ERR"

step "--log-format json"
RV_LAYER_COMPRESS=none mk_image "$layout" four four linux amd64 "" four-a:3145728
push "$layout" four "$src_URL" "$REPO:4"
on_tty "$RV_WORK/tty-json.out" "exec '$REGVAULT' --config '$RV_CONFIG' --log-format json backup >'$RV_WORK/json.stdout'" ||
	die "backup --log-format json on a terminal failed: $(cat -v "$RV_WORK/tty-json.out")"
check_json "backup --log-format json on a terminal" "$RV_WORK/tty-json.out"
jq -e 'select(.level == "info")' "$RV_WORK/tty-json.out" >/dev/null ||
	die "backup --log-format json: no info line"
rv_run 0 --log-format json backup
check_json "backup --log-format json, stderr to a file" "$RV_ERR"
nosuch=$(printf '0%.0s' {1..64})
rc=0
rv --log-format json restore "$nosuch" --to dst2 >"$RV_OUT" 2>"$RV_ERR" || rc=$?
((rc != 0)) || die "restore of snapshot $nosuch succeeded"
check_json "failing restore --log-format json (exit $rc)" "$RV_ERR"
jq -e 'select(.level == "error")' "$RV_ERR" >/dev/null ||
	die "failing restore --log-format json: no error line: $(cat "$RV_ERR")"
pass "failing restore --log-format json: the error is a JSON line"

pass "progress line on a terminal, plain or JSON log lines elsewhere"
