/*
 * json_reader.h - records of one JSON file, read through a callback into a
 * growing buffer: JSON Lines or one array document, the byte-order mark,
 * format detection, line and column bookkeeping, resume positions, and
 * errors that name the file, line, column and the bad record.
 *
 * Records are peeked, then accepted: a caller that cannot take a record yet
 * (a full batch, a schema change, an error after good rows) leaves it
 * unaccepted and gets the same record again from the next peek.
 */
#ifndef JSON_READER_H
#define JSON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_parser.h"
#include "nebula/sdk.h"

typedef enum JsonFormat {
  JSON_FORMAT_AUTO = 0,
  JSON_FORMAT_LINES = 1,
  JSON_FORMAT_ARRAY = 2
} JsonFormat;

/* Read up to cap bytes into buf; *n_read = 0 at the end of the file.
 * Returns an NbStatus (filling err on failure). */
typedef int (*JsonReadFn)(void *ctx, void *buf, size_t cap, size_t *n_read,
                          NbError *err);

/* Where the reader stands: everything needed to continue from there. */
typedef struct JsonCursor {
  size_t pos;              /* offset in the buffer */
  uint64_t line;           /* 1-based line of pos */
  uint64_t line_start;     /* file offset of that line's first byte */
  uint64_t record;         /* records consumed, good and bad */
  JsonArrayState array_state;
} JsonCursor;

typedef struct JsonReader {
  JsonFormat format;       /* AUTO until the first bytes are seen */
  const char *path;        /* for messages; borrowed */
  JsonReadFn read;
  void *read_ctx;

  char *buf;               /* cap bytes + '\0' + JSON_PADDING */
  size_t cap;
  size_t len;              /* valid bytes in buf */
  bool eof;                /* read returned 0 */
  uint64_t base;           /* file offset of buf[0] */
  bool started;            /* first fill, BOM and format detection done */

  JsonCursor cur;          /* before the next record */
  JsonCursor next;         /* after the peeked record */

  bool no_refill;          /* sampling: stop (JSON_END) instead of reading */
  JsonParser parser;

  /* Called, when set, before the buffered data moves or is dropped (a
   * refill), while records peeked and accepted so far still point into
   * it: a caller holding on to their values takes them now.  A status
   * other than NB_OK stops the read with that status. */
  int (*before_refill)(void *ctx, NbError *err);
  void *before_refill_ctx;
} JsonReader;

/* buf_size: bytes per read (>= 1).  Returns NB_OK or NB_NOMEM. */
int json_reader_init(JsonReader *r, JsonFormat format, uint32_t max_depth,
                     size_t buf_size, JsonReadFn read, void *read_ctx,
                     const char *path, NbError *err);
void json_reader_free(JsonReader *r);

/* Continue at a saved position: the caller has already skipped `offset`
 * bytes of the file (the read callback continues after them). */
void json_reader_resume(JsonReader *r, uint64_t offset, uint64_t line,
                        uint64_t line_start, uint64_t record,
                        JsonFormat format, JsonArrayState array_state);

/* Make sure data is buffered: the first bytes (byte-order mark, format
 * detection), or a refill when everything buffered was consumed (after a
 * resume).  Peek does it when needed.  Returns NB_OK or the read
 * callback's error. */
int json_reader_begin(JsonReader *r, NbError *err);

/* The next record, not consumed.  NB_OK: *value (and, for an object,
 * r->parser.members) valid until the next call; NB_END: no more records;
 * NB_DATA: a bad record (err: message, file, line, column, raw record),
 * which json_reader_accept skips (in an array document the rest of the
 * document is skipped: NB_END follows); NB_IO, NB_DATA from the read
 * callback, NB_NOMEM. */
int json_reader_peek(JsonReader *r, JsonValue *value, NbError *err);

/* Consume the record the last peek returned (good or bad).  Inline: it
 * runs once per record. */
static inline void json_reader_accept(JsonReader *r) { r->cur = r->next; }

/* File offset (decompressed bytes) of the cursor. */
static inline uint64_t json_reader_offset(const JsonReader *r) {
  return r->base + r->cur.pos;
}

/* The resume position of the cursor: offset, line, record, line_start,
 * format, array state. */
#define JSON_POSITION_VALUES 6
void json_reader_position(const JsonReader *r,
                          uint64_t values[JSON_POSITION_VALUES]);

#endif /* JSON_READER_H */
