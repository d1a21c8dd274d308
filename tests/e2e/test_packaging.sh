#!/usr/bin/env bash
# test_packaging.sh - `cmake --install` is complete, and the documentation
# agrees with the binary:
#  (a) an install into a temporary prefix holds the binary, regvault(1)
#      (which renders without a warning and is exactly `regvault --man`),
#      the bash completion, the systemd units and the example config;
#  (b) every command of `regvault --help` is a .SS of the man page, a row
#      of README.md's command table and a command of the completion, with
#      its subcommands and options; every --option of --help is in the man
#      page and in the completion;
#  (c) `systemd-analyze verify` accepts the installed units (skipped, with
#      a note, when systemd-analyze is not installed);
#  (d) the example config loads (`schedule list`, which reads only the
#      config and the catalog), and names every key config.c accepts.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
rv_need_binary

# The build folder: the nearest folder above the binary with a CMakeCache.
build=$(cd "$(dirname "$(command -v "$REGVAULT")")" && pwd)
while [[ ! -f $build/CMakeCache.txt && $build != / ]]; do
	build=$(dirname "$build")
done
[[ -f $build/CMakeCache.txt ]] ||
	die "no CMakeCache.txt above '$REGVAULT': cannot find the build folder"
[[ -f $build/regvault.1 && ! $REGVAULT -nt $build/regvault.1 ]] ||
	die "'$build/regvault.1' is missing or older than the binary: build every target (cmake --build '$build')"

# ---- (a) the install ----
step "cmake --install into a temporary prefix"
inst=$RV_WORK/prefix
cmake --install "$build" --prefix "$inst" >"$RV_WORK/install.log" 2>&1 || {
	cat "$RV_WORK/install.log" >&2
	die "cmake --install failed"
}
man_page=$inst/share/man/man1/regvault.1
completion=$inst/share/bash-completion/completions/regvault
units=(regvault.service regvault-run-due.service regvault-run-due.timer)
example=$inst/share/doc/regvault/regvault.example.yml
for f in "$inst/bin/regvault" "$man_page" "$completion" \
	"${units[@]/#/$inst/lib/systemd/system/}" "$example" \
	"$inst/share/doc/regvault/README.md" "$inst/share/doc/regvault/CI.md"; do
	[[ -s $f ]] || die "the install has no '${f#"$inst"/}'"
done
[[ -x $inst/bin/regvault ]] || die "the installed binary is not executable"
cmp -s "$completion" "$SOURCE_DIR/contrib/regvault.bash-completion" ||
	die "the installed completion differs from contrib/regvault.bash-completion"
cmp -s "$example" "$SOURCE_DIR/contrib/regvault.example.yml" ||
	die "the installed example config differs from contrib/regvault.example.yml"
pass "binary, man page, completion, ${#units[@]} units, example config and docs installed"

step "the man page is what the binary prints, and renders without warnings"
"$REGVAULT" --man >"$RV_WORK/man.1"
cmp -s "$RV_WORK/man.1" "$man_page" ||
	die "the installed regvault.1 differs from 'regvault --man'"
{ command -v groff >/dev/null && command -v man >/dev/null; } ||
	die "groff and man are needed (apt-get install groff-base man-db; scripts/deps.sh lists them)"
groff -man -Tutf8 -ww -z "$man_page" 2>"$RV_WORK/groff.err" ||
	die "groff failed on regvault.1: $(cat "$RV_WORK/groff.err")"
[[ ! -s $RV_WORK/groff.err ]] ||
	die "groff -ww warns about regvault.1: $(cat "$RV_WORK/groff.err")"
MANWIDTH=80 man --warnings -l "$man_page" >"$RV_WORK/man.txt" 2>"$RV_WORK/man.err" ||
	die "man -l failed: $(cat "$RV_WORK/man.err")"
[[ ! -s $RV_WORK/man.err ]] ||
	die "man --warnings warns about regvault.1: $(cat "$RV_WORK/man.err")"
for sect in NAME SYNOPSIS DESCRIPTION COMMANDS "GLOBAL OPTIONS" ENVIRONMENT \
	FILES "EXIT STATUS" "SEE ALSO"; do
	grep -Eq "^\.SH \"?$sect\"?\$" "$man_page" || die "regvault.1 has no section $sect"
done
for v in REGVAULT_CONFIG REGVAULT_PASSWORD REGVAULT_NEW_PASSWORD \
	/etc/regvault/regvault.yml; do
	grep -q -- "^ *$v\$" "$RV_WORK/man.txt" || die "regvault.1 does not describe $v"
done
# the exit codes 0-5, each a tagged paragraph of EXIT STATUS
codes=$(sed -n '/^\.SH "EXIT STATUS"/,/^\.SH/p' "$man_page" | grep -A1 '^\.TP' |
	sed -n 's/^\\fB\([0-9]\)\\fR$/\1/p' | tr -d '\n')
[[ $codes == 012345 ]] || die "EXIT STATUS lists codes '$codes', not 0-5"
lines=$(wc -l <"$RV_WORK/man.txt")
pass "regvault.1: $lines lines at 80 columns, no groff or man warning, exit codes 0-5"

