#!/usr/bin/env bash
# tests/e2e/check_equal.sh SRC_URL DST_URL [REPO...]
#
# Checks, without regvault (curl, jq and skopeo only), that every tag of SRC is
# in DST with the same manifest digest, that every child manifest of an index is
# in DST by digest, and that every blob a manifest needs (config and layers) is
# in DST. Repositories come from SRC's /v2/_catalog unless given as arguments.
# Prints each mismatch and "N tags checked, M mismatches"; exits 1 on any.

set -euo pipefail
shopt -s inherit_errexit

if [[ $# -lt 2 ]]; then
	echo "usage: $0 SRC_URL DST_URL [REPO...]" >&2
	exit 2
fi
SRC=${1%/}
DST=${2%/}
shift 2

ACCEPT="application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json"

checked=0
mismatches=0
declare -A seen=()

mismatch() {
	echo "MISMATCH: $*"
	mismatches=$((mismatches + 1))
}

# head_digest URL REPO REF: Docker-Content-Digest of a manifest, or "" if absent.
head_digest() {
	curl -sS -I -H "Accept: $ACCEPT" "$1/v2/$2/manifests/$3" 2>/dev/null |
		tr -d '\r' | awk '
			NR == 1 && $2 != "200" { exit }
			tolower($1) == "docker-content-digest:" { print $2 }' || true
}

# http_status METHOD URL: the HTTP status code (000 when unreachable).
http_status() {
	curl -sS -o /dev/null -w '%{http_code}' -I -H "Accept: $ACCEPT" "$1" 2>/dev/null || true
}

# check_manifest REPO DIGEST: DIGEST is in DST's REPO; so are its children
# (for an index) or its config and layers (for an image manifest).
check_manifest() {
	local repo=$1 digest=$2 body got child blob code
	[[ -n ${seen[$repo@$digest]:-} ]] && return 0
	seen[$repo@$digest]=1
	code=$(http_status "$DST/v2/$repo/manifests/$digest")
	if [[ $code != 200 ]]; then
		mismatch "$repo@$digest: manifest missing in destination (HTTP $code)"
		return 0
	fi
	body=$(curl -fsS -H "Accept: $ACCEPT" "$SRC/v2/$repo/manifests/$digest")
	got=sha256:$(curl -fsS -H "Accept: $ACCEPT" "$DST/v2/$repo/manifests/$digest" |
		sha256sum | cut -c1-64)
	[[ $got == "$digest" ]] || mismatch "$repo@$digest: destination body hashes to $got"
	if jq -e '.manifests' >/dev/null <<<"$body"; then
		for child in $(jq -r '.manifests[].digest' <<<"$body"); do
			check_manifest "$repo" "$child"
		done
	else
		for blob in $(jq -r '.config.digest, .layers[]?.digest' <<<"$body"); do
			[[ -n ${seen[$repo@$blob]:-} ]] && continue
			seen[$repo@$blob]=1
			code=$(http_status "$DST/v2/$repo/blobs/$blob")
			[[ $code == 200 ]] || mismatch "$repo: blob $blob missing in destination (HTTP $code)"
		done
	fi
}

if [[ $# -gt 0 ]]; then
	repos=("$@")
else
	mapfile -t repos < <(curl -fsS "$SRC/v2/_catalog?n=1000" | jq -r '.repositories[]?')
fi
[[ ${#repos[@]} -gt 0 ]] || {
	echo "check_equal: no repositories in $SRC" >&2
	exit 1
}

for repo in "${repos[@]}"; do
	mapfile -t tags < <(skopeo list-tags --tls-verify=false "docker://${SRC#*://}/$repo" |
		jq -r '.Tags[]?')
	for tag in "${tags[@]}"; do
		checked=$((checked + 1))
		s=$(head_digest "$SRC" "$repo" "$tag")
		d=$(head_digest "$DST" "$repo" "$tag")
		if [[ -z $s ]]; then
			mismatch "$repo:$tag: no digest from source"
			continue
		fi
		if [[ -z $d ]]; then
			mismatch "$repo:$tag: missing in destination (source $s)"
			continue
		fi
		if [[ $s != "$d" ]]; then
			mismatch "$repo:$tag: source $s, destination $d"
			continue
		fi
		check_manifest "$repo" "$s"
	done
done

echo "$checked tags checked, $mismatches mismatches"
[[ $mismatches -eq 0 ]]
