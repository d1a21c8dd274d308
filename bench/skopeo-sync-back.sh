#!/usr/bin/env bash
# bench/skopeo-sync-back.sh DIR HOST - the peer's way back: push every image
# folder of a `skopeo sync --scoped --dest dir` tree (DIR is its
# <registry-host> folder, holding REPO:TAG image folders) into the registry at
# HOST under the same REPO:TAG.
#
# `skopeo sync --src dir` names each image after the last path component of
# its folder only (bench/app01:v1 would come back as app01:v1), so this runs
# one `skopeo sync --src dir` per repository namespace (the folder holding
# the REPO:TAG folders), with HOST/NAMESPACE as destination. Run under
# /usr/bin/time by run.sh, it is measured as one step, all processes included.
set -euo pipefail
[[ $# == 2 ]] || { echo "usage: $0 DIR HOST" >&2; exit 2; }
dir=${1%/} host=$2
mapfile -t spaces < <(cd "$dir" && find . -name manifest.json -printf '%h\n' |
	sed 's|^\./||' | while read -r d; do dirname "$d"; done | LC_ALL=C sort -u)
[[ ${#spaces[@]} -gt 0 ]] || { echo "$0: no image folder under $dir" >&2; exit 1; }
for ns in "${spaces[@]}"; do
	if [[ $ns == . ]]; then
		src=$dir dest=$host
	else
		src=$dir/$ns dest=$host/$ns
	fi
	# Images of deeper namespaces are pushed by their own pass, not this one.
	if find "$src" -mindepth 2 -name manifest.json -path "$src/*/*/*" | grep -q .; then
		echo "$0: nested namespaces under '$ns' are not supported" >&2
		exit 1
	fi
	skopeo sync --src dir --dest docker --all --preserve-digests \
		--dest-tls-verify=false "$src" "$dest"
done