step "the completion file"
bash -n "$completion" || die "the completion file is not valid bash"
# complete WORDS...: what the completion offers for the last word
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_regvault; printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@"
}
[[ $(complete_words regvault cat) == catalog ]] || die "'regvault cat<TAB>' does not give catalog"
[[ $(complete_words regvault --conf) == --config ]] || die "'regvault --conf<TAB>' does not give --config"
[[ $(complete_words regvault schedule run) == run-due ]] || die "'regvault schedule run<TAB>' does not give run-due"
[[ $(complete_words regvault -q verify --level d) == deep ]] || die "'verify --level d<TAB>' does not give deep"
[[ $(complete_words regvault forget --keep-mo) == --keep-monthly ]] || die "'forget --keep-mo<TAB>' does not give --keep-monthly"
pass "the completion completes commands, subcommands, options and values"

# ---- (b) --help, the man page, README.md and the completion agree ----
step "every command and option of --help is in the man page, README.md and the completion"
"$REGVAULT" --help >"$RV_WORK/help.txt"
# the usage lines: between "commands:" and the next empty line, indented 2
awk '/^commands:$/ { f = 1; next } /^$/ { f = 0 } f && /^  [a-z]/' \
	"$RV_WORK/help.txt" | sed 's/^  //; s/ *$//' >"$RV_WORK/usages"
n_cmds=$(wc -l <"$RV_WORK/usages")
((n_cmds >= 15)) || die "--help lists only $n_cmds commands: cannot parse it"
# completion_var NAME: a variable of the completion file, sourced alone
completion_var() {
	bash -c '. "$1"; printf "%s" "${!2-}"' _ "$completion" "$1"
}
completion_cmds=$(completion_var _regvault_cmds)
n_opts=0
while IFS= read -r usage; do
	cmd=${usage%% *}
	grep -Eq "^\.SS \"?$cmd\"?\$" "$man_page" || die "regvault.1 has no .SS for '$cmd'"
	grep -q "^| \`${cmd}[ \`]" "$SOURCE_DIR/README.md" ||
		die "README.md's command table has no row for '$cmd'"
	[[ " $completion_cmds " == *" $cmd "* ]] ||
		die "the completion's _regvault_cmds lacks '$cmd' (contrib/regvault.bash-completion)"
	subs=$(completion_var "_regvault_subs_${cmd//-/_}")
	opts=$(completion_var "_regvault_opts_${cmd//-/_}")
	# the forms: "key add ... | key list ... | key remove ID"
	sed "s/ | $cmd\( \|\$\)/\n$cmd\1/g" <<<"$usage" >"$RV_WORK/forms"
	while IFS= read -r form; do
		read -r _ second _ <<<"$form" || true
		if [[ ${second:-} =~ ^[a-z][a-z0-9-]*$ ]]; then
			[[ " $subs " == *" $second "* ]] ||
				die "the completion's _regvault_subs_${cmd//-/_} lacks '$second' ('$form')"
		fi
	done <"$RV_WORK/forms"
	for o in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$usage" | sort -u); do
		[[ " $opts " == *" $o "* ]] ||
			die "the completion's _regvault_opts_${cmd//-/_} lacks '$o' (regvault $cmd)"
		n_opts=$((n_opts + 1))
	done
done <"$RV_WORK/usages"
# every --option anywhere in --help (usages, summaries, global options)
n_all=0
for o in $(grep -oE -- '(^|[^a-z0-9-])--[a-z][a-z0-9-]*' "$RV_WORK/help.txt" |
	sed 's/^[^-]*//' | sort -u); do
	roff=$(sed 's/-/\\\\-/g' <<<"$o")
	grep -Eq -- "$roff([^a-z0-9\\\\]|\$)" "$man_page" || die "regvault.1 does not mention $o"
	grep -Eq -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" "$completion" ||
		die "the completion does not offer $o"
	n_all=$((n_all + 1))
done
# the global options section: -x and --xx each offered before a command
global=$(completion_var _regvault_global_opts)
for o in $(sed -n '/^global options:$/,/^$/p' "$RV_WORK/help.txt" |
	grep -oE -- '(^|[ ,])--?[a-z][a-z0-9-]*' | tr -d ' ,'); do
	[[ " $global " == *" $o "* ]] || die "the completion's _regvault_global_opts lacks '$o'"
done
pass "$n_cmds commands, $n_opts command options, $n_all distinct --options: in regvault.1, README.md and the completion"

