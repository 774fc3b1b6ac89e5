/*
 * json_reader.c - records of one JSON file through a growing buffer (see
 * json_reader.h).
 *
 * The buffer holds the data from the cursor on.  When a record runs past
 * the data read so far, the reader drops the blank space before it, moves
 * the record to the front, doubles the buffer if the record fills it (up
 * to max_record + 1 bytes: one byte more than a record may have, so that
 * an oversized record is seen whatever the read sizes), reads until the
 * buffer is full, and parses the record again: memory stays at about
 * twice the largest record (or the read size), whatever the file size.
 * Reading a pipe, a refill stops at the first short read, so that records
 * are handed over as they arrive (see JsonReader.streaming).
 */
#include "json_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_utf8.h"

int json_reader_init(JsonReader *r, JsonFormat format, uint32_t max_depth,
                     size_t buf_size, JsonReadFn read, void *read_ctx,
                     const char *path, NbError *err) {
  memset(r, 0, sizeof *r);
  r->format = format;
  r->path = path;
  r->read = read;
  r->read_ctx = read_ctx;
  r->cap = buf_size ? buf_size : 1;
  r->io_size = r->cap;
  r->max_record = JSON_DEFAULT_MAX_RECORD;
  r->buf = calloc(r->cap + 1 + JSON_PADDING, 1);
  if (r->buf == NULL || !json_parser_init(&r->parser, max_depth) ||
      !json_parser_reserve(&r->parser, r->cap)) {
    free(r->buf);
    json_parser_free(&r->parser);
    r->buf = NULL;
    return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", path);
  }
  r->cur.line = 1;
  return NB_OK;
}

void json_reader_free(JsonReader *r) {
  if (r == NULL) return;
  free(r->buf);
  free(r->failed_message);
  json_parser_free(&r->parser);
  memset(r, 0, sizeof *r);
}

void json_reader_resume(JsonReader *r, uint64_t offset, uint64_t line,
                        uint64_t line_start, uint64_t record,
                        JsonFormat format, JsonArrayState array_state) {
  r->len = 0;
  r->eof = false;
  r->base = offset;
  r->started = true;
  r->format = format;
  r->cur.pos = 0;
  r->cur.line = line;
  r->cur.line_start = line_start;
  r->cur.record = record;
  r->cur.array_state = array_state;
  r->cur.skip_line = false;
  r->next = r->cur;
}

void json_reader_sample_begin(JsonReader *r) {
  r->sampling = true;
  r->sample = r->cur;
}

void json_reader_sample_end(JsonReader *r) {
  r->sampling = false;
  r->no_refill = false;
  r->cur = r->sample;
  r->next = r->sample;
}

void json_reader_position(const JsonReader *r,
                          uint64_t values[JSON_POSITION_VALUES]) {
  values[0] = json_reader_offset(r);
  values[1] = r->cur.line;
  values[2] = r->cur.record;
  values[3] = r->cur.line_start;
  values[4] = (uint64_t)r->format;
  values[5] = (uint64_t)r->cur.array_state;
}

/* The stream error of a failed read, again. */
static int repeat_failure(const JsonReader *r, NbError *err) {
  nb_error_set(err, r->failed, "%s",
               r->failed_message ? r->failed_message : "out of memory");
  nb_error_locate(err, r->path, (int64_t)r->cur.line, 0);
  nb_error_detail(err, "Reading stopped at line %llu: the records before it were delivered, "
                  "nothing after it can be read.", (unsigned long long)r->cur.line);
  return r->failed;
}

/* The read callback failed with rc (err filled): remember it as the end
 * of the stream (see json_reader_peek). */
static void remember_failure(JsonReader *r, int rc, NbError *err) {
  const char *msg = err != NULL ? err->message : NULL;
  r->failed = rc == NB_DATA || rc == NB_OK || rc == NB_END ? NB_IO : rc;
  free(r->failed_message);
  if (msg != NULL) {
    r->failed_message = strdup(msg);
  } else {
    char text[512];
    snprintf(text, sizeof text, "could not read file \"%s\"", r->path);
    r->failed_message = strdup(text);
  }
  nb_error_release(err);
}

/* Drop the buffered data before the cursor (or the sample's start). */
static void compact(JsonReader *r) {
  size_t from = r->sampling && r->sample.pos < r->cur.pos ? r->sample.pos : r->cur.pos;
  if (from == 0) return;
  memmove(r->buf, r->buf + from, r->len - from);
  r->base += from;
  r->len -= from;
  r->cur.pos -= from;
  r->next = r->cur; /* no peeked record survives a move */
  if (r->sampling) r->sample.pos -= from;
}

