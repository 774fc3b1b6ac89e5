#!/bin/sh
# host_file_compression.sh - NB_CAP_HOST_FILE_COMPRESSION (ABI 1.2): the
# host declares "compression" and "compression_level" for the csv and json
# destinations, checks them, applies them to the files the connectors open,
# and keeps them out of what the connectors are opened with (their own
# checked open would refuse an unknown setting).  Connectors misusing the
# capability are refused by the loader.
. "${srcdir:-.}/lib/cli_lib.sh"

: "${PLUGIN_DIR:?PLUGIN_DIR must name the built connectors}"
hostile="$TEST_PLUGIN_DIR/../hostile/.libs"
nh() { NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$PLUGIN_DIR" "$@"; }
printf 'id,name\n1,ann\n2,bob\n' >"$tmp/in.csv"

# describe shows the host's settings among the connector's, once.
for c in csv json; do
  expect 0 "describe $c" nh describe "$c"
  grep -E -q '^compression +destination +enum +auto ' "$out" ||
    report_failure "$c: compression not declared"
  grep -E -q '^compression_level +destination +int +0 ' "$out" ||
    report_failure "$c: compression_level not declared"
  if [ "$(grep -c '^compression ' "$out")" -ne 1 ]; then
    report_failure "$c: compression listed $(grep -c '^compression ' "$out") times"
  fi
done

# Applied to the files: gzip by name, zstd with a level, auto by extension.
expect 0 "json gzip" nh pipeline csv json -q --source-path "$tmp/in.csv" \
  --dest-path "$tmp/out.jsonl" -s compression=gzip
if [ "$(gzip -dc <"$tmp/out.jsonl")" != '{"id":"1","name":"ann"}
{"id":"2","name":"bob"}' ]; then
  report_failure "json gzip: output is not the gzip of the records"
fi
expect 0 "csv zstd level 19" nh pipeline csv csv -q --source-path "$tmp/in.csv" \
  --dest-path "$tmp/out.csv" --dest-setting compression=zstd --dest-setting compression_level=19
if ! zstd -dc <"$tmp/out.csv" | cmp -s - "$tmp/in.csv"; then
  report_failure "csv zstd: output is not the zstd of the input"
fi
expect 0 "csv auto by extension" nh pipeline csv csv -q --source-path "$tmp/in.csv" \
  --dest-path "$tmp/out.csv.gz"
if ! gzip -dc <"$tmp/out.csv.gz" | cmp -s - "$tmp/in.csv"; then
  report_failure "csv auto: out.csv.gz is not gzip"
fi
expect 0 "csv none" nh pipeline csv csv -q --source-path "$tmp/in.csv" \
  --dest-path "$tmp/plain.csv.gz" --dest-setting compression=none
if ! cmp -s "$tmp/plain.csv.gz" "$tmp/in.csv"; then
  report_failure "csv none: output was compressed"
fi

# Checked by the host: the choices (with a hint) and the level's range,
# by validate as by a run.
expect 2 "unknown codec" nh pipeline csv csv -q --source-path "$tmp/in.csv" \
  --dest-path "$tmp/x.csv" --dest-setting compression=zsd
contains "$err" 'invalid value for setting "destination.compression"' "codec named"
contains "$err" 'Did you mean "zstd"?' "codec hint"
expect 1 "level beyond 32 bits" nh pipeline csv json -q --source-path "$tmp/in.csv" \
  --dest-path "$tmp/x.jsonl" -s compression_level=99999999999
contains "$err" 'invalid value for setting "compression_level": 99999999999' "level refused"
cat >"$tmp/p.conf" <<CONF
source = { connector = "csv"; path = "$tmp/in.csv"; };
destination = { connector = "json"; path = "$tmp/v.jsonl"; compression_level = 99999999999; };
CONF
expect 2 "validate: level beyond 32 bits" nh validate "$tmp/p.conf"
contains "$err" 'invalid value for setting "compression_level"' "validate names the level"
expect 1 "zstd level out of range" nh pipeline csv csv -q --source-path "$tmp/in.csv" \
  --dest-path "$tmp/x.csv" --dest-setting compression=zstd --dest-setting compression_level=99
contains "$err" "compression level 99 is out of range for zstd" "zstd level named"
if [ -s "$tmp/x.csv" ]; then report_failure "zstd level 99: output written"; fi

# Misuse refused at load, naming the rule.
for bad in broken_hostcomp_own broken_hostcomp_source; do
  rm -rf "$tmp/alone" && mkdir "$tmp/alone" && cp "$hostile/$bad.so" "$tmp/alone/"
  expect 0 "$bad listed" env NEBULA_PLUGIN_PATH= "$NEBULA_HOST" --plugin-dir "$tmp/alone" list
  case $bad in
    broken_hostcomp_own)
      contains "$err" 'declares "compression" and NB_CAP_HOST_FILE_COMPRESSION' "own setting refused" ;;
    *)
      contains "$err" 'NB_CAP_HOST_FILE_COMPRESSION is for destinations' "source refused" ;;
  esac
done
finish
