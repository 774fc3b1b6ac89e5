/*
 * csv_writer.h - formats records as RFC 4180 CSV into one large buffer and
 * hands it to a sink (the host's file_write, or a test's memory buffer)
 * when it is full or on flush.
 *
 * Quoting: a value is quoted when it contains the delimiter, the quote
 * character, CR or LF (quote_style "minimal"), or always ("all").  An empty
 * string is always written as "" and a null as the null string (or nothing),
 * unquoted, so the two stay distinguishable; a value equal to the null
 * string is quoted for the same reason.  Quotes inside a value are doubled.
 */
#ifndef CSV_WRITER_H
#define CSV_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/sdk.h"

typedef struct CsvSink {
  int (*write)(void *ctx, const void *buf, size_t len, NbError *err);
  void *ctx;
} CsvSink;

typedef struct CsvWriterOptions {
  char delimiter;
  char quote;
  const char *null_string; /* NULL: a null is an empty field */
  bool crlf;               /* line end CRLF instead of LF */
  bool quote_all;
  size_t buffer_size;      /* 0 means 4 MiB */
} CsvWriterOptions;

typedef struct CsvWriter CsvWriter;

int csv_writer_new(const CsvWriterOptions *options, const CsvSink *sink,
                   CsvWriter **out, NbError *err);
void csv_writer_free(CsvWriter *writer);

/* Append one value (or a null) to the current record. */
int csv_writer_value(CsvWriter *writer, const char *data, size_t len, NbError *err);
int csv_writer_null(CsvWriter *writer, NbError *err);
/* End the current record with the line end. */
int csv_writer_end_record(CsvWriter *writer, NbError *err);
/* One value of csv_writer_row.  data == NULL is a null.  Bytes from data
 * up to `readable` (>= data + len) may be loaded, which lets short values
 * be tested and copied 16 bytes at a time; readable == data + len is
 * always correct. */
typedef struct CsvOutValue {
  const char *data;
  size_t len;
  const char *readable;
} CsvOutValue;

/* Write a whole record: the n values and the line end, exactly as
 * csv_writer_value / csv_writer_null / csv_writer_end_record would.  The
 * hot path of the destination: one capacity check per record, and a value
 * of up to 32 bytes that needs no quotes costs one or two vector tests and
 * copies. */
int csv_writer_row(CsvWriter *writer, const CsvOutValue *values, size_t n, NbError *err);

/* Hand every buffered byte to the sink. */
int csv_writer_flush(CsvWriter *writer, NbError *err);
/* Bytes formatted so far (flushed or not). */
uint64_t csv_writer_bytes(const CsvWriter *writer);

#endif /* CSV_WRITER_H */
