# shellcheck shell=bash
# shellcheck disable=SC2154 # NAME_URL, NAME_DIR, ... are set by rv_start_registry
# bench/corpus.sh - the benchmark's deterministic corpus (sourced by run.sh,
# after tests/e2e/lib.sh and tests/fixtures/mkimages.sh).
#
# A corpus is an OCI layout (what was generated) and a distribution registry
# storage tree (the layout pushed, with its tag moves), both cached under
# $BENCH_CACHE/<profile>-v<CORPUS_VERSION>/ so that a second run only copies
# the tree. Bump CORPUS_VERSION whenever what is generated changes.
#
# Profiles:
#	small  6 repositories, 24 tags, ~120 MB of unique gzip'd blobs
#	full   30 repositories, 150 tags, ~1.9 GB of unique gzip'd blobs
#	tags   1 repository, 10,000 tags over 100 small images (the tag walk)
#
# What an image of small/full is made of (bottom to top):
#	an OS base layer        real files of this machine, shared by every image
#	                        (a second one stands in for the arm64 base)
#	a runtime base layer    real files, shared by the repositories using it
#	a deps layer            pseudo-random, shared by every version of a repo
#	an app layer            pseudo-random, one per version (and platform)
# Every 5th repository is multi-arch: each version is an OCI index of
# linux/amd64 and linux/arm64/v8. Versions are pushed oldest first as vN and
# "latest" is moved to each in turn (V-1 tag moves per repository, leaving
# untagged manifests behind as on a real registry).
#
# Base layers are tar (sorted, mtime 0, uid/gid 0) of fixed paths under
# /usr that exist on Debian 12 with the packages of scripts/deps.sh, gzip -n
# -6 as registries serve them: the same bytes on every run on this machine
# (a machine with other package versions gets other, equally real, bytes).
# Missing paths are skipped. Pseudo-random layers come from mk_layer (AES-CTR
# keystream of the seed + text), so they are the same everywhere.

CORPUS_VERSION=1
CORPUS_SEED=${BENCH_SEED:-regvault-bench-1}

declare -A BASE_PATHS=()

# corpus_spec PROFILE: set the shape of the corpus.
corpus_spec() {
	BASE_PATHS=()
	case $1 in
	small)
		C_REPOS=6 C_VERSIONS=3 C_DEPS_SIZE=3145728 C_APP_SIZE=3145728
		BASE_PATHS[os-amd64]='usr/share/zoneinfo usr/share/i18n usr/sbin'
		BASE_PATHS[os-arm64]='usr/share/perl'
		BASE_PATHS[rt-libs]='usr/lib/x86_64-linux-gnu/lib[a-c]*'
		C_RUNTIMES=(rt-libs)
		;;
	full)
		C_REPOS=30 C_VERSIONS=4 C_DEPS_SIZE=10485760 C_APP_SIZE=11534336
		BASE_PATHS[os-amd64]='usr/lib/x86_64-linux-gnu/lib[a-c]* usr/sbin usr/share/zoneinfo usr/share/i18n'
		BASE_PATHS[os-arm64]='usr/lib/x86_64-linux-gnu/lib[m-r]* usr/share/perl'
		BASE_PATHS[rt-python]='usr/lib/python3 usr/lib/python3.11 usr/libexec'
		BASE_PATHS[rt-gcc]='usr/lib/gcc'
		BASE_PATHS[rt-dev]='usr/include usr/share/man'
		BASE_PATHS[rt-libs]='usr/lib/x86_64-linux-gnu/lib[d-l]*'
		BASE_PATHS[rt-tools]='usr/lib/x86_64-linux-gnu/lib[s-z]* usr/share/doc'
		BASE_PATHS[rt-locale]='usr/share/locale'
		C_RUNTIMES=(rt-python rt-gcc rt-dev rt-libs rt-tools rt-locale)
		;;
	tags)
		C_REPOS=1 C_IMAGES=100 C_TAGS=${BENCH_TAGS:-10000} C_APP_SIZE=16384
		BASE_PATHS[os-amd64]='usr/share/zoneinfo'
		C_RUNTIMES=()
		;;
	*) die "unknown profile '$1' (small, full or tags)" ;;
	esac
	C_PROFILE=$1
}

