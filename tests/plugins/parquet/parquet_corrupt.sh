#!/bin/bash
# Hostile files: every byte of a small Parquet file flipped (and the file
# cut at every 7th length) never crashes, hangs or trips a sanitizer (the
# tree's sanitizer build runs this too): exit code 0 or 1 with a message.
# A flipped byte in the pages (page headers and data, which carry a
# CRC-32) gives an error or the original values.  The footer has no
# checksum in the Parquet format: a flipped byte there may rename a column
# or change an annotation undetectably, so there only "no crash" is
# required and the changed outputs are counted.
. "${srcdir:-.}/lib/engine_lib.sh" || exit 1
nb() { nebula --quiet "$@"; }
cat > "$work/t.csv" <<'CSV'
id,amount,d,ts,f,b,s
1,12.50,2024-02-29,2024-01-31T12:00:00Z,1.5,true,héllo
-5,-0.01,1969-12-31,1969-12-31T23:59:59Z,-0.0,false,
7,0.00,0001-01-01,1900-01-01T00:00:00Z,NaN,true,"a,b"
NULL,NULL,NULL,NULL,NULL,NULL,NULL
7,0.00,0001-01-01,1900-01-01T00:00:00Z,2.5,true,"a,b"
CSV
cols="id:int64; amount:decimal(10,2); d:date; ts:timestamp; f:float64; b:bool"
check_file() {  # file, label, strict (1: the output must be the original)
  set +e
  timeout 20 "$NEBULA_HOST" --quiet --plugin-dir "$PLUGIN_DIR" pipeline parquet csv --source-path "$1" \
    --dest-path "$work/out.csv" -s null_string=NULL > /dev/null 2> "$work/err"
  rc=$?
  set -e
  case $rc in
    0) if ! cmp -s "$work/out.csv" "$work/ref.csv"; then
         [ "$3" = 1 ] && { diff "$work/ref.csv" "$work/out.csv" | head; fail "$2: other values read"; }
         changed=$((changed + 1))
       fi ;;
    1) grep -q . "$work/err" || fail "$2: failed without a message" ;;
    *) cat "$work/err"; fail "$2: exit code $rc" ;;
  esac
  rm -f "$work/out.csv"
}
for codec in none snappy; do
  nb pipeline csv parquet --source-path "$work/t.csv" -s "columns=$cols" -s null_string=NULL \
    --dest-path "$work/t.parquet" --dest-setting compression=$codec
  nb pipeline parquet csv --source-path "$work/t.parquet" --dest-path "$work/ref.csv" -s null_string=NULL
  size=$(stat -c %s "$work/t.parquet")
  footer_len=$(od -An -tu4 -j $((size - 8)) -N4 "$work/t.parquet" | tr -d ' ')
  footer_at=$((size - 8 - footer_len))
  errors=0
  changed=0
  step=1
  [ "$codec" = none ] || step=3  # bounded time: every 3rd byte of the second file
  for ((i = 0; i < size; i += step)); do
    cp "$work/t.parquet" "$work/bad.parquet"
    byte=$(od -An -tu1 -j "$i" -N1 "$work/t.parquet" | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 0xA5)))" | dd of="$work/bad.parquet" bs=1 seek="$i" conv=notrunc status=none
    check_file "$work/bad.parquet" "$codec: byte $i flipped" $((i < footer_at))
    [ $rc -eq 0 ] || errors=$((errors + 1))
  done
  for ((n = 0; n < size; n += 7)); do
    head -c "$n" "$work/t.parquet" > "$work/bad.parquet"
    check_file "$work/bad.parquet" "$codec: cut at $n" 1
    [ $rc -ne 0 ] || fail "$codec: a file cut at $n bytes was read"
  done
  echo "$codec: $(((size + step - 1) / step)) flipped bytes: $errors errors, $changed footer flips read changed names or types, the others the original values; cuts refused"
done
