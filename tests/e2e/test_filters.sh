#!/usr/bin/env bash
# test_filters.sh - a source's tag filters: tags_include / tags_exclude
# (POSIX extended regexes), keep_newest (by the image config's created
# time; timeless tags last, ties by name), platforms (an index is
# rewritten with the kept children only, under its own digest, and a
# restore of that snapshot gives an index listing only those platforms);
# a cosign-style signature tag stays with its kept subject and goes with
# a dropped one.
. "$(dirname "$0")/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

rv_start_registry src
rv_start_registry dst
L=$RV_WORK/layout
oci_init "$L"

step "images: f/app (names), f/dated (created times), f/multi (3 platforms)"
mk_image "$L" app app linux amd64 "" app:4096
for t in v1.0 v1.1 v2.0-rc1 latest dev; do push "$L" app "$src_URL" "f/app:$t"; done
for spec in t2021:2021-06-01T00:00:00Z t2023:2023-06-01T00:00:00.5Z \
	t2022:2022-06-01T00:00:00+02:00 t2023b:2023-06-01T00:00:00.5Z tnone:none; do
	tag=${spec%%:*}
	CREATED=${spec#*:} mk_image "$L" "$tag" "$tag" linux amd64 "" "$tag:4096"
	push "$L" "$tag" "$src_URL" "f/dated:$tag"
done
# a cosign-style signature of t2021 and of t2023 (an OCI manifest whose
# layer is a simple-signing payload), under sha256-<hex>.sig
sign() { # REPO TAG
	local subj payload cfg
	subj=$(rv_manifest_digest "$src_URL" "$1" "$2")
	payload=$(mktemp "$L/.sig.XXXXXX")
	printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' "$1" "$subj" >"$payload"
	_mk_store "$L" "$payload" application/vnd.dev.cosign.simplesigning.v1+json
	local layer=$MK_DESC
	_mk_store_json "$L" application/vnd.oci.image.config.v1+json '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}'
	cfg=$MK_DESC
	mk_manifest "$L" "$cfg" "$layer"
	oci_ref "$L" "sig-$2" "$MK_DESC"
	push "$L" "sig-$2" "$src_URL" "$1:sha256-${subj#sha256:}.sig"
	echo "sha256-${subj#sha256:}.sig"
}
sig2021=$(sign f/dated t2021)
sig2023=$(sign f/dated t2023)
kids=()
mk_image "$L" - m-amd64 linux amd64 "" m-amd64:4096
kids+=("$MK_DESC")
mk_image "$L" - m-arm64 linux arm64 v8 m-arm64:4096
kids+=("$MK_DESC")
mk_image "$L" - m-armv7 linux arm v7 m-armv7:4096
kids+=("$MK_DESC")
mk_index "$L" "${kids[@]}"
oci_ref "$L" multi "$MK_DESC"
push "$L" multi "$src_URL" f/multi:latest --all
src_multi=$(rv_manifest_digest "$src_URL" f/multi latest)

# source_opts LINES...: the config with extra source keys
config_with() {
	rv_config "$RV_WORK/rv.yml" src dst
	local tmp=$RV_WORK/rv.yml.tmp line
	{
		while IFS= read -r line; do
			printf '%s\n' "$line"
			if [[ $line == "  - registry: src" ]]; then
				printf '%s\n' "$@"
			fi
		done <"$RV_WORK/rv.yml"
	} >"$tmp"
	mv "$tmp" "$RV_WORK/rv.yml"
}

# snap_tags SNAP: "repo:tag" of every tag in the snapshot, sorted
snap_tags() {
	sqlite3 "$RV_WORK/catalog.db" "SELECT t.repo || ':' || t.tag FROM snapshot_tags t
		JOIN snapshots s ON s.id = t.snapshot WHERE s.snap_id = '$1' ORDER BY 1"
}
snap_digest() { # SNAP REPO TAG
	sqlite3 "$RV_WORK/catalog.db" "SELECT m.digest FROM snapshot_tags t
		JOIN snapshots s ON s.id = t.snapshot JOIN manifests m ON m.id = t.manifest
		WHERE s.snap_id = '$1' AND t.repo = '$2' AND t.tag = '$3'"
}

config_with
rv_run 0 init

step "tags_include / tags_exclude"
config_with '    repositories: ["f/app"]' \
	'    tags_include: ["^v[0-9]+\\.", "^latest$"]' '    tags_exclude: ["-rc[0-9]*$"]'
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
got=$(snap_tags "$snap" | tr '\n' ' ')
rv_expect_eq "regex-filtered tags" "$got" "f/app:latest f/app:v1.0 f/app:v1.1 "

step "bad regex is a config error"
config_with '    repositories: ["f/app"]' '    tags_include: ["v(1"]'
rv_run 2 backup
grep -q "v(1" "$RV_ERR" || die "bad regex: message does not name it: $(cat "$RV_ERR")"
pass "a regex that does not compile is refused with its text in the message"

step "keep_newest 2: the two newest (a tie: both), signature of t2023 kept, of t2021 dropped"
config_with '    repositories: ["f/dated"]' '    keep_newest: 2'
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
got=$(snap_tags "$snap" | tr '\n' ' ')
rv_expect_eq "keep_newest 2" "$got" "f/dated:$sig2023 f/dated:t2023 f/dated:t2023b "

step "keep_newest 4: timeless tnone sorts last and goes"
config_with '    repositories: ["f/dated"]' '    keep_newest: 4'
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
got=$(snap_tags "$snap" | tr '\n' ' ')
rv_expect_eq "keep_newest 4" "$got" "f/dated:$sig2021 f/dated:$sig2023 f/dated:t2021 f/dated:t2022 f/dated:t2023 f/dated:t2023b "

step "tags_include that does not name a signature keeps it with its subject"
config_with '    repositories: ["f/dated"]' '    tags_include: ["^t2021$"]'
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
got=$(snap_tags "$snap" | tr '\n' ' ')
rv_expect_eq "include + signature" "$got" "f/dated:$sig2021 f/dated:t2021 "

step "referrers: false drops the signature tags"
config_with '    repositories: ["f/dated"]' '    referrers: false'
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
got=$(snap_tags "$snap" | tr '\n' ' ')
rv_expect_eq "no referrers" "$got" "f/dated:t2021 f/dated:t2022 f/dated:t2023 f/dated:t2023b f/dated:tnone "

step "platforms: linux/amd64 and linux/arm (every arm variant)"
config_with '    repositories: ["f/multi"]' '    platforms: ["linux/amd64", "linux/arm"]'
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
filtered=$(snap_digest "$snap" f/multi latest)
[[ $filtered == sha256:* && $filtered != "$src_multi" ]] ||
	die "platform-filtered index: snapshot digest '$filtered' should differ from the source's $src_multi"
pass "the snapshot's f/multi:latest is the rewritten index $filtered"
n_children=$(sqlite3 "$RV_WORK/catalog.db" "SELECT count(*) FROM manifest_refs r JOIN manifests m ON m.id = r.manifest WHERE m.digest = '$filtered'" 2>/dev/null || echo "?")
note "catalog children of the rewritten index: $n_children"

step "restore the platform-filtered snapshot"
rv_run 0 restore "$snap" --to dst
got=$(rv_manifest_digest "$dst_URL" f/multi latest)
rv_expect_eq "restored f/multi:latest digest" "$got" "$filtered"
body=$(rv_get_manifest "$dst_URL" f/multi latest)
plats=$(jq -r '[.manifests[].platform | .os + "/" + .architecture + (if .variant then "/" + .variant else "" end)] | join(" ")' <<<"$body")
rv_expect_eq "restored index platforms" "$plats" "linux/amd64 linux/arm/v7"
rv_expect_eq "restored index media type" "$(jq -r .mediaType <<<"$body")" application/vnd.oci.image.index.v1+json
for d in $(jq -r '.manifests[].digest' <<<"$body"); do
	curl -fsS -o /dev/null -H "Accept: $MANIFEST_ACCEPT" "$dst_URL/v2/f/multi/manifests/$d" ||
		die "restored child $d is missing"
done
pass "every child of the restored index is there"

step "a second run with the same platforms finds the rewritten index known"
rv_run 0 backup --json
rv_expect_eq "second run: blobs fetched" "$(rv_json_field blobs_fetched)" 0