/* The buffer is full of one record (or of the sample): double it, up to
 * the limit of JsonReader.max_record.  NB_END: a sample at its limit. */
static int grow(JsonReader *r, NbError *err) {
  size_t limit = r->max_record < SIZE_MAX / 4 ? r->max_record + 1 : SIZE_MAX / 4;
  if (limit < r->io_size) limit = r->io_size;
  if (r->sampling) limit += r->io_size;
  if (r->cap >= limit) {
    if (r->sampling) return NB_END;
    /* Cannot happen: peek reports an oversized record before it reads. */
    return nb_error_set(err, NB_INTERNAL, "JSON reader of file \"%s\": buffer full at %zu bytes",
                        r->path, r->cap);
  }
  size_t cap = r->cap <= limit / 2 ? r->cap * 2 : limit;
  char *b = realloc(r->buf, cap + 1 + JSON_PADDING);
  if (b != NULL) r->buf = b;
  /* The parser's scratch area: the buffer's size, once (see
   * json_parser_reserve), not a power of two above it. */
  if (b == NULL || !json_parser_reserve(&r->parser, cap))
    return nb_error_set(err, NB_NOMEM,
                        "out of memory: a record at line %llu of file \"%s\" needs more than %zu bytes",
                        (unsigned long long)r->cur.line, r->path, r->cap);
  r->cap = cap;
  return NB_OK;
}

/* Keep the data from the cursor on, grow the buffer when that data fills
 * it, and read until the buffer is full, the file ends, or (streaming) a
 * read comes back short.  A read error after some bytes came in is kept
 * for the next refill: those bytes are parsed first. */
static int refill(JsonReader *r, NbError *err) {
  if (r->failed != NB_OK) return repeat_failure(r, err);
  if (r->before_refill != NULL) {
    int rc = r->before_refill(r->before_refill_ctx, err);
    if (rc != NB_OK) return rc;
  }
  compact(r);
  if (r->len == r->cap) {
    int rc = grow(r, err);
    if (rc != NB_OK) {
      memset(r->buf + r->len, 0, 1 + JSON_PADDING);
      return rc;
    }
  }
  size_t before = r->len;
  r->idle = false;
  while (r->len < r->cap && !r->eof) {
    size_t want = r->cap - r->len, n = 0;
    int rc = r->read(r->read_ctx, r->buf + r->len, want, &n, err);
    if (rc == NB_OK && n > want)
      rc = nb_error_set(err, NB_INTERNAL, "the host's file_read returned %zu bytes for a buffer of %zu",
                        n, want);
    if (rc != NB_OK) {
      remember_failure(r, rc, err);
      if (r->len > before) break;
      memset(r->buf + r->len, 0, 1 + JSON_PADDING);
      return repeat_failure(r, err);
    }
    if (n == 0) r->eof = true;
    r->len += n;
    if (r->streaming && n > 0 && n < want) {
      r->idle = true;
      break;
    }
  }
  /* The sentinel, and defined bytes for the word-at-a-time loads. */
  memset(r->buf + r->len, 0, 1 + JSON_PADDING);
  return NB_OK;
}

