#!/usr/bin/env bash
# shellcheck disable=SC2154 # src_URL, ... are set by rv_start_registry
# test_catalog_queries.sh - `regvault catalog ls|diff|stats|find` on two real
# backups of the sample set, between which team-a/api:prod moves (v2's image
# to v1's) and team-b/web:v2 is pushed (a new image on the shared base).
# Every size is checked against what the registry itself serves: a
# repository's logical size is the sum of the distinct manifests, configs and
# layers its tags reach; unique and shared split that by how many
# repositories reach each digest. Then the store folder is renamed away, the
# passphrase file removed and the registry stopped: every query still
# answers, byte for byte the same.
set -euo pipefail
. "${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/e2e/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

backup() {
	sleep 1 # snapshots are ordered by their time, in seconds
	rv_run 0 backup --json
	rv_json_field snapshot
}

# reach URL REPO REF: "digest size" of the manifest at REF and of everything
# it reaches (index children, recursively; config and layers).
reach() {
	local url=$1 repo=$2 ref=$3 body digest size child
	body=$(rv_get_manifest "$url" "$repo" "$ref")
	digest=$(rv_manifest_digest "$url" "$repo" "$ref")
	size=$(curl -fsS -o /dev/null -w '%{size_download}' \
		-H "Accept: $MANIFEST_ACCEPT" "$url/v2/$repo/manifests/$ref")
	echo "$digest $size"
	if jq -e '.manifests' >/dev/null <<<"$body"; then
		for child in $(jq -r '.manifests[].digest' <<<"$body"); do
			reach "$url" "$repo" "$child"
		done
	else
		jq -r '.config, .layers[] | "\(.digest) \(.size)"' <<<"$body"
	fi
}

# reach_all URL: "repo digest size" for every digest each repository
# reaches, each once.
reach_all() {
	local url=$1 repo tag
	while read -r repo; do
		while read -r tag; do
			reach "$url" "$repo" "$tag" | sed "s|^|$repo |"
		done < <(rv_tags "$url" "$repo")
	done < <(rv_repos "$url") | sort -u
}

# sum_sizes: sum of the last column of "... size" lines on stdin.
sum_sizes() {
	awk '{ s += $NF } END { printf "%d\n", s }'
}

step "two backups around a tag move and a new image"
rv_start_registry src
populate "$src_URL"
rv_config "$RV_WORK/regvault.yml" src
rv_run 0 init
old_prod=$(rv_manifest_digest "$src_URL" team-a/api prod)
reach_all "$src_URL" >"$RV_WORK/reach1"
snap1=$(backup)
move_tag "$src_URL"
push_new "$src_URL"
new_prod=$(rv_manifest_digest "$src_URL" team-a/api prod)
[[ $new_prod != "$old_prod" ]] || die "fixture: prod did not move"
web_v2=$(rv_manifest_digest "$src_URL" team-b/web v2)
reach_all "$src_URL" >"$RV_WORK/reach2"
snap2=$(backup)
[[ $snap1 != "$snap2" ]] || die "the two backups gave one snapshot"

step "ls: repositories, tags, digests and sizes"
rv_run 0 catalog ls "$snap1" --json
rv_expect_eq "ls snapshot id" "$(jq -r .snapshot.id "$RV_OUT")" "$snap1"
rv_expect_eq "ls snapshot source" "$(jq -r .snapshot.source "$RV_OUT")" src
rv_expect_eq "ls shape" "$(jq -c '[.repositories[0] | keys, (.tags[0] | keys)]' "$RV_OUT")" \
	'[["logical_size","objects","repository","tags"],["digest","media_type","objects","size","tag"]]'
rv_expect_eq "ls repositories" "$(jq '.repositories | length' "$RV_OUT")" "$MK_SAMPLE_REPOS"
rv_expect_eq "ls tags" "$(jq '[.repositories[].tags[]] | length' "$RV_OUT")" "$MK_SAMPLE_TAGS"
rv_expect_eq "ls repositories sorted" \
	"$(jq -r '[.repositories[].repository] | join(",")' "$RV_OUT")" \
	"$(rv_repos "$src_URL" | LC_ALL=C sort | paste -sd, -)"