# ---- (c) the systemd units ----
step "systemd-analyze verify on the installed units"
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart exists: point it at the installed binary
	mkdir "$RV_WORK/units"
	for u in "${units[@]}"; do
		sed -E "s#^(Exec[A-Za-z]*=)[^ ]*/regvault( |\$)#\1$inst/bin/regvault\2#" \
			"$inst/lib/systemd/system/$u" >"$RV_WORK/units/$u"
	done
	prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
	bindir=$(sed -n 's/^CMAKE_INSTALL_BINDIR:PATH=//p' "$build/CMakeCache.txt")
	[[ $bindir == /* ]] || bindir=$prefix/$bindir
	grep -q "^ExecStart=$bindir/regvault " "$inst/lib/systemd/system/regvault.service" ||
		die "the installed regvault.service does not run $bindir/regvault"
	if ! systemd-analyze verify "${units[@]/#/$RV_WORK/units/}" >"$RV_WORK/sa.out" 2>&1; then
		cat "$RV_WORK/sa.out" >&2
		die "systemd-analyze verify rejects the units"
	fi
	pass "systemd-analyze verify: ${units[*]} accepted; ExecStart is $bindir/regvault"
else
	note "systemd-analyze is not installed: the units' check is skipped"
fi

# ---- (d) the example config ----
step "the example config loads"
# Its paths are absolute (/etc/regvault, /var/lib/regvault, ...) and used
# as written: a copy points them into the work folder. Only the catalog's
# folder is touched (schedule list makes it and its lock file).
ex=$RV_WORK/ex
mkdir -p "$ex"
sed -e "s#/var/lib/regvault/#$ex/var/#g" -e "s#/etc/regvault/#$ex/etc/#g" \
	-e "s#/srv/regvault#$ex/srv#g" -e "s#/var/lib/node_exporter/#$ex/ne/#g" \
	"$SOURCE_DIR/contrib/regvault.example.yml" >"$ex/regvault.yml"
if grep -nE '(/etc|/var|/srv)/' "$ex/regvault.yml" | grep -v '^[0-9]*: *#' |
	grep -vE "$ex" >"$RV_WORK/abs"; then
	die "the example still names a system path after the rewrite: $(cat "$RV_WORK/abs")"
fi
"$REGVAULT" --config "$ex/regvault.yml" schedule list >"$RV_OUT" 2>"$RV_ERR" ||
	die "regvault --config <example> schedule list failed: $(cat "$RV_ERR")"
for s in nightly sunday-verify monthly-drill saturday-prune; do
	grep -q "^$s " "$RV_OUT" || die "schedule list does not show '$s': $(cat "$RV_OUT")"
done
[[ -f $ex/var/catalog.db.schedule.lock ]] || die "the catalog path was not rewritten"
# the commented alternatives: the pinned fingerprint, write_policy all
sed -e 's/^  # fingerprint:/  fingerprint:/' -e 's/^# write_policy: all/write_policy: all/' \
	-e '/^write_policy: {/d' "$ex/regvault.yml" >"$ex/alt.yml"
{ grep -q '^  fingerprint:' "$ex/alt.yml" && grep -q '^write_policy: all' "$ex/alt.yml"; } ||
	die "the example has no commented 'fingerprint:' or 'write_policy: all' line"
"$REGVAULT" --config "$ex/alt.yml" schedule list >"$RV_OUT" 2>"$RV_ERR" ||
	die "the example with its commented alternatives does not load: $(cat "$RV_ERR")"
pass "the example loads as written and with its commented alternatives"

step "the example names every key config.c accepts"
# Keys are declared in config.c's field tables (FIELD(type, kind, member)
# and {"key", F_KIND, ...}; F_SECRET keys are refused, so left out), the
# retention counts ({"keep_x", offsetof(...)}) and compared by name
# (strcmp(ks, "key"), strcmp(scalar(k), "key")).
cfg_c=$SOURCE_DIR/cli/config.c
{
	grep -oE 'FIELD\(struct [a-z_]+, F_[A-Z]+, [a-z_]+\)' "$cfg_c" |
		sed -E 's/.*, ([a-z_]+)\)$/\1/'
	grep -oE '\{"[a-z_]+", F_(STR|BOOL|LIST|INT|RETENTION)' "$cfg_c" |
		sed -E 's/^\{"([a-z_]+)".*/\1/'
	grep -oE '\{"[a-z_]+", offsetof\(' "$cfg_c" | sed -E 's/^\{"([a-z_]+)".*/\1/'
	grep -oE 'strcmp\((ks|scalar\(k\)), "[a-z_]+"\)' "$cfg_c" |
		sed -E 's/.*"([a-z_]+)"\)$/\1/'
} | sort -u >"$RV_WORK/keys"
n_keys=$(wc -l <"$RV_WORK/keys")
for k in catalog key passphrase_file registries max_connections targets \
	secret_access_key_file schedules keep_within repack_threshold locks \
	stale_seconds write_policy quorum; do
	grep -qx "$k" "$RV_WORK/keys" || die "key extraction from config.c missed '$k' (found $n_keys keys)"
done
missing=()
while read -r k; do
	grep -Eq "(^|[[:space:]{,#-])$k:([[:space:]]|\$)" \
		"$SOURCE_DIR/contrib/regvault.example.yml" || missing+=("$k")
done <"$RV_WORK/keys"
((${#missing[@]} == 0)) ||
	die "contrib/regvault.example.yml lacks these keys config.c accepts: ${missing[*]}"
# and writes no secret inline
if grep -nE '^[[:space:]-]*(password|passphrase|access_key_id|secret_access_key):' \
	"$SOURCE_DIR/contrib/regvault.example.yml"; then
	die "the example writes a secret inline"
fi
pass "all $n_keys keys of config.c are in the example, no secret inline"