# rnd KEY MOD: a deterministic number in [0, MOD) from the seed and KEY.
rnd() {
	local h
	h=$(printf '%s/%s' "$CORPUS_SEED" "$1" | sha256sum | cut -c1-8)
	echo $((16#$h % $2))
}

# fs_layer DIR NAME: the base layer NAME from real files (cached in the
# layout). Sets MK_DESC and MK_DIFFID.
fs_layer() {
	local dir=$1 name=$2 cache=$1/.layers/fs_$2 list tar p
	if [[ -f $cache ]]; then
		{ read -r MK_DESC; read -r MK_DIFFID; } <"$cache"
		return 0
	fi
	list=$(mktemp "$dir/.list.XXXXXX")
	(
		cd /
		for p in ${BASE_PATHS[$name]}; do
			compgen -G "$p" || true
		done
	) | LC_ALL=C sort -u >"$list"
	[[ -s $list ]] || die "base layer '$name': none of ${BASE_PATHS[$name]} exists under /"
	tar=$(mktemp "$dir/.fs.XXXXXX")
	LC_ALL=C tar -C / --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
		--format=gnu --exclude=__pycache__ --exclude='*.pyc' \
		--warning=no-file-ignored -cf "$tar" -T "$list" 2>"$tar.err" ||
		{ cat "$tar.err" >&2; die "base layer '$name': tar failed"; }
	rm -f "$list" "$tar.err"
	MK_DIFFID=sha256:$(sha256sum "$tar" | cut -c1-64)
	gzip -n -6 <"$tar" >"$tar.gz"
	rm -f "$tar"
	_mk_store "$dir" "$tar.gz" "$MK_OCI_LAYER_GZ"
	mkdir -p "$dir/.layers"
	printf "%s\n%s\n" "$MK_DESC" "$MK_DIFFID" >"$cache"
}

# image DIR REF SEED ARCH VARIANT LAYERSPEC...: mk_image where a spec "fs:NAME"
# is a real-file base layer and "SEED:SIZE" a pseudo-random one. Sets MK_DESC
# (with .platform).
image() {
	local dir=$1 ref=$2 seed=$3 arch=$4 variant=$5 spec
	shift 5
	local -a layers=() diffids=()
	for spec in "$@"; do
		if [[ $spec == fs:* ]]; then
			fs_layer "$dir" "${spec#fs:}"
		else
			_mk_layer_cached "$dir" "${spec%%:*}" "${spec##*:}"
		fi
		layers+=("$MK_DESC")
		diffids+=("$MK_DIFFID")
	done
	mk_config "$dir" "$seed" linux "$arch" "$variant" "${diffids[@]}"
	mk_manifest "$dir" "$MK_DESC" "${layers[@]}"
	[[ $ref == - ]] || oci_ref "$dir" "$ref" "$MK_DESC"
	MK_DESC=$(jq -c --arg arch "$arch" --arg v "$variant" \
		'. + {platform: ({architecture: $arch, os: "linux"}
		     + (if $v == "" then {} else {variant: $v} end))}' <<<"$MK_DESC")
}

# app_size KEY: C_APP_SIZE scaled by a deterministic factor in [0.5, 1.5).
app_size() {
	echo $((C_APP_SIZE / 2 + C_APP_SIZE * $(rnd "$1" 1000) / 1000))
}

repo_name() {
	printf 'bench/app%02d' "$1"
}

# _corpus_images LAYOUT URL: build every image of the small/full corpus and
# push it, in order, with the tag moves.
_corpus_images() {
	local dir=$1 url=$2 r v repo rt deps app multi ref
	local -a kids
	for ((r = 0; r < C_REPOS; r++)); do
		repo=$(repo_name "$r")
		rt=${C_RUNTIMES[r % ${#C_RUNTIMES[@]}]}
		deps=deps-r$r:$C_DEPS_SIZE
		multi=0
		if ((r % 5 == 4)); then multi=1; fi
		for ((v = 1; v <= C_VERSIONS; v++)); do
			ref=r$r-v$v
			app=app-r$r-v$v
			if ((multi)); then
				kids=()
				image "$dir" - "$app-amd64" amd64 "" fs:os-amd64 "fs:$rt" "$deps" \
					"$app-amd64:$(app_size "$app-amd64")"
				kids+=("$MK_DESC")
				image "$dir" - "$app-arm64" arm64 v8 fs:os-arm64 "fs:$rt" "$deps" \
					"$app-arm64:$(app_size "$app-arm64")"
				kids+=("$MK_DESC")
				mk_index "$dir" "${kids[@]}"
				oci_ref "$dir" "$ref" "$MK_DESC"
			else
				image "$dir" "$ref" "$app" amd64 "" fs:os-amd64 "fs:$rt" "$deps" \
					"$app:$(app_size "$app")"
			fi
			push "$dir" "$ref" "$url" "$repo:v$v" --all
			reg_tag "$url" "$repo" "v$v" latest
		done
		note "$repo: $C_VERSIONS versions pushed"
	done
	# The small change (not pushed here): one new small image in app00.
	image "$dir" change app-change amd64 "" fs:os-amd64 "fs:${C_RUNTIMES[0]}" \
		"deps-r0:$C_DEPS_SIZE" app-change:1048576
}

# _corpus_tags LAYOUT URL: C_IMAGES small images, C_TAGS tags over them.
_corpus_tags() {
	local dir=$1 url=$2 i j repo=bench/tags hex
	for ((i = 0; i < C_IMAGES; i++)); do
		image "$dir" "t$i" "tags-$i" amd64 "" fs:os-amd64 "tag-app-$i:$C_APP_SIZE"
		push "$dir" "t$i" "$url" "$repo:$(printf 't%05d' "$i")"
	done
	note "$C_IMAGES images pushed; tagging $C_TAGS tags"
	# One curl per image, each keeping its connection, 4 at a time.
	for ((i = 0; i < C_IMAGES; i++)); do
		hex=$(jq -r --arg r "t$i" '.manifests[] |
			select(.annotations["org.opencontainers.image.ref.name"] == $r) |
			.digest' "$dir/index.json" | cut -c8-)
		{
			echo "request = \"PUT\""
			echo "data-binary = \"@$dir/blobs/sha256/$hex\""
			echo "header = \"Content-Type: $MK_OCI_MANIFEST\""
			printf '%s\n' 'write-out = "%{http_code}\n"'
			for ((j = i + C_IMAGES; j < C_TAGS; j += C_IMAGES)); do
				printf 'url = "%s/v2/%s/manifests/t%05d"\n' "$url" "$repo" "$j"
			done
		} >"$dir/.tags.$i"
	done
	# shellcheck disable=SC2011
	ls "$dir"/.tags.* | xargs -P4 -I{} curl -sS -K {} >"$dir/.codes"
	rm -f "$dir"/.tags.*
	local bad
	bad=$(grep -Ec '^[0-9]{3}$' "$dir/.codes" || true)
	[[ $bad == $((C_TAGS - C_IMAGES)) ]] ||
		die "tag PUTs: $bad answers, expected $((C_TAGS - C_IMAGES))"
	bad=$(grep -E '^[0-9]{3}$' "$dir/.codes" | grep -vc '^201$' || true)
	[[ $bad == 0 ]] || die "$bad of the tag PUTs failed"
	rm -f "$dir/.codes"
	# The small change: one new small image.
	image "$dir" change tags-change amd64 "" fs:os-amd64 "tag-change:1048576"
}

# corpus_prepare: make sure the cached corpus of $C_PROFILE exists; sets
# CORPUS_DIR (holds layout/, registry/ and info.env).
corpus_prepare() {
	local root=$BENCH_CACHE/$C_PROFILE-v$CORPUS_VERSION
	CORPUS_DIR=$root
	if [[ -f $root/.complete ]]; then
		note "corpus: cached in $root"
		return 0
	fi
	rm -rf "$root"
	mkdir -p "$root"
	step "generate the $C_PROFILE corpus (cached afterwards in $root)"
	local t0 t1
	t0=$(date +%s)
	oci_init "$root/layout"
	rv_start_registry gen
	if [[ $C_PROFILE == tags ]]; then
		_corpus_tags "$root/layout" "$gen_URL"
	else
		_corpus_images "$root/layout" "$gen_URL"
	fi
	rv_stop_registry gen
	mv "$gen_DIR" "$root/registry"
	t1=$(date +%s)
	local blobs bytes
	read -r blobs bytes < <(find "$root/registry/docker/registry/v2/blobs" -type f -name data \
		-printf '%s\n' | awk '{ n++; s += $1 } END { printf "%d %.0f\n", n, s }')
	{
		echo "C_UNIQUE_BLOBS=$blobs"
		echo "C_UNIQUE_BYTES=$bytes"
		echo "C_GEN_SECONDS=$((t1 - t0))"
	} >"$root/info.env"
	touch "$root/.complete"
	note "corpus generated in $((t1 - t0)) s: $blobs blobs, $bytes bytes"
}

# corpus_start NAME: a registry named NAME serving a fresh copy of the corpus.
corpus_start() {
	mkdir -p "$RV_WORK/$1"
	cp -a "$CORPUS_DIR/registry" "$RV_WORK/$1/storage"
	rv_start_registry "$1"
}

# corpus_change URL: the small change: push the new image as app00:next (tags
# profile: tags:next) and move one tag (app01:latest, tags:t00001) back to an
# older version.
corpus_change() {
	local url=$1
	if [[ $C_PROFILE == tags ]]; then
		push "$CORPUS_DIR/layout" change "$url" bench/tags:next
		reg_tag "$url" bench/tags t00000 t00001
	else
		push "$CORPUS_DIR/layout" change "$url" "$(repo_name 0):next"
		reg_tag "$url" "$(repo_name 1)" v1 latest
	fi
}