rv_expect_eq "ls prod in snapshot 1" \
	"$(jq -r '.repositories[] | select(.repository == "team-a/api") | .tags[] | select(.tag == "prod") | .digest' "$RV_OUT")" \
	"$old_prod"
for repo in $(rv_repos "$src_URL"); do
	want=$(awk -v r="$repo" '$1 == r' "$RV_WORK/reach1" | sum_sizes)
	got=$(jq --arg r "$repo" '.repositories[] | select(.repository == $r) | .logical_size' "$RV_OUT")
	rv_expect_eq "ls logical size of $repo in snapshot 1" "$got" "$want"
done
multi_size=$(reach "$src_URL" multi/arch latest | sort -u | sum_sizes)
rv_expect_eq "ls size of the index tag multi/arch:latest" \
	"$(jq '.repositories[] | select(.repository == "multi/arch") | .tags[] | select(.tag == "latest") | .size' "$RV_OUT")" \
	"$multi_size"
rv_expect_eq "ls media type of the index tag" \
	"$(jq -r '.repositories[] | select(.repository == "multi/arch") | .tags[0].media_type' "$RV_OUT")" \
	"$MK_OCI_INDEX"

rv_run 0 catalog ls "${snap2:0:8}" team-a/api --json
rv_expect_eq "ls by prefix picks snapshot 2" "$(jq -r .snapshot.id "$RV_OUT")" "$snap2"
rv_expect_eq "ls REPO gives one repository" "$(jq -r '[.repositories[].repository] | join(",")' "$RV_OUT")" team-a/api
rv_expect_eq "ls prod in snapshot 2" \
	"$(jq -r '.repositories[0].tags[] | select(.tag == "prod") | .digest' "$RV_OUT")" "$new_prod"
rv_expect_eq "ls tags of team-a/api" "$(jq -r '[.repositories[0].tags[].tag] | join(",")' "$RV_OUT")" prod,v1,v2
rv_run 0 catalog ls latest team-b/web
cat "$RV_OUT"
grep -q "^snapshot ${snap2:0:12}  " "$RV_OUT" || die "ls latest: no snapshot line"
grep -Eq "^  v2 +$web_v2 " "$RV_OUT" || die "ls latest team-b/web: no v2 line"
rv_run 0 catalog ls latest
grep -Eq '^multi/arch +2 ' "$RV_OUT" || die "ls latest: no multi/arch line: $(cat "$RV_OUT")"
pass "ls"

step "diff: the tag moved, the image added, the bytes added"
rv_run 0 catalog diff "$snap1" "$snap2" --json
rv_expect_eq "diff shape" "$(jq -c 'keys' "$RV_OUT")" \
	'["added","bytes_added","bytes_removed","from","moved","objects_added","objects_removed","removed","to","unchanged"]'
rv_expect_eq "diff from/to" "$(jq -r '[.from.id, .to.id] | join(",")' "$RV_OUT")" "$snap1,$snap2"
rv_expect_eq "diff added" "$(jq -c '.added' "$RV_OUT")" \
	"[{\"repository\":\"team-b/web\",\"tag\":\"v2\",\"digest\":\"$web_v2\"}]"
rv_expect_eq "diff removed" "$(jq -c '.removed' "$RV_OUT")" '[]'
rv_expect_eq "diff moved" "$(jq -c '.moved' "$RV_OUT")" \
	"[{\"repository\":\"team-a/api\",\"tag\":\"prod\",\"from\":\"$old_prod\",\"to\":\"$new_prod\"}]"
