/*
 * csv_reader.h - a streaming RFC 4180 CSV record parser.
 *
 * The reader pulls bytes through a read callback (the connector passes the
 * host's file_read, tests pass an in-memory buffer), keeps one large block
 * in memory and hands out one record at a time as an array of fields that
 * point into that block.  It knows nothing of headers, column counts or
 * types: the connector does.
 *
 * Syntax accepted:
 *   - fields separated by a one-byte delimiter, records ended by LF, CRLF
 *     or a lone CR, the last record with or without a line end;
 *   - a field that starts with the quote character is quoted: it may hold
 *     delimiters, CR and LF, and a doubled quote stands for one quote;
 *   - a UTF-8 byte order mark at offset 0 is skipped;
 *   - lenient (default): a quote inside an unquoted field, or bytes after the
 *     closing quote of a quoted field ("ab"cd), are kept literally (abcd);
 *     strict: either is a bad record.
 * Bad records (NB_DATA): an unterminated quoted field (the reader resumes at
 * the physical line after the record's first line, so one stray quote does
 * not swallow the rest of the file), a strict-mode violation (resumes after
 * the record), a record longer than max_record_bytes or with more than
 * max_fields fields (resumes after the next line end).
 * Memory: the buffer holds at most max_record_bytes plus one block (plus a
 * marked stretch while a mark is set), the fields array max_fields * 24
 * bytes, the decoding scratch at most max_record_bytes.
 * Line numbers are 1-based physical lines; offsets are bytes of the
 * (decompressed) input from its start, BOM included.
 */
#ifndef CSV_READER_H
#define CSV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/sdk.h"

/* Where the bytes come from. */
typedef struct CsvInput {
  /* Read up to cap bytes into buf; *n_read = 0 at end of input. */
  int (*read)(void *ctx, char *buf, size_t cap, size_t *n_read, NbError *err);
  /* Skip n bytes; NB_END if the input is shorter.  May be NULL (the reader
   * then reads and drops). */
  int (*skip)(void *ctx, uint64_t n, NbError *err);
  void *ctx;
} CsvInput;

typedef struct CsvReaderOptions {
  char delimiter;
  char quote;
  bool strict;
  size_t block_size;       /* bytes per read; 0 means 1 MiB */
  size_t max_record_bytes; /* 0 means 64 MiB */
  size_t max_fields;       /* most fields per record; 0 means 16384 */
} CsvReaderOptions;

#define CSV_FIELD_QUOTED 0x1u /* the field was written in quotes */

typedef struct CsvField {
  const char *data; /* the value, quotes removed and "" undoubled */
  size_t len;
  unsigned flags;   /* CSV_FIELD_* */
} CsvField;

typedef struct CsvRecord {
  const CsvField *fields;
  size_t n_fields;
  const char *raw;  /* the record as in the input, without its line end */
  size_t raw_len;
  int64_t line;     /* physical line where the record starts */
  bool ascii;       /* true: every byte of raw is below 0x80 (so the record
                       is valid UTF-8); false: unknown.  Found by the scan
                       the parser does anyway, so a UTF-8 check costs nothing
                       for the (usual) ASCII records. */
} CsvRecord;

typedef struct CsvReader CsvReader;

/* name is used in error messages (copied). */
int csv_reader_new(const CsvReaderOptions *options, const CsvInput *input,
                   const char *name, CsvReader **out, NbError *err);
void csv_reader_free(CsvReader *reader);

/* Skip blank lines (a line end right after a line end) instead of returning
 * them as one empty field.  Off by default. */
void csv_reader_skip_blank_lines(CsvReader *reader, bool skip);

/* csv_reader_next's answer when the input is idle (see below): no record
 * now, call again (the next call waits for input).  Not an NbStatus. */
#define CSV_READER_IDLE 100

/* Streaming input (a pipe, terminal or socket): a read that returned less
 * than asked means the producer has written nothing more for now.  Off by
 * default. */
void csv_reader_set_streaming(CsvReader *reader, bool streaming);

/* While on, csv_reader_next returns CSV_READER_IDLE instead of waiting when
 * it needs more input and the last read of a streaming input was short, so
 * a caller holding records hands them over while a slow producer waits
 * (issue 9, item 12).  The caller turns it on only when it has records. */
void csv_reader_stop_when_idle(CsvReader *reader, bool stop);

/* The next record, valid until the next call on the reader.  Returns NB_OK,
 * NB_END (no more records), NB_DATA (a bad record: err has the location,
 * column and raw bytes, and the reader is already past it), NB_NOMEM, or
 * NB_IO when the input failed.  NB_DATA always means a bad record: when the
 * input's read fails, even with NB_DATA (corrupt or truncated compressed
 * data), the reader returns NB_IO with the read's message and no line or
 * column, and every later call that needs more input (csv_reader_skip_to
 * too) returns NB_IO again without reading: a failed stream ends, it is
 * never skipped over.  Records already buffered (after csv_reader_rewind)
 * are still returned before it.
 * (NB_NOMEM and NB_CANCELLED from the read are returned as they are, and
 * also end the reader.)  CSV_READER_IDLE: see csv_reader_stop_when_idle;
 * CSV_READER_MARK_FULL: see csv_reader_mark_within. */
int csv_reader_next(CsvReader *reader, CsvRecord *record, NbError *err);

/* Go back to the start of the record last returned with NB_OK, so the next
 * call returns it again. */
void csv_reader_unread(CsvReader *reader);

/* Remember the current place; csv_reader_rewind goes back to it (bytes
 * after the mark stay in memory until csv_reader_unmark).  Used to read a
 * batch again after a schema change. */
void csv_reader_mark(CsvReader *reader);
/* The same, but the bytes kept from the mark on are bounded: a call that
 * would have to read past mark + limit (bad records, or the rest of an
 * over-long line, while a caller looks ahead) returns CSV_READER_MARK_FULL
 * (err says so) and reads nothing; csv_reader_rewind still works.  Bounds
 * the memory of a look-ahead whatever the input (issue 9, item 13). */
void csv_reader_mark_within(CsvReader *reader, uint64_t limit);
#define CSV_READER_MARK_FULL 101
void csv_reader_rewind(CsvReader *reader);
void csv_reader_unmark(CsvReader *reader);

/* Offset and line of the next record (after everything returned so far). */
uint64_t csv_reader_offset(const CsvReader *reader);
int64_t csv_reader_line(const CsvReader *reader);

/* Offset where the last record returned (good or bad) started. */
uint64_t csv_reader_record_offset(const CsvReader *reader);

/* Continue at offset (>= csv_reader_offset) whose line number is line.
 * NB_END if the input is shorter than offset. */
int csv_reader_skip_to(CsvReader *reader, uint64_t offset, int64_t line,
                       NbError *err);

#endif /* CSV_READER_H */
