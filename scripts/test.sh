#!/usr/bin/env bash
# Install what is missing, build (plain, ASan+UBSan, ThreadSanitizer), run
# every test.
# This is what .ci/run runs. Servers the tests need (registries) are
# started by the tests themselves on 127.0.0.1 and stopped when they end.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
jobs=$(nproc)
# RV_LONG=1: the long reliability mode (README, "Reliability")
timeout=900
[[ ${RV_LONG:-0} == 1 ]] && timeout=14400

echo "== build (RelWithDebInfo) in build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRV_E2E_TIMEOUT=$timeout >/dev/null
cmake --build build -j"$jobs"

echo "== build (Debug, ASan+UBSan) in build-asan/"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DREGVAULT_SANITIZE=ON -DRV_E2E_TIMEOUT=$timeout >/dev/null
cmake --build build-asan -j"$jobs"

echo "== build (RelWithDebInfo, ThreadSanitizer) in build-tsan/"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREGVAULT_TSAN=ON -DRV_E2E_TIMEOUT=$timeout >/dev/null
cmake --build build-tsan -j"$jobs"

status=0
echo "== tests: ASan+UBSan build (unit + end-to-end)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE valgrind || status=1

echo "== tests: ThreadSanitizer build (unit + the end-to-end tests with threads)"
# the tag walk's HEAD threads, the blob fetchers and the restore's
# uploaders run in these; RV_SCALE_TAGS=300 keeps the walk test short
RV_SCALE_TAGS=300 TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
	ctest --test-dir build-tsan --output-on-failure -j"$jobs" -LE valgrind \
	-R 'unit\.|e2e\.test_locks$|e2e\.test_walk_scale$|e2e\.test_backup_restore$|e2e\.test_incremental$|e2e\.test_kill_resume$|e2e\.test_corrupt_blob$|e2e\.test_restore_map$' || status=1

echo "== fuzzing: every parser of outside input, 10 s each (clang, libFuzzer)"
bash fuzz/run.sh --seconds "${RV_FUZZ_SECONDS:-10}" --build build-fuzz || status=1

echo "== tests: release build (unit + end-to-end + valgrind; the reliability suites ran under ASan above)"
ctest --test-dir build --output-on-failure -j"$jobs" -LE reliability || status=1

exit $status