rv_expect_eq "diff unchanged" "$(jq .unchanged "$RV_OUT")" $((MK_SAMPLE_TAGS - 1))
cut -d' ' -f2- "$RV_WORK/reach1" | sort -u >"$RV_WORK/set1"
cut -d' ' -f2- "$RV_WORK/reach2" | sort -u >"$RV_WORK/set2"
want_added=$(comm -13 "$RV_WORK/set1" "$RV_WORK/set2" | sum_sizes)
want_objects=$(comm -13 "$RV_WORK/set1" "$RV_WORK/set2" | wc -l)
[[ $want_added -gt 0 ]] || die "fixture: nothing new in snapshot 2"
rv_expect_eq "diff bytes_added" "$(jq .bytes_added "$RV_OUT")" "$want_added"
rv_expect_eq "diff objects_added" "$(jq .objects_added "$RV_OUT")" "$want_objects"
rv_expect_eq "diff bytes_removed" "$(jq .bytes_removed "$RV_OUT")" 0
rv_run 0 catalog diff "$snap2" "$snap1" --json
rv_expect_eq "diff backwards: removed" "$(jq -r '.removed[0] | "\(.repository):\(.tag)"' "$RV_OUT")" team-b/web:v2
rv_expect_eq "diff backwards: bytes_removed" "$(jq .bytes_removed "$RV_OUT")" "$want_added"
rv_run 0 catalog diff "$snap1" latest
cat "$RV_OUT"
grep -qx "+ team-b/web:v2  $web_v2" "$RV_OUT" || die "diff text: no added line"
grep -qx "~ team-a/api:prod  $old_prod -> $new_prod" "$RV_OUT" || die "diff text: no moved line"
grep -q "^1 added, 0 removed, 1 moved, $((MK_SAMPLE_TAGS - 1)) unchanged" "$RV_OUT" || die "diff text: no summary"
pass "diff"

step "stats: logical, unique and shared per repository, checked against the registry"
rv_run 0 catalog stats --json
rv_expect_eq "stats defaults to latest" "$(jq -r .snapshot.id "$RV_OUT")" "$snap2"
rv_expect_eq "stats shape" "$(jq -c '[keys, (.repositories[0] | keys), (.total | keys)]' "$RV_OUT")" \
	'[["repositories","snapshot","total"],["logical_size","objects","repository","shared_objects","shared_size","tags","unique_objects","unique_size"],["deduplicated_size","logical_size","objects","repositories"]]'
# per digest, how many repositories reach it
awk '{ n[$2]++ } END { for (d in n) print d, n[d] }' "$RV_WORK/reach2" | sort >"$RV_WORK/holders2"
for repo in $(rv_repos "$src_URL"); do
	awk -v r="$repo" '$1 == r { print $2, $3 }' "$RV_WORK/reach2" | sort >"$RV_WORK/r"
	logical=$(sum_sizes <"$RV_WORK/r")
	unique=$(join "$RV_WORK/r" "$RV_WORK/holders2" | awk '$3 == 1 { s += $2 } END { printf "%d\n", s }')
	shared=$(join "$RV_WORK/r" "$RV_WORK/holders2" | awk '$3 > 1 { s += $2 } END { printf "%d\n", s }')
	got=$(jq -r --arg r "$repo" '.repositories[] | select(.repository == $r) | "\(.logical_size) \(.unique_size) \(.shared_size) \(.objects)"' "$RV_OUT")
	rv_expect_eq "stats $repo (logical unique shared objects)" "$got" \
		"$logical $unique $shared $(wc -l <"$RV_WORK/r")"
done
rv_expect_eq "stats total deduplicated" "$(jq .total.deduplicated_size "$RV_OUT")" "$(sum_sizes <"$RV_WORK/set2")"
rv_expect_eq "stats total logical" "$(jq .total.logical_size "$RV_OUT")" "$(sum_sizes <"$RV_WORK/reach2")"
rv_expect_eq "stats total objects" "$(jq .total.objects "$RV_OUT")" "$(wc -l <"$RV_WORK/set2")"
rv_expect_eq "stats: many/tags shares nothing" \
	"$(jq '.repositories[] | select(.repository == "many/tags") | .shared_size' "$RV_OUT")" 0
