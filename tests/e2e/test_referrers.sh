#!/usr/bin/env bash
# test_referrers.sh - signatures and artifacts that refer to an image come
# along: a cosign-style signature (tag sha256-<hex>.sig) and an OCI 1.1
# artifact with a `subject` (pushed by digest) listed in the fallback tag
# index `sha256-<hex>`, as oras writes it on a registry without the
# referrers API (distribution 2.8 has none: the backup says so and uses
# the tags). After a restore into an empty registry the signatures are
# found again by the same names and digests. With `referrers: false` the
# signature and artifact tags stay out of the snapshot.
. "$(dirname "$0")/lib.sh"
. "$SOURCE_DIR/tests/fixtures/mkimages.sh"
rv_need_binary

rv_start_registry src
rv_start_registry dst
L=$RV_WORK/layout
oci_init "$L"

# put_blob URL REPO FILE: upload a blob (monolithic POST + PUT)
put_blob() {
	local url=$1 repo=$2 file=$3 d loc
	d=sha256:$(sha256sum "$file" | cut -c1-64)
	loc=$(curl -fsS -i -X POST "$url/v2/$repo/blobs/uploads/" | tr -d '\r' |
		awk 'tolower($1) == "location:" { print $2 }')
	[[ -n $loc ]] || die "no upload location for $repo"
	[[ $loc == http* ]] || loc=$url$loc
	case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
	curl -fsS -X PUT -H 'Content-Type: application/octet-stream' \
		--data-binary "@$file" "$loc" -o /dev/null || die "blob upload to $repo failed"
}
# put_manifest URL REPO REF MEDIATYPE FILE
put_manifest() {
	curl -fsS -X PUT -H "Content-Type: $4" --data-binary "@$5" \
		"$1/v2/$2/manifests/$3" -o /dev/null || die "PUT manifest $2:$3 failed"
}

step "an image, its cosign-style signature, an SBOM artifact and the fallback tag index"
mk_image "$L" app app linux amd64 "" app:8192
push "$L" app "$src_URL" r/app:1.0
img=$(rv_manifest_digest "$src_URL" r/app 1.0)
img_size=$(rv_get_manifest "$src_URL" r/app 1.0 | wc -c)
hex=${img#sha256:}
# signature: an OCI manifest whose layer is a simple-signing payload
printf '{"critical":{"identity":{"docker-reference":"r/app"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' "$img" >"$RV_WORK/payload.json"
printf '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}' >"$RV_WORK/sigcfg.json"
put_blob "$src_URL" r/app "$RV_WORK/payload.json"
put_blob "$src_URL" r/app "$RV_WORK/sigcfg.json"
jq -cn --arg pd "sha256:$(sha256sum "$RV_WORK/payload.json" | cut -c1-64)" \
	--argjson ps "$(stat -c %s "$RV_WORK/payload.json")" \
	--arg cd "sha256:$(sha256sum "$RV_WORK/sigcfg.json" | cut -c1-64)" \
	--argjson cs "$(stat -c %s "$RV_WORK/sigcfg.json")" '
	{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	 config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
	 layers: [{mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: $pd, size: $ps,
	           annotations: {"dev.cosignproject.cosign/signature": "MEUCIQDfake"}}]}' |
	tr -d '\n' >"$RV_WORK/sig.json"
sigtag=sha256-$hex.sig
put_manifest "$src_URL" r/app "$sigtag" application/vnd.oci.image.manifest.v1+json "$RV_WORK/sig.json"
sig=$(rv_manifest_digest "$src_URL" r/app "$sigtag")
# artifact: OCI 1.1 manifest with artifactType and subject, pushed by digest
printf '{}' >"$RV_WORK/empty.json"
printf '{"spdxVersion":"SPDX-2.3","name":"r/app"}' >"$RV_WORK/sbom.json"
put_blob "$src_URL" r/app "$RV_WORK/empty.json"
put_blob "$src_URL" r/app "$RV_WORK/sbom.json"
jq -cn --arg sd "sha256:$(sha256sum "$RV_WORK/sbom.json" | cut -c1-64)" \
	--argjson ss "$(stat -c %s "$RV_WORK/sbom.json")" --arg img "$img" --argjson is "$img_size" '
	{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	 artifactType: "application/vnd.example.sbom",
	 config: {mediaType: "application/vnd.oci.empty.v1+json",
	          digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", size: 2},
	 layers: [{mediaType: "application/spdx+json", digest: $sd, size: $ss}],
	 subject: {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $img, size: $is}}' |
	tr -d '\n' >"$RV_WORK/art.json"
art=sha256:$(sha256sum "$RV_WORK/art.json" | cut -c1-64)
put_manifest "$src_URL" r/app "$art" application/vnd.oci.image.manifest.v1+json "$RV_WORK/art.json"
# the fallback tag: an index of the subject's referrers
jq -cn --arg a "$art" --argjson asz "$(stat -c %s "$RV_WORK/art.json")" '
	{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	 manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a, size: $asz,
	              artifactType: "application/vnd.example.sbom"}]}' | tr -d '\n' >"$RV_WORK/fallback.json"
