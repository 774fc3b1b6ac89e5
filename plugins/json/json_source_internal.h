/*
 * json_source_internal.h - what the parts of the json source share: its
 * streams (json_source.c) and the checks of a record's member names
 * (json_source_records.c).
 */
#ifndef JSON_SOURCE_INTERNAL_H
#define JSON_SOURCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_columns.h"
#include "json_connector.h"
#include "json_members.h"
#include "json_reader.h"

/* Bounds of the rows pending for the builder (see Stream.pending). */
#define PENDING_ROWS 256
#define PENDING_VALUES 65536

struct JsonSource;

typedef struct Stream {
  struct JsonSource *src;
  char *path;
  int64_t size;
  NbFile *file;
  JsonReader reader;
  bool open;                /* file and reader ready */
  bool ended;               /* NB_END returned; file closed */
  Columns cols;
  bool cols_known;          /* schema learned */
  NbBatchBuilder *builder;  /* for cols as they were when built */
  size_t builder_columns;   /* cols.n when built; 0 with builder NULL */
  bool builder_stale;       /* the schema changed since */
  size_t zero_column_rows;  /* rows of a batch without columns */
  size_t *member_col;       /* column of each member of the record */
  size_t member_col_cap;
  size_t hinted_columns;    /* columns given to the parser as expected
                             * member names (json_parser_expect_key) */
  /* Rows taken by append_row and not yet given to the builder, column
   * by column: value r of column j is pending[j * pending_cap + r].  They
   * point into the read buffer, so they are flushed before it moves
   * (reader.before_refill), and before any other row is appended. */
  NbStringRef *pending;
  size_t pending_cap;       /* rows per column */
  size_t pending_rows;
  bool text_only;           /* the builder has string columns only */
  uint64_t stamp;
  JsonNameSort names;       /* work space of the duplicate-name checks */
  bool duplicate_logged;
  uint8_t position[NB_POSITION_MAX_BYTES];
  size_t position_len;
} Stream;

/* Setting duplicate_keys, in the order of its choices. */
typedef enum DuplicateKeys { DUP_ERROR = 0, DUP_FIRST, DUP_LAST } DuplicateKeys;

typedef struct JsonSource {
  const NbHostApi *host;
  JsonFormat format;
  DuplicateKeys duplicate_keys;
  uint32_t max_depth;
  size_t max_record;
  size_t max_columns;
  uint64_t batch_rows;
  uint64_t batch_bytes;
  Stream *streams;
  uint32_t n_streams;
} JsonSource;

/* An object record v of *n members whose names may repeat: by the setting
 * duplicate_keys, NB_DATA (e filled), or keep one value of each name in
 * the parser's members (*n lowered, *dropped the values dropped). */
int json_source_resolve_duplicates(Stream *s, const JsonValue *v, size_t *n, size_t *dropped,
                                   NbError *e);
/* NB_DATA for the record v, whose new member names would take the
 * stream past max_columns. */
void json_source_too_many_columns(const Stream *s, const JsonValue *v, NbError *err);
/* A record that lost `dropped` values to duplicate_keys was accepted:
 * counted, and logged once per stream. */
void json_source_note_dropped(Stream *s, size_t dropped);

#endif /* JSON_SOURCE_INTERNAL_H */