rv_run 0 catalog stats --snapshot "${snap1:0:6}" --json
rv_expect_eq "stats --snapshot" "$(jq -r .snapshot.id "$RV_OUT")" "$snap1"
rv_expect_eq "stats snapshot 1: team-b/web tags" \
	"$(jq '.repositories[] | select(.repository == "team-b/web") | .tags' "$RV_OUT")" 2
rv_run 0 catalog stats
grep -Eq '^team-a/api +3 ' "$RV_OUT" || die "stats text: no team-a/api line: $(cat "$RV_OUT")"
grep -q "^total: $MK_SAMPLE_REPOS repositories" "$RV_OUT" || die "stats text: no total"
pass "stats"

step "find: a shared layer, an index child, a moved manifest, a config"
worker_body=$(rv_get_manifest "$src_URL" team-a/worker latest)
base=$(jq -r '.layers[0].digest' <<<"$worker_body")
worker_config=$(jq -r '.config.digest' <<<"$worker_body")
multi_index=$(rv_manifest_digest "$src_URL" multi/arch latest)
mapfile -t kids < <(rv_get_manifest "$src_URL" multi/arch latest | jq -r '.manifests[].digest')
rv_run 0 catalog find "$base" --json
rv_expect_eq "find shape" "$(jq -c '[keys, (.holders[0] | keys)]' "$RV_OUT")" \
	'[["digest","holders","kind","media_type","size"],["parent","repository","root","snapshot","source","tag","time","via"]]'
rv_expect_eq "find kind" "$(jq -r '"\(.kind) \(.media_type)"' "$RV_OUT")" "blob null"
# the tags on the base: a/b/c 2, team-a/api 3, team-a/worker 1,
# team-a/tools/lint 1, team-b/web 2, legacy/docker 1, and multi/arch 2 tags
# through each of 3 children: 16 (holders); snapshot 2 adds team-b/web:v2
rv_expect_eq "find: holders of the base layer in snapshot 1" \
	"$(jq --arg s "$snap1" '[.holders[] | select(.snapshot == $s)] | length' "$RV_OUT")" 16
rv_expect_eq "find: holders in snapshot 2 (web:v2 added)" \
	"$(jq --arg s "$snap2" '[.holders[] | select(.snapshot == $s)] | length' "$RV_OUT")" 17
rv_expect_eq "find: multi/arch holds it as a layer of each child, per tag and snapshot" \
	"$(jq -c '[.holders[] | select(.repository == "multi/arch") | [.via, .root, .parent]] | unique | length' "$RV_OUT")" 3
rv_expect_eq "find: multi/arch parents are the index children" \
	"$(jq -r '[.holders[] | select(.repository == "multi/arch") | .parent] | unique | join(",")' "$RV_OUT")" \
	"$(printf '%s\n' "${kids[@]}" | LC_ALL=C sort | paste -sd, -)"
rv_expect_eq "find: multi/arch root is the index" \
	"$(jq -r '[.holders[] | select(.repository == "multi/arch") | .root] | unique | join(",")' "$RV_OUT")" "$multi_index"
rv_expect_eq "find: the moved tag holds it through old then new manifest" \
	"$(jq -r '[.holders[] | select(.repository == "team-a/api" and .tag == "prod") | .parent] | join(",")' "$RV_OUT")" \
	"$old_prod,$new_prod"

rv_run 0 catalog find "${kids[1]}" --json
rv_expect_eq "find index child: kind" "$(jq -r .kind "$RV_OUT")" manifest
rv_expect_eq "find index child: holders" \
	"$(jq -c '[.holders[] | [.repository, .tag, .via, .parent]] | unique' "$RV_OUT")" \
	"[[\"multi/arch\",\"1.0\",\"index_child\",\"$multi_index\"],[\"multi/arch\",\"latest\",\"index_child\",\"$multi_index\"]]"
