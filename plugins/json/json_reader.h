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
  bool skip_line;          /* JSON Lines: drop bytes up to the next '\n'
                            * (the rest of an oversized record) */
} JsonCursor;

/* Default of JsonReader.max_record. */
#define JSON_DEFAULT_MAX_RECORD ((size_t)64 << 20)

/* json_reader_peek with stop_when_idle: no complete record is buffered and
 * the last read of a pipe came back short (nothing more available now). */
#define JSON_READER_IDLE 1000

typedef struct JsonReader {
  JsonFormat format;       /* AUTO until the first bytes are seen */
  const char *path;        /* for messages; borrowed */
  JsonReadFn read;
  void *read_ctx;

  char *buf;               /* cap bytes + '\0' + JSON_PADDING */
  size_t cap;
  size_t io_size;          /* the first cap: bytes asked per read */
  /* Longest record accepted (bytes from its first non-blank byte to its
   * end); a longer one is a bad record (see json_reader_peek).  The
   * buffer never grows past max(io_size, max_record + 1) bytes, or
   * io_size more while sampling.  Set after init; default
   * JSON_DEFAULT_MAX_RECORD. */
  size_t max_record;
  size_t len;              /* valid bytes in buf */
  bool eof;                /* read returned 0 */
  uint64_t base;           /* file offset of buf[0] */
  bool started;            /* first fill, BOM and format detection done */

  JsonCursor cur;          /* before the next record */
  JsonCursor next;         /* after the peeked record */

  bool no_refill;          /* sampling: stop (JSON_END) instead of reading */

  /* A pipe or terminal: a read that comes back short (less than asked,
   * not the end) means nothing more is available now; set idle, and with
   * stop_when_idle (a caller that has records to hand over) peek returns
   * JSON_READER_IDLE instead of waiting in the next read. */
  bool streaming;
  bool idle;
  bool stop_when_idle;

  /* json_reader_sample_begin/end: the data from `sample` on is kept
   * across refills, so that the caller can rewind to it. */
  bool sampling;
  JsonCursor sample;

  /* A failed read ends the stream: its status (NB_IO for corrupt or
   * truncated input, which the file layer reports as NB_DATA; see
   * json_reader_peek) and message, returned again by every later call. */
  int failed;
  char *failed_message;
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
 * document is skipped: NB_END follows); NB_NOMEM.
 *
 * A failure of the read callback is a stream error, never a bad record:
 * r->failed is set and the status is returned by this call and every
 * later one (NB_DATA from the callback, corrupt or truncated compressed
 * input, becomes NB_IO, because NB_DATA would say "skip this record and
 * go on", and there is no record to skip: the damaged data is gone).
 * Records peeked and accepted before it stay valid.
 *
 * Blank space between records is consumed as it is read, never buffered.
 * A record longer than max_record is NB_DATA naming its line (its first
 * bytes attached): in JSON Lines the rest of the line where reading
 * stopped is skipped without buffering it and reading goes on; in an
 * array document the rest of the document is skipped.
 *
 * With stop_when_idle, JSON_READER_IDLE (see streaming). */
int json_reader_peek(JsonReader *r, JsonValue *value, NbError *err);

/* Sampling: records peeked and accepted between begin and end are read
 * again after end.  Peek may refill while no_refill is false (to take in
 * a first record larger than the buffer) and returns NB_END when the
 * sample would need more than max_record + 1 + io_size bytes. */
void json_reader_sample_begin(JsonReader *r);
void json_reader_sample_end(JsonReader *r);

/* Consume the record the last peek returned (good or bad).  Inline: it
 * runs once per record. */
static inline void json_reader_accept(JsonReader *r) { r->cur = r->next; }

/* Line and byte column of `at`, a pointer into the data of the record the
 * last peek returned (e.g. a JsonValue.raw); the cursor's line and column
 * 0 if it is not there. */
void json_reader_locate(const JsonReader *r, const char *at, uint64_t *line,
                        uint64_t *column);

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
