#!/usr/bin/env bash
# Quick start: install what is missing, build, start a local registry filled
# with sample images, back it up into an encrypted store, restore it into a
# second empty registry, and check every digest with skopeo.
#
# Everything runs on 127.0.0.1 on free ports and is stopped at the end. The
# store, the catalog and the config stay in .demo/ for you to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

bash scripts/deps.sh
echo "== building regvault (build/regvault)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

rm -rf .demo
mkdir -p .demo
export KEEP=1 TMPDIR=$top/.demo REGVAULT=$top/build/regvault SOURCE_DIR=$top
# shellcheck source=../tests/e2e/lib.sh
. tests/e2e/lib.sh
# shellcheck source=../tests/fixtures/mkimages.sh
. tests/fixtures/mkimages.sh
unset REGVAULT_TEST_FAST_KDF # the demo uses the real key derivation

step "starting two registries on 127.0.0.1 (source and an empty restore target)"
rv_start_registry src
rv_start_registry dst
note "source:  $src_URL"
note "restore: $dst_URL"

step "pushing sample images into the source with skopeo"
populate "$src_URL" >"$RV_WORK/populate.log" 2>&1
note "$(curl -fsS "$src_URL/v2/_catalog" | jq -r '.repositories | "\(length) repositories: \(join(", "))"')"

rv_config "$RV_WORK/regvault.yml" src dst
note "config: $RV_CONFIG"

step "regvault init"
rv init
step "regvault backup"
rv backup
step "regvault backup (again: nothing changed, so nothing is fetched or written)"
rv backup
step "regvault snapshots"
rv snapshots
step "regvault restore latest --to dst"
rv restore latest --to dst
step "checking every tag's digest with skopeo, independently of regvault"
bash tests/e2e/check_equal.sh "$src_URL" "$dst_URL" | tail -n 1
step "regvault verify (every pack on the target hashes to its id)"
rv verify
step "regvault status (exit 1 would mean something needs attention)"
rv status

echo
echo "Done. The store is in $RV_WORK/store, the catalog in $RV_WORK/catalog.db,"
echo "the config in $RV_CONFIG. Both registries have been stopped."
