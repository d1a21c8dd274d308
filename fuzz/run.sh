#!/usr/bin/env bash
# fuzz/run.sh - build every libFuzzer target and run each for a while on a
# copy of its seed corpus (fuzz/README.md).
#
#   bash fuzz/run.sh [--seconds N] [--build DIR] [--jobs J] [TARGET...]
#
# --seconds N   per target (default 10: the CI smoke run; use 600+ for a
#               long run)
# --build DIR   the clang build folder (default build-fuzz beside the
#               source tree); the corpora are copied to DIR/fuzz-work/,
#               crashes land in DIR/fuzz-work/<target>/crashes/
# TARGET...     only these targets (default: all)
#
# Prints one line per target: seconds, executions, exec/s, corpus size
# (inputs in the working corpus after the run), crashes. Exit 1 when any
# target crashed (or failed to start), 0 otherwise. The committed corpus
# in fuzz/corpus/ is never written. Inputs in fuzz/regressions/<target>/
# (each once a crash) are replayed before the target fuzzes.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=10
build="$src/build-fuzz"
jobs=$(nproc 2>/dev/null || echo 2)
only=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
	*) only+=("$1"); shift ;;
	esac
done
case "$seconds" in ''|*[!0-9]*) echo "run.sh: --seconds wants a number" >&2; exit 2 ;; esac
# the fuzzers run from their work folders: the build folder must be absolute
mkdir -p "$build"
build=$(cd "$build" && pwd)

# target:max_len (bytes): about the largest input worth mutating
all=(
	fuzz_manifest:65536
	fuzz_listing:65536
	fuzz_headers:4096
	fuzz_token:16384
	fuzz_s3_xml:65536
	fuzz_cron:512
	fuzz_config:16384
	fuzz_pack_index:65536
	fuzz_frame:65536
	fuzz_keyslot:4096
	fuzz_sealtext:16384
	fuzz_storedoc:16384
)
targets=()
for t in "${all[@]}"; do
	if [ ${#only[@]} -eq 0 ]; then
		targets+=("$t")
	else
		for o in "${only[@]}"; do
			[ "${t%%:*}" = "$o" ] && targets+=("$t")
		done
	fi
done
if [ ${#targets[@]} -eq 0 ]; then
	echo "run.sh: no such target: ${only[*]}" >&2
	exit 2
fi

cc=${CC:-clang}
if ! command -v "$cc" >/dev/null; then
	echo "run.sh: '$cc' not found; libFuzzer needs clang" >&2
	exit 2
fi
echo "== configure $build (CC=$cc)"
CC=$cc cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS="-O1 -g" -DREGVAULT_FUZZ=ON -DREGVAULT_TESTS=OFF \
	>"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
echo "== build"
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}"); done
cmake --build "$build" -j "$jobs" --target "${names[@]}" >"$build/fuzz-build.log" 2>&1 ||
	{ tail -50 "$build/fuzz-build.log"; exit 1; }

work="$build/fuzz-work"
rows=()
failed=0
# a smaller quarantine keeps a long run under -rss_limit_mb=512
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=64:malloc_context_size=20}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "${targets[@]}"; do
	name=${t%%:*}
	max_len=${t##*:}
	dir="$work/$name"
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/crashes"
	cp "$src/fuzz/corpus/$name/"* "$dir/corpus/" 2>/dev/null || true
	echo "== $name: $seconds s"
	set +e
	# inputs that once crashed (fuzz/regressions/<target>/) replay first
	if [ -d "$src/fuzz/regressions/$name" ]; then
		(cd "$dir/crashes" && "$build/fuzz/$name" -rss_limit_mb=512 \
			-timeout=25 "$src/fuzz/regressions/$name/"*) >"$dir/replay.log" 2>&1 ||
			{ echo "   a regression input crashes again; log: $dir/replay.log"
			  cp "$dir/replay.log" "$dir/crashes/crash-replay.log"; }
	fi
	(cd "$dir/crashes" && "$build/fuzz/$name" -max_total_time="$seconds" \
		-max_len="$max_len" -rss_limit_mb=512 -timeout=25 \
		-print_final_stats=1 -artifact_prefix="$dir/crashes/" \
		"$dir/corpus") >"$dir/log" 2>&1
	rc=$?
	set -e
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
	corpus=$(find "$dir/corpus" -type f | wc -l)
	# a timeout on a loaded machine may be the machine: replay it once;
	# one that runs in time then is set aside, not counted
	for f in "$dir/crashes"/timeout-*; do
		[ -e "$f" ] || continue
		if "$build/fuzz/$name" -timeout=25 -rss_limit_mb=512 "$f" \
			>"$f.replay.log" 2>&1; then
			mv "$f" "$dir/crashes/unreproduced-${f##*/}"
			echo "   timeout not reproduced on replay (machine load?): ${f##*/}"
			[ "$rc" -ne 0 ] && rc=0
		fi
	done
	crashes=$(find "$dir/crashes" -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes=1 # died without an artifact (build or start-up problem)
	fi
	if [ "$crashes" -ne 0 ]; then
		failed=1
		echo "   FAILED (exit $rc); log: $dir/log"
		grep -E "^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)" \
			"$dir/log" | head -5 | sed 's/^/   /'
	fi
	rows+=("$(printf '%-17s %7s %12s %9s %8s %8s' "$name" "$seconds" \
		"${execs:-0}" "${speed:-0}" "$corpus" "$crashes")")
done

echo
printf '%-17s %7s %12s %9s %8s %8s\n' target seconds executions exec/s corpus crashes
for r in "${rows[@]}"; do echo "$r"; done
if [ "$failed" -ne 0 ]; then
	echo "run.sh: crashes found; inputs in $work/<target>/crashes/ (reproduce: $build/fuzz/<target> FILE)" >&2
	exit 1
fi