put_manifest "$src_URL" r/app "sha256-$hex" application/vnd.oci.image.index.v1+json "$RV_WORK/fallback.json"
fallback=$(rv_manifest_digest "$src_URL" r/app "sha256-$hex")
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.index.v1+json' "$src_URL/v2/r/app/referrers/$img")
note "GET /v2/r/app/referrers/<digest> on distribution 2.8: HTTP $code"

snap_tags() {
	sqlite3 "$RV_WORK/catalog.db" "SELECT t.repo || ':' || t.tag FROM snapshot_tags t
		JOIN snapshots s ON s.id = t.snapshot WHERE s.snap_id = '$1' ORDER BY 1"
}

rv_config "$RV_WORK/rv.yml" src dst
rv_run 0 init

step "backup with referrers (the default)"
rv_run 0 -v backup --json
snap=$(rv_json_field snapshot)
got=$(snap_tags "$snap" | tr '\n' ' ')
rv_expect_eq "snapshot tags" "$got" "r/app:1.0 r/app:sha256-$hex r/app:$sigtag "
if [[ $code == 404 ]]; then
	grep -q "no referrers API" "$RV_ERR" ||
		die "backup did not say the registry lacks the referrers API: $(cat "$RV_ERR")"
	[[ $(grep -c "no referrers API" "$RV_ERR") == 1 ]] ||
		die "the referrers API was asked more than once for r/app"
	pass "the missing referrers API is noticed once for the repository"
fi

step "restore into an empty registry and find the signatures again"
rv_run 0 restore latest --to dst
rv_expect_eq "restored image" "$(rv_manifest_digest "$dst_URL" r/app 1.0)" "$img"
rv_expect_eq "restored .sig tag" "$(rv_manifest_digest "$dst_URL" r/app "$sigtag")" "$sig"
rv_expect_eq "restored fallback tag" "$(rv_manifest_digest "$dst_URL" r/app "sha256-$hex")" "$fallback"
listed=$(rv_get_manifest "$dst_URL" r/app "sha256-$hex" | jq -r '.manifests[].digest')
rv_expect_eq "the fallback index lists the artifact" "$listed" "$art"
abody=$(rv_get_manifest "$dst_URL" r/app "$art")
rv_expect_eq "artifact subject = restored image" "$(jq -r .subject.digest <<<"$abody")" "$(rv_manifest_digest "$dst_URL" r/app 1.0)"
rv_expect_eq "artifact type" "$(jq -r .artifactType <<<"$abody")" application/vnd.example.sbom
sbom=$(jq -r '.layers[0].digest' <<<"$abody")
curl -fsS "$dst_URL/v2/r/app/blobs/$sbom" | grep -q SPDX-2.3 || die "the SBOM blob was not restored"
pass "the SBOM blob is restored"
payload=$(rv_get_manifest "$dst_URL" r/app "$sigtag" | jq -r '.layers[0].digest')
curl -fsS "$dst_URL/v2/r/app/blobs/$payload" | jq -e --arg d "$img" '.critical.image["docker-manifest-digest"] == $d' >/dev/null ||
	die "the signature payload does not name the image"
pass "the signature payload names the restored image's digest"

step "referrers: false"
awk '{ print } /^  - registry: src$/ { print "    referrers: false" }' "$RV_WORK/rv.yml" >"$RV_WORK/rv2.yml"
RV_CONFIG=$RV_WORK/rv2.yml
rv_run 0 backup --json
snap=$(rv_json_field snapshot)
got=$(snap_tags "$snap" | tr '\n' ' ')
rv_expect_eq "snapshot tags without referrers" "$got" "r/app:1.0 "