/* Consume the blank space (space, tab, CR, LF) at the cursor. */
static void skip_blank(JsonReader *r) {
  const char *c = r->buf + r->cur.pos;
  const char *end = r->buf + r->len;
  for (; c < end && (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n'); c++) {
    if (*c == '\n') {
      r->cur.line++;
      r->cur.line_start = r->base + (uint64_t)(c - r->buf) + 1;
    }
  }
  r->cur.pos = (size_t)(c - r->buf);
  r->next = r->cur;
}

/* First bytes of the file: byte-order mark, format detection. */
static int start(JsonReader *r, NbError *err) {
  int rc;
  do {
    rc = refill(r, err);
    if (rc != NB_OK) return rc;
  } while (r->len < 3 && !r->eof);
  r->started = true;
  if (r->base == 0 && r->cur.pos == 0 && r->len >= 3 &&
      memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
    /* RFC 8259 section 8.1: parsers MAY ignore a byte-order mark. */
    r->cur.pos = 3;
    r->cur.line_start = 3;
  }
  while (r->format == JSON_FORMAT_AUTO) {
    skip_blank(r);
    if (r->cur.pos == r->len && !r->eof) {
      /* Only blank space so far: consumed, read on. */
      rc = refill(r, err);
      if (rc != NB_OK) return rc;
      continue;
    }
    r->format = r->buf[r->cur.pos] == '[' ? JSON_FORMAT_ARRAY : JSON_FORMAT_LINES;
  }
  r->cur.array_state = JSON_ARRAY_START;
  return NB_OK;
}

/* The cursor moved from cur to p (a pointer into buf) over the parse that
 * just ended: count its lines. */
static JsonCursor advance(const JsonReader *r, const char *p) {
  JsonCursor c = r->cur;
  c.pos = (size_t)(p - r->buf);
  c.line += r->parser.newlines;
  if (r->parser.last_newline != NULL)
    c.line_start = r->base + (uint64_t)(r->parser.last_newline - r->buf) + 1;
  return c;
}

/* Newlines in [from, to), and the last one (NULL if none). */
static uint64_t count_lines(const char *from, const char *to,
                            const char **last) {
  uint64_t n = 0;
  *last = NULL;
  while (from < to && (from = memchr(from, '\n', (size_t)(to - from))) != NULL) {
    *last = from++;
    n++;
  }
  return n;
}

void json_reader_locate(const JsonReader *r, const char *at, uint64_t *line,
                        uint64_t *column) {
  const char *from = r->buf + r->cur.pos;
  const char *nl;
  *line = r->cur.line;
  *column = 0;
  if (at == NULL || at < from || at > r->buf + r->len) return;
  *line += count_lines(from, at, &nl);
  uint64_t line_start = nl != NULL ? r->base + (uint64_t)(nl - r->buf) + 1 : r->cur.line_start;
  *column = r->base + (uint64_t)(at - r->buf) - line_start + 1;
}

/* Where a bad JSON Lines record ends: the end of the line on which the
 * parser stopped (it may have read past the error, e.g. a trailing comma
 * is found at the bracket after it); NULL if that line is not complete in
 * the buffer. */
static const char *bad_line_end(const JsonReader *r) {
  const JsonParser *p = &r->parser;
  const char *end = r->buf + r->len;
  const char *from = p->error_at;
  if (p->last_newline != NULL && p->last_newline >= from) from = p->last_newline + 1;
  return from < end ? memchr(from, '\n', (size_t)(end - from)) : NULL;
}

/* A hint for a syntax error at `at` that comes from text in another
 * encoding than UTF-8: UTF-16 or UTF-32 (a byte-order mark or a NUL byte
 * in the first two bytes of the file, RFC 4627 section 3) or bytes that
 * are not UTF-8 (often Latin-1 or Windows-1252). */
static void encoding_hint(const JsonReader *r, const char *at, NbError *err) {
  const unsigned char *b = (const unsigned char *)r->buf;
  const char *end = r->buf + r->len;
  size_t bad;
  if (r->base == 0 && r->len >= 2 && at - r->buf < 4 &&
      ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF) ||
       b[0] == 0 || b[1] == 0)) {
    nb_error_hint(err, "The file seems to be in UTF-16 or UTF-32, but JSON text must be UTF-8 (RFC 8259, section 8.1): convert it first, for example with iconv.");
    return;
  }
  if (at < end && (unsigned char)*at >= 0x80 &&
      json_utf8_sequence((const unsigned char *)at, (size_t)(end - at), &bad) == 0)
    nb_error_hint(err, "JSON text must be UTF-8 (RFC 8259, section 8.1): if the file is in another encoding, such as Latin-1 or Windows-1252, convert it first, for example with iconv.");
}

/* Fill err for the syntax error the parser reported, and set r->next
 * after the bad record. */