rv_expect_eq "find index child: in both snapshots" "$(jq '.holders | length' "$RV_OUT")" 4

rv_run 0 catalog find "$new_prod" --json
rv_expect_eq "find v1's manifest: tagged v1 in 1, v1 and prod in 2" \
	"$(jq -r '[.holders[] | "\(.snapshot[0:8]):\(.tag):\(.via):\(.parent)"] | join(",")' "$RV_OUT")" \
	"${snap1:0:8}:v1:tag:null,${snap2:0:8}:prod:tag:null,${snap2:0:8}:v1:tag:null"

rv_run 0 catalog find "${worker_config#sha256:}" --json
rv_expect_eq "find config (bare hex)" \
	"$(jq -r '[.holders[] | "\(.repository):\(.tag):\(.via):\(.parent)"] | unique | join(",")' "$RV_OUT")" \
	"team-a/worker:latest:config:$(rv_manifest_digest "$src_URL" team-a/worker latest)"
rv_run 0 catalog find "$multi_index"
cat "$RV_OUT"
grep -q "^$multi_index: manifest ($MK_OCI_INDEX), " "$RV_OUT" || die "find text: no header"
grep -Eq "  ${snap2:0:12}  multi/arch:latest  tagged$" "$RV_OUT" || die "find text: no tagged line"
pass "find"

step "with the store renamed away, no passphrase and the registry stopped"
for q in "ls $snap1 --json" "ls $snap2 multi/arch --json" "diff $snap1 $snap2 --json" \
	"stats --json" "stats --snapshot $snap1 --json" "find $base --json" "find ${kids[0]} --json"; do
	# shellcheck disable=SC2086 # split on purpose
	rv_run 0 catalog $q
	cp "$RV_OUT" "$RV_WORK/before.$(tr -c 'a-z0-9' _ <<<"$q")"
done
mv "$RV_WORK/store" "$RV_WORK/store.away"
rm -f "$RV_WORK/passphrase"
rv_stop_registry src
for q in "ls $snap1 --json" "ls $snap2 multi/arch --json" "diff $snap1 $snap2 --json" \
	"stats --json" "stats --snapshot $snap1 --json" "find $base --json" "find ${kids[0]} --json"; do
	# shellcheck disable=SC2086
	rv_run 0 catalog $q
	cmp -s "$RV_OUT" "$RV_WORK/before.$(tr -c 'a-z0-9' _ <<<"$q")" ||
		die "catalog $q answers differently without the store"
done
rv_run 0 catalog ls latest
rv_run 0 catalog diff "$snap1" "$snap2"
rv_run 0 catalog stats
rv_run 0 catalog find "$base"
pass "every query answers from the catalog alone"

step "refusals"
rv_run 2 catalog ls
rv_run 2 catalog ls "$snap1" team-a/api extra
rv_run 2 catalog diff "$snap1"
rv_run 2 catalog stats extra
rv_run 2 catalog stats --snapshot
rv_run 2 catalog find
rv_run 2 catalog find sha256:nothex
grep -q "is not a digest" "$RV_ERR" || die "bad digest: $(cat "$RV_ERR")"
rv_run 2 catalog ls "$snap1" --bogus
rv_run 2 catalog ls abc
rv_run 1 catalog ls 00000000
grep -q "no snapshot '00000000'" "$RV_ERR" || die "unknown snapshot: $(cat "$RV_ERR")"
rv_run 1 catalog ls "$snap1" no/such-repo
grep -q "no tag of repository 'no/such-repo'" "$RV_ERR" || die "unknown repo: $(cat "$RV_ERR")"
rv_run 1 catalog find "sha256:$(printf '%064d' 0)"
grep -q "holds no blob or manifest" "$RV_ERR" || die "unknown digest: $(cat "$RV_ERR")"
rv_run 0 catalog help
grep -q "catalog SUBCOMMAND" "$RV_OUT" || die "catalog help"
rv_run 0 catalog --help
pass "catalog ls, diff, stats and find work"
