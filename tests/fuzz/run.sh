#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer harnesses with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer and run each for a set time.
#
#   tests/fuzz/run.sh BUILD [SECONDS] [NAME...]
#
# BUILD: a directory for objects, binaries, working corpora and logs
# (created; `make fuzz` uses build-fuzz in the build tree).  SECONDS per
# harness: default $FUZZ_SECONDS, else 60.  NAME: some harnesses (csv json
# io config state batch_check); default all of tests/fuzz/fuzz_*.c.
# Each run starts from a copy of tests/fuzz/corpus/NAME plus the regression
# inputs tests/fuzz/regress/NAME, and grows BUILD/corpus/NAME (never the
# source tree).  Exits 1 when any harness finds a crash, a leak, undefined
# behaviour or a timeout; the input is in BUILD/findings/NAME/ and the
# report in BUILD/logs/NAME.log.  Add each finding, once fixed, to
# tests/fuzz/regress/NAME/ so `make check` replays it.
# Needs clang and its runtime libraries (Debian 12: clang libclang-rt-14-dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD [SECONDS] [NAME...]" >&2; exit 2; }
build=$1; shift
seconds=${FUZZ_SECONDS:-60}
if [ $# -ge 1 ]; then seconds=$1; shift; fi
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null 2>&1 ||
  { echo "$0: $CC not found: install the Debian packages clang and libclang-rt-14-dev" >&2; exit 2; }

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$here"/fuzz_*.c; do n=$(basename "$f" .c); names+=("${n#fuzz_}"); done
fi

mkdir -p "$build"/obj "$build"/bin "$build"/logs
build=$(cd "$build" && pwd)

pkgs="libconfig libzstd liblz4 zlib libmicrohttpd jansson"
deps_cflags="$(pkg-config --cflags $pkgs) $(pkg-config --cflags libmariadb)"
deps_libs="$(pkg-config --libs $pkgs) -lsnappy -lltdl -lm -pthread"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-g -O1 $san -I$top/include -I$here"
for part in base io connector config engine; do cflags="$cflags -I$top/host/$part"; done
cflags="$cflags -I$top/plugins/csv -I$top/plugins/json -I$top/plugins/s3 -I$top/plugins/postgresql -I$top/plugins/mysql -I$top/plugins/parquet -I$top/plugins/arrow -I$top/plugins/avro $deps_cflags"

# Everything the harnesses test, in one archive: the linker takes what each
# harness needs.  -fsanitize=fuzzer-no-link adds coverage without a main.
lib_sources=$(ls "$top"/sdk/*.c "$top"/host/{base,io,connector,config,engine}/*.c \
  "$top"/plugins/csv/csv_reader.c "$top"/plugins/json/json_parser.c \
  "$top"/plugins/json/json_reader.c "$top"/plugins/json/json_parser_setup.c \
  "$top"/plugins/json/json_parse_errors.c "$top"/plugins/s3/s3_xml.c \
  "$top"/plugins/postgresql/pg_copytext.c "$top"/plugins/postgresql/pg_values.c \
  "$top"/plugins/postgresql/pg_pgoutput.c "$top"/plugins/postgresql/pg_copybin.c \
  "$top"/plugins/mysql/mysql_position.c "$top"/plugins/mysql/mysql_rows.c \
  "$top"/plugins/mysql/mysql_statement.c \
  "$top"/plugins/parquet/{parquet_source,pq_colreader,pq_nested,pq_meta,pq_rle,pq_crc32,thrift}.c \
  "$top"/plugins/arrow/{arrow_source,arrow_columns,arrow_ipc,flatbuf}.c \
  "$top"/plugins/avro/avro_{source,buf,codec,schema_in,decode}.c)
objs=()
for src in $lib_sources; do
  obj="$build/obj/$(echo "${src#$top/}" | tr / _).o"
  if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
    $CC $cflags -DNB_SDK_BUILDING -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done
rm -f "$build/obj/libfuzztarget.a"
ar rcs "$build/obj/libfuzztarget.a" "${objs[@]}"

# Build every harness first, then run them FUZZ_JOBS at a time (default:
# the number of CPUs), each for the same time.
jobs=${FUZZ_JOBS:-$(nproc)}
run_names=()
for name in "${names[@]}"; do
  src="$here/fuzz_$name.c"
  [ -e "$src" ] || { echo "$0: no harness $src" >&2; exit 2; }
  # A harness may name a source file it needs that is not in the tree yet.
  req=$(sed -n 's/.*fuzz-requires: \([^ ]*\).*/\1/p' "$src")
  if [ -n "$req" ] && [ ! -e "$top/$req" ]; then
    echo "== fuzz $name: skipped, $req is not in the tree"
    continue
  fi
  $CC $cflags -fsanitize=fuzzer "$src" "$build/obj/libfuzztarget.a" $deps_libs \
    -o "$build/bin/fuzz_$name"
  run_names+=("$name")
done

# One harness: its status in BUILD/logs/NAME.rc.
fuzz_one() {
  local name=$1 corpus="$build/corpus/$1" findings="$build/findings/$1"
  local log="$build/logs/$1.log" rc=0
  mkdir -p "$corpus" "$findings"
  for seed in "$here/corpus/$name" "$here/regress/$name"; do
    [ -d "$seed" ] && cp -n "$seed"/* "$corpus"/ 2>/dev/null || true
  done
  LSAN_OPTIONS=suppressions=$here/lsan.supp \
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/bin/fuzz_$name" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" \
      >"$log" 2>&1 || rc=$?
  echo "$rc" > "$build/logs/$name.rc"
}

echo "== fuzz ${run_names[*]}: ${seconds}s each, $jobs at a time (logs: $build/logs)"
for name in "${run_names[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  rm -f "$build/logs/$name.rc"
  fuzz_one "$name" &
done
wait

status=0
for name in "${run_names[@]}"; do
  log="$build/logs/$name.log"
  rc=$(cat "$build/logs/$name.rc" 2>/dev/null || echo 99)
  echo "== fuzz $name (log: $log)"
  # The last status line: executions, coverage, features, exec/s.
  grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 || true
  grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$log" || true
  if [ "$rc" -ne 0 ]; then
    echo "!! fuzz $name: finding (status $rc); inputs in $build/findings/$name:" >&2
    ls "$build/findings/$name" >&2
    # The report's own lines (not libFuzzer's dictionary entries, which
    # may contain the word ERROR), and each input in base64 so a CI log
    # alone is enough to replay the finding.
    grep -m6 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error:|fuzz invariant|^ERROR: libFuzzer|^    #[0-4] ' \
      "$log" >&2 || true
    for input in "$build/findings/$name"/*; do
      [ -f "$input" ] || continue
      echo "-- $(basename "$input") (base64; replay: base64 -d > f && fuzz_$name f):" >&2
      head -c 4096 "$input" | base64 -w 76 >&2
    done
    status=1
  fi
done
exit $status