static int bad_record(JsonReader *r, const char *start, NbError *err) {
  const JsonParser *p = &r->parser;
  const char *end = r->buf + r->len;
  const char *at = p->error_at ? p->error_at : start;
  const char *nl;
  uint64_t line = r->cur.line + count_lines(start, at, &nl);
  uint64_t line_start = nl != NULL ? r->base + (uint64_t)(nl - r->buf) + 1
                                   : r->cur.line_start;
  uint64_t column = r->base + (uint64_t)(at - r->buf) - line_start + 1;
  const char *eol = r->format == JSON_FORMAT_ARRAY
                        ? (at < end ? memchr(at, '\n', (size_t)(end - at)) : NULL)
                        : bad_line_end(r);
  const char *rec = p->record_start ? p->record_start : start;
  const char *rec_end = eol ? eol : end;

  if (rec > at) rec = at;
  if (rec_end > rec && rec_end[-1] == '\r') rec_end--;
  nb_error_set(err, NB_DATA, "invalid JSON in file \"%s\" at line %llu, column %llu: %s",
               r->path, (unsigned long long)line, (unsigned long long)column,
               p->error);
  nb_error_locate(err, r->path, (int64_t)line, (int64_t)column);
  nb_error_record(err, rec, (size_t)(rec_end - rec));
  encoding_hint(r, at, err);

  r->next = r->cur;
  r->next.record++;
  if (r->format == JSON_FORMAT_ARRAY) {
    /* No way to find the next element of a broken document. */
    nb_error_detail(err, "The rest of the array document is skipped: after a syntax error the next element cannot be found.");
    r->next.pos = (size_t)(at - r->buf);
    r->next.line = line;
    r->next.line_start = line_start;
    r->next.array_state = JSON_ARRAY_FAILED;
    return NB_DATA;
  }
  /* JSON Lines: go on with the next line. */
  if (eol == NULL) {
    r->next.pos = r->len;
    r->next.line = line;
    r->next.line_start = line_start;
    return NB_DATA;
  }
  r->next.line = r->cur.line + count_lines(start, eol + 1, &nl);
  r->next.line_start = r->base + (uint64_t)(eol + 1 - r->buf);
  r->next.pos = (size_t)(eol + 1 - r->buf);
  return NB_DATA;
}

int json_reader_begin(JsonReader *r, NbError *err) {
  if (!r->started) return start(r, err);
  /* Sampling (no_refill) must not move the buffer: the caller rewinds to
   * a cursor that points into the data buffered now. */
  if (r->cur.pos == r->len && !r->eof && !r->no_refill) return refill(r, err);
  return NB_OK;
}

/* The record at the cursor is longer than max_record: NB_DATA, and set
 * r->next after it (see json_reader_peek). */
static int oversized(JsonReader *r, NbError *err) {
  const char *rec = r->buf + r->cur.pos;
  const char *end = r->buf + r->len;
  size_t shown = (size_t)(end - rec) < 256 ? (size_t)(end - rec) : 256;
  const char *nl;
  uint64_t lines = count_lines(rec, end, &nl);

  nb_error_set(err, NB_DATA, "record at line %llu of file \"%s\" is longer than %zu bytes",
               (unsigned long long)r->cur.line, r->path, r->max_record);
  nb_error_locate(err, r->path, (int64_t)r->cur.line, 0);
  nb_error_record(err, rec, shown);
  nb_error_hint(err, "Raise the setting \"max_record_bytes\" if such records are expected; otherwise check the file for an unterminated string, object or array.");
  r->next = r->cur;
  r->next.record++;
  if (r->format == JSON_FORMAT_ARRAY) {
    nb_error_detail(err, "The first %zu bytes are attached.  The rest of the array document is skipped: the next element cannot be found without reading this one.",
                    shown);
    r->next.array_state = JSON_ARRAY_FAILED;
    return NB_DATA;
  }
  nb_error_detail(err, "The first %zu bytes are attached.  The record is skipped up to the end of the line where reading stopped (line %llu).",
                  shown, (unsigned long long)(r->cur.line + lines));
  r->next.pos = r->len;
  r->next.line += lines;
  if (nl != NULL) r->next.line_start = r->base + (uint64_t)(nl - r->buf) + 1;
  r->next.skip_line = true;
  return NB_DATA;
}

/* A complete record (r->next after it) longer than max_record. */
static int oversized_whole(JsonReader *r, NbError *err) {
  const char *rec = r->parser.record_start;
  size_t len = (size_t)(r->buf + r->next.pos - rec);
  size_t shown = len < 256 ? len : 256;
  uint64_t line, column;
  json_reader_locate(r, rec, &line, &column);
  nb_error_set(err, NB_DATA, "record at line %llu of file \"%s\" is longer than %zu bytes",
               (unsigned long long)line, r->path, r->max_record);
  nb_error_locate(err, r->path, (int64_t)line, (int64_t)column);
  nb_error_record(err, rec, shown);
  nb_error_hint(err, "Raise the setting \"max_record_bytes\" if such records are expected.");
  if (r->format == JSON_FORMAT_ARRAY) {
    /* As when the record does not fit the buffer: the same outcome
     * whatever the read sizes. */
    nb_error_detail(err, "The first %zu bytes are attached.  The rest of the array document is skipped.",
                    shown);
    r->next.array_state = JSON_ARRAY_FAILED;
  } else {
    nb_error_detail(err, "The first %zu bytes are attached.  The record is skipped.", shown);
  }
  return NB_DATA;
}

