/*
 * fuzz_csv.c - the CSV reader (plugins/csv/csv_reader.c) on arbitrary
 * bytes, read in pieces of varying size with small blocks and record
 * limits, so block boundaries, growth and the bad-record recovery paths
 * are reached with short inputs.
 *
 * Input: byte 0 chooses delimiter, quote, strictness and blank-line
 * skipping; byte 1 the block size, the record limit and the read piece
 * size; the rest is the file.
 * Invariants: every record or bad record moves the offset forward and
 * stays inside the input; line numbers never go back; an unread record
 * comes back identical; every field's bytes are readable.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "csv_reader.h"
#include "nebula/sdk.h"

typedef struct MemInput {
  const uint8_t *data;
  size_t len;
  size_t pos;
  size_t piece; /* most bytes one read returns */
} MemInput;

static int mem_read(void *ctx, char *buf, size_t cap, size_t *n_read, NbError *err) {
  (void)err;
  MemInput *m = ctx;
  size_t n = m->len - m->pos;
  if (n > cap) n = cap;
  if (n > m->piece) n = m->piece;
  if (n > 0) memcpy(buf, m->data + m->pos, n);
  m->pos += n;
  *n_read = n;
  return NB_OK;
}

/* Read every byte of a record (ASan checks they are inside the block). */
static unsigned touch_record(const CsvRecord *rec) {
  unsigned sum = 0;
  for (size_t i = 0; i < rec->raw_len; i++) sum += (unsigned char)rec->raw[i];
  for (size_t f = 0; f < rec->n_fields; f++)
    for (size_t i = 0; i < rec->fields[f].len; i++) sum += (unsigned char)rec->fields[f].data[i];
  return sum;
}

static void check_unread(CsvReader *r, const CsvRecord *rec) {
  size_t raw_len = rec->raw_len, n_fields = rec->n_fields;
  int64_t line = rec->line;
  char *raw = malloc(raw_len ? raw_len : 1);
  if (raw == NULL) return;
  memcpy(raw, rec->raw, raw_len);
  csv_reader_unread(r);
  CsvRecord again;
  NbError err;
  nb_error_init(&err);
  int rc = csv_reader_next(r, &again, &err);
  if (rc != NB_OK || again.raw_len != raw_len || again.n_fields != n_fields ||
      again.line != line || memcmp(again.raw, raw, raw_len) != 0)
    fuzz_fail("csv: an unread record came back different (status %d)", rc);
  nb_error_release(&err);
  free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char delimiters[] = {',', ';', '\t', '|'};
  uint8_t a = fuzz_take(&data, &size);
  uint8_t b = fuzz_take(&data, &size);
  CsvReaderOptions o = {
      .delimiter = delimiters[a & 3],
      .quote = (a & 4) ? '\'' : '"',
      .strict = (a & 8) != 0,
      .block_size = (size_t)16 << (b & 7),
      .max_record_bytes = (size_t)32 << ((b >> 3) & 7),
  };
  MemInput in = {data, size, 0, 1 + (size_t)(b >> 6) * 700 + (a >> 5)};
  CsvInput input = {mem_read, NULL, &in};
  CsvReader *r = NULL;
  NbError err;
  nb_error_init(&err);
  if (csv_reader_new(&o, &input, "fuzz.csv", &r, &err) != NB_OK) {
    nb_error_release(&err);
    return 0;
  }
  csv_reader_skip_blank_lines(r, (a & 16) != 0);
  uint64_t last_offset = csv_reader_offset(r);
  int64_t last_line = 1;
  size_t records = 0;
  volatile unsigned sink = 0;
  for (;;) {
    CsvRecord rec;
    int rc = csv_reader_next(r, &rec, &err);
    if (rc == NB_END) break;
    if (rc != NB_OK && rc != NB_DATA) break; /* out of memory */
    uint64_t offset = csv_reader_offset(r);
    int64_t line = csv_reader_line(r);
    if (offset <= last_offset)
      fuzz_fail("csv: no progress at offset %llu (status %d)", (unsigned long long)offset, rc);
    if (offset > size) fuzz_fail("csv: offset %llu past the input", (unsigned long long)offset);
    if (line < last_line) fuzz_fail("csv: line went back from %lld to %lld",
                                    (long long)last_line, (long long)line);
    if (rc == NB_OK) {
      sink += touch_record(&rec);
      if (records % 5 == 2) check_unread(r, &rec);
    } else if (err.message == NULL) {
      fuzz_fail("csv: a bad record without a message");
    }
    nb_error_release(&err);
    last_offset = offset;
    last_line = line;
    if (++records > size + 1) fuzz_fail("csv: more records than bytes");
  }
  nb_error_release(&err);
  csv_reader_free(r);
  return 0;
}
