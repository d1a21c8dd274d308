#!/usr/bin/env bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# test_config_check.sh - `regvault config check` (issue 9), with a real
# registry:
# - a ready config: exit 0, and the JSON says what was checked;
# - a config with seven problems (a passphrase file others can read, a
#   password file that does not exist, an unset variable, a glob that can
#   never match, a registry that does not answer, a target under a file,
#   a catalog that is a folder): every one is printed with the line of its
#   key, exit 2 (problems in the file come first), and nothing was written;
# - only outside problems (a registry that does not answer): exit 1;
# - unknown keys: each is named with its line, exit 2;
# - a file that is not YAML: exit 2 with the line.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
rv_need_binary

# line_of PATTERN FILE: the line number of the first line matching PATTERN
line_of() {
	grep -n -m1 -e "$1" "$2" | cut -d: -f1
}

# one_registry FILE NAME URL [REGISTRY-LINE] [SOURCE-LINE]: a config with
# one registry, its source and a dir target; the extra lines go into the
# registry's and the source's mappings
one_registry() {
	{
		printf 'catalog: %s\nkey:\n  passphrase_file: %s\n' "$RV_WORK/catalog.db" "$RV_WORK/passphrase"
		printf 'registries:\n  - name: %s\n    url: %s\n' "$2" "$3"
		[[ -z ${4:-} ]] || printf '%s\n' "$4"
		printf 'sources:\n  - registry: %s\n' "$2"
		[[ -z ${5:-} ]] || printf '%s\n' "$5"
		printf 'targets:\n  - name: local\n    type: dir\n    path: %s\n' "$RV_WORK/store"
	} >"$1"
}

step "a ready config"
rv_start_registry src
rv_config "$RV_WORK/regvault.yml" src
chmod 600 "$RV_WORK/passphrase"
rv_run 0 config check --json
rv_expect_eq "ok" "$(rv_json_field ok)" true
rv_expect_eq "registries answered" "$(jq -r '.checked.registries | join(" ")' "$RV_OUT")" src
rv_expect_eq "targets writable" "$(jq -r '.checked.targets | join(" ")' "$RV_OUT")" local
rv_expect_eq "catalog folder writable" "$(jq -r '.checked.catalog[0]' "$RV_OUT")" "$RV_WORK/catalog.db"
[[ ! -e $RV_WORK/store && ! -e $RV_WORK/catalog.db ]] || die "config check created the store or the catalog"
rv_run 0 config check
grep -q "is ready: 1 registry answered, 1 target and the catalog's folder can be written" "$RV_OUT" ||
	die "text: $(cat "$RV_OUT")"
pass "a ready config: exit 0, nothing created"

step "seven problems, each with its line"
bad=$RV_WORK/bad.yml
mkdir -p "$RV_WORK/catdir.db" "$RV_WORK/plain"
: >"$RV_WORK/plain/file"
printf 'pw\n' >"$RV_WORK/open-pass"
chmod 644 "$RV_WORK/open-pass"
dead=$(rv_free_port)
cat >"$bad" <<EOF
catalog: $RV_WORK/catdir.db
key:
  passphrase_file: $RV_WORK/open-pass
registries:
  - name: src
    url: $src_URL
    username: alice
    password_file: $RV_WORK/no-such-password
  - name: down
    url: http://127.0.0.1:$dead
  - name: envy
    url: $src_URL
    username: bob
    password_env: RV_TEST_UNSET_PASSWORD
sources:
  - registry: src
    repositories:
      - "team-a/**"
      - "Team-B/*"
targets:
  - name: local
    type: dir
    path: $RV_WORK/plain/file/store
EOF
unset RV_TEST_UNSET_PASSWORD
rc=0
"$REGVAULT" --config "$bad" config check >"$RV_OUT" 2>"$RV_ERR" || rc=$?
rv_expect_eq "exit code" "$rc" 2
expect_line() { # WHAT PATTERN-IN-CONFIG MESSAGE-REGEX
	local n
	n=$(line_of "$2" "$bad")
	grep -Eq "^config '$bad' line $n: $3" "$RV_OUT" || die "$1: no line $n: $3 in: $(cat "$RV_OUT")"
	pass "$1: line $n"
}
expect_line "passphrase file others can read" "passphrase_file:" "passphrase_file .* can be read by others \(mode 0644\); chmod 600"
expect_line "missing password file" "no-such-password" "password_file .*no-such-password' cannot be read"
expect_line "unset variable" "password_env:" "password_env names \\\$RV_TEST_UNSET_PASSWORD, which is not set"
expect_line "a glob that never matches" "Team-B" "source 'src': repositories glob 'Team-B/\*' can never match: repository names are lowercase"
expect_line "a registry that does not answer" "127.0.0.1:$dead" "registry 'down' \(http://127.0.0.1:$dead\): .*(connect|Connect)"
expect_line "a target under a file" "plain/file/store" "target 'local': .*'$RV_WORK/plain/file' is not a folder"
expect_line "a catalog that is a folder" "^catalog:" "catalog '$RV_WORK/catdir.db' is a folder"
rv_expect_eq "problems printed" "$(grep -c "^config '$bad' line" "$RV_OUT")" 7
grep -q "^7 problem(s)$" "$RV_OUT" || die "no count: $(cat "$RV_OUT")"
"$REGVAULT" --config "$bad" config check --json >"$RV_OUT" 2>"$RV_ERR" || true
jq -e '.ok == false and (.problems | length == 7)
	and ([.problems[] | select(.kind == "world")] | length == 2)
	and (.problems | all(.line > 0 and (.message | length > 0) and (.key | length > 0)))' "$RV_OUT" >/dev/null ||
	die "JSON: $(jq -c . "$RV_OUT")"
pass "seven problems, each with its line; exit 2; the JSON has them with kind file or world"
[[ ! -e $RV_WORK/plain/file/store ]] || die "config check wrote something"
grep -q "no-such-password\|alice" "$RV_ERR" && die "stderr: $(cat "$RV_ERR")"
true

step "only the outside world: exit 1"
one_registry "$RV_WORK/world.yml" down "http://127.0.0.1:$dead"
rc=0
"$REGVAULT" --config "$RV_WORK/world.yml" config check >"$RV_OUT" 2>"$RV_ERR" || rc=$?
rv_expect_eq "exit code when only a registry is down" "$rc" 1

step "unknown keys and a file that is not YAML"
one_registry "$RV_WORK/typo.yml" src "$src_URL" "    max_conections: 4" '    tag_include: ["^v"]'
rc=0
"$REGVAULT" --config "$RV_WORK/typo.yml" config check >"$RV_OUT" 2>"$RV_ERR" || rc=$?
rv_expect_eq "exit code with unknown keys" "$rc" 2
for key in max_conections tag_include; do
	n=$(line_of "$key" "$RV_WORK/typo.yml")
	grep -q "line $n: .*$key" "$RV_OUT" "$RV_ERR" || die "unknown key $key (line $n) not named: $(cat "$RV_OUT" "$RV_ERR")"
done
pass "each unknown key is named with its line"
printf 'catalog: [unclosed\n' >"$RV_WORK/broken.yml"
rc=0
"$REGVAULT" --config "$RV_WORK/broken.yml" config check >"$RV_OUT" 2>"$RV_ERR" || rc=$?
rv_expect_eq "exit code for a file that is not YAML" "$rc" 2
grep -q "line [0-9]" "$RV_ERR" || die "no line for the YAML error: $(cat "$RV_ERR")"
pass "a file that is not YAML: exit 2 with its line"