/* JSON Lines after an oversized record: drop the buffered bytes up to the
 * next '\n' included.  Returns true when the line ended. */
static bool skip_rest_of_line(JsonReader *r) {
  const char *c = r->buf + r->cur.pos;
  const char *nl = memchr(c, '\n', r->len - r->cur.pos);
  if (nl == NULL) {
    r->cur.pos = r->len;
    if (r->eof) r->cur.skip_line = false;
  } else {
    r->cur.pos = (size_t)(nl + 1 - r->buf);
    r->cur.line++;
    r->cur.line_start = r->base + r->cur.pos;
    r->cur.skip_line = false;
  }
  r->next = r->cur;
  return !r->cur.skip_line;
}

/* The record at the cursor goes on past the data buffered: drop the
 * blank space before it, check its size, and read more.  NB_OK to parse
 * again; JSON_READER_IDLE; NB_DATA (oversized; r->next set); errors. */
static int read_more(JsonReader *r, NbError *err) {
  if (!r->cur.skip_line) {
    skip_blank(r);
    if (r->len - r->cur.pos > r->max_record) return oversized(r, err);
  }
  if (r->stop_when_idle && r->idle) return JSON_READER_IDLE;
  return refill(r, err);
}

int json_reader_peek(JsonReader *r, JsonValue *value, NbError *err) {
  int rc;
  if (!r->started) {
    rc = start(r, err);
    if (rc != NB_OK) return rc;
  }
  for (;;) {
    if (r->cur.pos > r->len)
      return nb_error_set(err, NB_INTERNAL, "JSON reader of file \"%s\": cursor %zu past the %zu bytes buffered",
                          r->path, r->cur.pos, r->len);
    if (r->cur.skip_line && !skip_rest_of_line(r)) {
      if (r->no_refill) return NB_END;
      rc = read_more(r, err);
      if (rc != NB_OK) return rc;
      continue;
    }
    /* Nearly always data is buffered. */
    if (r->cur.pos == r->len && !r->eof) {
      if (r->no_refill) return NB_END;
      rc = read_more(r, err);
      if (rc != NB_OK) return rc;
      continue;
    }
    const char *s = r->buf + r->cur.pos;
    const char *end = r->buf + r->len;
    const char *next = s;
    JsonArrayState state = r->cur.array_state;
    JsonResult res;

    if (r->format == JSON_FORMAT_ARRAY)
      res = json_parse_array_step(&r->parser, &state, s, end, r->eof, value,
                                  &next);
    else
      res = json_parse_line(&r->parser, s, end, r->eof, value, &next);

    switch (res) {
      case JSON_OK:
        r->next = advance(r, next);
        r->next.record++;
        r->next.array_state = state;
        /* The same limit whether or not the record fitted the buffer. */
        if ((size_t)(next - r->parser.record_start) > r->max_record)
          return oversized_whole(r, err);
        return NB_OK;
      case JSON_END:
        /* Whitespace (and maybe a closing bracket) up to the data's end:
         * consumed for good. */
        r->cur = advance(r, next);
        r->cur.array_state = state;
        r->next = r->cur;
        if (r->eof || r->no_refill || state == JSON_ARRAY_FAILED) return NB_END;
        break;
      case JSON_NEED_MORE:
        if (r->no_refill) return NB_END;
        break;
      case JSON_SYNTAX:
        /* A JSON Lines record is skipped up to the end of the line the
         * error is on: read until that line is complete. */
        if (r->format != JSON_FORMAT_ARRAY && !r->eof && bad_line_end(r) == NULL) {
          if (r->no_refill) return NB_END;
          break;
        }
        return bad_record(r, s, err);
      case JSON_NOMEM:
      default:
        return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", r->path);
    }
    if (r->eof) {
      /* Cannot happen: the parser only asks for more before the end. */
      return nb_error_set(err, NB_INTERNAL, "JSON parser asked for more data at the end of file \"%s\"",
                          r->path);
    }
    rc = read_more(r, err);
    if (rc != NB_OK) return rc;
  }
}
