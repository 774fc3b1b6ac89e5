/*
 * json_reader.c - records of one JSON file through a growing buffer (see
 * json_reader.h).
 *
 * The buffer holds the data from the cursor on.  When a record runs past
 * the data read so far, the reader moves the record to the front, doubles
 * the buffer if the record fills it, reads until the buffer is full, and
 * parses the record again: memory stays at about twice the largest record
 * (or the read size), whatever the file size.
 */
#include "json_reader.h"

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
  r->buf = calloc(r->cap + 1 + JSON_PADDING, 1);
  if (r->buf == NULL || !json_parser_init(&r->parser, max_depth)) {
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
  r->next = r->cur;
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

/* Keep the data from the cursor on, grow the buffer when that data fills
 * it, and read until the buffer is full or the file ends. */
static int refill(JsonReader *r, NbError *err) {
  if (r->before_refill != NULL) {
    int rc = r->before_refill(r->before_refill_ctx, err);
    if (rc != NB_OK) return rc;
  }
  if (r->cur.pos > 0) {
    memmove(r->buf, r->buf + r->cur.pos, r->len - r->cur.pos);
    r->base += r->cur.pos;
    r->len -= r->cur.pos;
    r->cur.pos = 0;
  }
  if (r->len == r->cap) {
    size_t cap = r->cap * 2;
    if (cap < r->cap) return nb_error_set(err, NB_NOMEM, "record too large in file \"%s\"", r->path);
    char *b = realloc(r->buf, cap + 1 + JSON_PADDING);
    if (b == NULL)
      return nb_error_set(err, NB_NOMEM,
                          "out of memory: a record at line %llu of file \"%s\" needs more than %zu bytes",
                          (unsigned long long)r->cur.line, r->path, cap);
    r->buf = b;
    r->cap = cap;
  }
  while (r->len < r->cap && !r->eof) {
    size_t n = 0;
    int rc = r->read(r->read_ctx, r->buf + r->len, r->cap - r->len, &n, err);
    if (rc != NB_OK) return rc;
    if (n == 0) r->eof = true;
    r->len += n;
  }
  /* The sentinel, and defined bytes for the word-at-a-time loads. */
  memset(r->buf + r->len, 0, 1 + JSON_PADDING);
  return NB_OK;
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
    const char *c = r->buf + r->cur.pos;
    while (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') c++;
    if (c == r->buf + r->len && !r->eof) {
      /* Only whitespace so far: read on (the buffer grows). */
      rc = refill(r, err);
      if (rc != NB_OK) return rc;
      continue;
    }
    r->format = *c == '[' ? JSON_FORMAT_ARRAY : JSON_FORMAT_LINES;
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

int json_reader_peek(JsonReader *r, JsonValue *value, NbError *err) {
  int rc;
  /* Nearly always data is buffered: json_reader_begin is called only when
   * it may have something to do (its own tests, without the call). */
  if (!r->started || (r->cur.pos == r->len && !r->eof && !r->no_refill)) {
    rc = json_reader_begin(r, err);
    if (rc != NB_OK) return rc;
  }
  for (;;) {
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
    rc = refill(r, err);
    if (rc != NB_OK) return rc;
  }
}
