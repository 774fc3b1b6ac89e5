/*
 * csv_reader.c - the streaming CSV record parser declared in csv_reader.h.
 *
 * Memory: one buffer of at least block_size bytes holding the input from
 * the start of the current record (or of the mark) to what was read last.
 * A record that does not fit grows the buffer up to max_record_bytes; the
 * buffer never holds more than the longest record plus one block (plus the
 * marked batch when a mark is set).
 *
 * Parsing restarts at the start of the record when the buffer runs out in
 * the middle of it: the record is parsed again after the refill.  That
 * happens once per block, so the parser itself needs no state that lives
 * across reads, which keeps the hot loop simple.
 *
 * Speed: the parser never scans bytes one by one.  It keeps a window of 64
 * buffer bytes and the bitmask of the special ones among them (delimiter,
 * quote, CR, LF; csv_scan_mask64), and next_special jumps from one field
 * boundary to the next with a shift and a count-trailing-zeros.  A window
 * is built once per 64 bytes of input, so the cost per field is a handful
 * of instructions whatever its length.  The buffer keeps WINDOW_PAD
 * zeroed bytes after the data so that a window near the end can load 64
 * bytes (the bits past the data are masked off).
 */
#include "csv_reader.h"

#include <stdlib.h>
#include <string.h>

#include "csv_scan.h"

#define DEFAULT_BLOCK (1u << 20)
#define WINDOW 64
#define WINDOW_PAD WINDOW
#define DEFAULT_MAX_RECORD ((size_t)64 << 20)
#define DEFAULT_MAX_FIELDS ((size_t)16384)
/* The most raw bytes of an over-long record attached to its error. */
#define MAX_ERROR_RECORD ((size_t)64 << 10)

/* Internal field flag: the field is quoted and must be rewritten (doubled
 * quotes, or bytes after the closing quote); data/len hold the raw bytes
 * including the opening quote until decode_fields runs. */
#define FIELD_DECODE 0x100u

enum { PARSE_OK, PARSE_MORE, PARSE_BAD, PARSE_NOMEM, PARSE_WIDE };
enum { BAD_NONE, BAD_UNTERMINATED, BAD_STRAY_QUOTE, BAD_AFTER_QUOTE };

struct CsvReader {
  CsvInput in;
  char *name;
  char delim;
  char quote;
  bool strict;
  bool skip_blank;
  CsvScanner scan;

  char *buf;
  size_t cap;          /* usable bytes of buf (WINDOW_PAD more are allocated) */
  size_t len;          /* valid bytes in buf */
  size_t pos;          /* start of the next record in buf */
  size_t block;
  size_t max_record;
  size_t max_fields;
  bool eof;
  bool streaming;      /* a pipe: a short read means nothing more for now */
  bool idle;           /* streaming, and the last read was short */
  bool stop_when_idle; /* csv_reader_next returns CSV_READER_IDLE then */
  bool failed;         /* the input failed: every later read fails too */
  char *fail_message;  /* the failure's message, repeated later (owned) */
  bool bom_checked;
  bool discard_pending; /* drop the rest of an over-long line first */
  uint64_t base;       /* input offset of buf[0] */
  int64_t line;        /* line of the record at pos */

  /* The scan window: buf[win_off, win_off + win_len) has its special
   * bytes in win_mask (bit i for buf[win_off + i]).  win_len is 0 when
   * there is no window (after the buffer moved or was refilled). */
  size_t win_off;
  size_t win_len;
  uint64_t win_mask;
  bool win_non_ascii;  /* the window's bytes include one >= 0x80 */

  uint64_t last_offset; /* start of the record last returned */
  int64_t last_line;

  bool marked;
  uint64_t mark_limit;  /* most bytes kept from the mark on; 0: no limit */
  uint64_t mark_offset;
  int64_t mark_line;

  CsvField *fields;
  size_t fields_cap;
  char *scratch;       /* undoubled quoted fields of the current record */
  size_t scratch_cap;

  /* Results of parse_record. */
  int bad;
  size_t bad_column;
  size_t rec_fields;
  size_t rec_raw_len;
  size_t rec_next;
  int64_t rec_lines;
  bool rec_decode;
  bool rec_non_ascii;
};

int csv_reader_new(const CsvReaderOptions *options, const CsvInput *input,
                   const char *name, CsvReader **out, NbError *err) {
  CsvReader *r = calloc(1, sizeof *r);
  *out = NULL;
  if (r == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  r->in = *input;
  r->delim = options->delimiter;
  r->quote = options->quote;
  r->strict = options->strict;
  r->block = options->block_size ? options->block_size : DEFAULT_BLOCK;
  r->max_record = options->max_record_bytes ? options->max_record_bytes
                                            : DEFAULT_MAX_RECORD;
  r->max_fields = options->max_fields ? options->max_fields : DEFAULT_MAX_FIELDS;
  r->line = 1;
  csv_scanner_init(&r->scan, r->delim, r->quote);
  r->name = strdup(name != NULL ? name : "");
  r->cap = r->block;
  r->buf = calloc(1, r->cap + WINDOW_PAD);
  r->fields_cap = r->max_fields < 16 ? r->max_fields : 16;
  r->fields = malloc(r->fields_cap * sizeof *r->fields);
  if (r->name == NULL || r->buf == NULL || r->fields == NULL) {
    csv_reader_free(r);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  *out = r;
  return NB_OK;
}

void csv_reader_free(CsvReader *r) {
  if (r == NULL) return;
  free(r->name);
  free(r->fail_message);
  free(r->buf);
  free(r->fields);
  free(r->scratch);
  free(r);
}

void csv_reader_skip_blank_lines(CsvReader *r, bool skip) { r->skip_blank = skip; }

uint64_t csv_reader_offset(const CsvReader *r) { return r->base + r->pos; }
int64_t csv_reader_line(const CsvReader *r) { return r->line; }
uint64_t csv_reader_record_offset(const CsvReader *r) { return r->last_offset; }

void csv_reader_unread(CsvReader *r) {
  r->pos = (size_t)(r->last_offset - r->base);
  r->line = r->last_line;
}

void csv_reader_mark(CsvReader *r) { csv_reader_mark_within(r, 0); }

void csv_reader_mark_within(CsvReader *r, uint64_t limit) {
  r->marked = true;
  r->mark_limit = limit;
  r->mark_offset = r->base + r->pos;
  r->mark_line = r->line;
}

void csv_reader_rewind(CsvReader *r) {
  if (!r->marked) return;
  r->pos = (size_t)(r->mark_offset - r->base);
  r->line = r->mark_line;
  r->discard_pending = false;
}

void csv_reader_unmark(CsvReader *r) {
  r->marked = false;
  r->mark_limit = 0;
}

/* ------------------------------------------------------------------------
 * Input
 * ------------------------------------------------------------------------ */

/* The input failed (a read error, or corrupt or truncated compressed data,
 * which the host's file_read reports as NB_DATA): that is the end of the
 * stream, not a bad record.  NB_DATA would tell the caller that the reader
 * is past a bad record and can go on, and a caller that skips bad records
 * would ask again at the same place forever.  So the failure becomes NB_IO
 * (its message kept, any line or column dropped) and the reader stays
 * failed: every later attempt to read returns NB_IO again without calling
 * the input (records already in the buffer, after a rewind, are still
 * returned first). */
static int input_failed(CsvReader *r, int rc, NbError *err) {
  r->failed = true;
  if (rc == NB_NOMEM || rc == NB_CANCELLED) return rc;
  if (err != NULL && err->message == NULL)
    nb_error_set(err, NB_IO, "could not read file \"%s\" (%s)", r->name, nb_status_name(rc));
  if (err != NULL && err->struct_size >= offsetof(NbError, column) + sizeof err->column) {
    err->code = NB_IO;
    err->line = 0;
    err->column = 0;
  }
  if (err != NULL && err->message != NULL && r->fail_message == NULL)
    r->fail_message = strdup(err->message);
  return NB_IO;
}

static int input_read(CsvReader *r, char *buf, size_t cap, size_t *n, NbError *err) {
  int rc = r->in.read(r->in.ctx, buf, cap, n, err);
  return rc == NB_OK ? NB_OK : input_failed(r, rc, err);
}

/* A read after the input failed: the same failure again. */
static int report_failed(const CsvReader *r, NbError *err) {
  if (r->fail_message != NULL)
    nb_error_set(err, NB_IO, "%s", r->fail_message);
  else
    nb_error_set(err, NB_IO, "could not read file \"%s\"", r->name);
  nb_error_detail(err, "Reading stopped at byte %llu, where an earlier read of the file failed.",
                  (unsigned long long)(r->base + r->len));
  return NB_IO;
}

/* Move the bytes still needed (from the record start, or from the mark) to
 * the front, make room for at least half a block, and read once. */
static int refill(CsvReader *r, NbError *err) {
  size_t keep = r->pos;
  size_t free_bytes;
  size_t n = 0;
  int rc;

  if (r->failed) return report_failed(r, err);
  if (r->marked && r->mark_offset - r->base < keep)
    keep = (size_t)(r->mark_offset - r->base);
  if (keep > 0) {
    memmove(r->buf, r->buf + keep, r->len - keep);
    r->len -= keep;
    r->pos -= keep;
    r->base += keep;
  }
  r->win_len = 0;
  /* buf now starts at the mark when there is one (keep stopped there). */
  if (r->marked && r->mark_limit > 0 && r->len >= r->mark_limit) {
    nb_error_set(err, NB_INVALID,
                 "more than %llu bytes of file \"%s\" from line %lld on would have to be "
                 "kept in memory",
                 (unsigned long long)r->mark_limit, r->name, (long long)r->mark_line);
    return CSV_READER_MARK_FULL;
  }
  free_bytes = r->cap - r->len;
  if (free_bytes == 0 || free_bytes < r->block / 2) {
    size_t want = r->cap * 2;
    char *grown;
    if (want < r->len + r->block) want = r->len + r->block;
    grown = realloc(r->buf, want + WINDOW_PAD);
    if (grown == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    r->buf = grown;
    r->cap = want;
  }
  size_t want = r->cap - r->len;
  /* A bounded look-ahead never reads past its limit. */
  if (r->marked && r->mark_limit > 0 && r->mark_limit - r->len < want)
    want = (size_t)(r->mark_limit - r->len);
  r->idle = false;
  rc = input_read(r, r->buf + r->len, want, &n, err);
  if (rc != NB_OK) return rc;
  if (n == 0)
    r->eof = true;
  else
    r->len += n;
  r->idle = r->streaming && n > 0 && n < want;
  memset(r->buf + r->len, 0, WINDOW_PAD);
  return NB_OK;
}

/* Read until three bytes decide whether a BOM starts the input, but no
 * longer than the bytes so far could begin one: a pipe whose first line is
 * "x\n" must not wait for more (issue 9, item 12). */
static int skip_bom(CsvReader *r, NbError *err) {
  while (r->len - r->pos < 3 && !r->eof &&
         memcmp(r->buf + r->pos, "\xEF\xBB\xBF", r->len - r->pos) == 0) {
    int rc = refill(r, err);
    if (rc != NB_OK) return rc;
  }
  if (r->len - r->pos >= 3 && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
    r->pos += 3;
  r->bom_checked = true;
  return NB_OK;
}

/* The first CR or LF in [p, end), or NULL. */
static const char *find_line_break(const char *p, const char *end) {
  const char *lf = memchr(p, '\n', (size_t)(end - p));
  const char *cr = memchr(p, '\r', (size_t)((lf != NULL ? lf : end) - p));
  return cr != NULL ? cr : lf;
}

/* Offset in buf just after the line break at brk (CRLF counts as one). */
static size_t after_line_break(const CsvReader *r, const char *brk) {
  const char *end = r->buf + r->len;
  if (*brk == '\r' && brk + 1 < end && brk[1] == '\n') brk++;
  return (size_t)(brk + 1 - r->buf);
}

/* After an over-long record whose line end was not in the buffer: drop
 * input up to and including the next line break. */
static int discard_line(CsvReader *r, NbError *err) {
  bool move_mark = r->marked && r->mark_offset == r->base + r->pos;
  for (;;) {
    const char *brk = find_line_break(r->buf + r->pos, r->buf + r->len);
    int rc;
    if (brk != NULL) {
      r->pos = after_line_break(r, brk);
      break;
    }
    r->pos = r->len;
    if (move_mark) r->mark_offset = r->base + r->pos;
    if (r->eof) break;
    rc = refill(r, err);
    if (rc != NB_OK) return rc;
  }
  r->discard_pending = false;
  if (move_mark) {
    r->mark_offset = r->base + r->pos;
    r->mark_line = r->line;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------ */

/* Room for more fields, up to max_fields: the fields array costs 24 bytes
 * per field, and a line of commas must not cost 24 bytes per byte.
 * Returns 0, -1 (out of memory) or 1 (the record has too many fields). */
static int grow_fields(CsvReader *r) {
  size_t cap = r->fields_cap * 2;
  CsvField *f;
  if (r->fields_cap >= r->max_fields) return 1;
  if (cap > r->max_fields) cap = r->max_fields;
  f = realloc(r->fields, cap * sizeof *f);
  if (f == NULL) return -1;
  r->fields = f;
  r->fields_cap = cap;
  return 0;
}

/* The scan window while a record is parsed (pointers are valid because
 * the buffer does not move during parse_record). */
typedef struct Window {
  const char *start;
  size_t len;
  uint64_t mask;
  bool non_ascii;      /* this window has a byte >= 0x80 */
  bool seen_non_ascii; /* so had a window built for this record, or the
                          one it starts in */
} Window;

/* The first special byte in [p, end), or end; end is buf + len.  Moves the
 * window forward when p is past it. */
static inline __attribute__((always_inline)) const char *next_special(
    Window *w, const CsvScanner *scan, const char *p, const char *end) {
  for (;;) {
    size_t i = (size_t)(p - w->start); /* wraps around when p < start */
    if (i < w->len) {
      uint64_t m = w->mask >> i;
      if (m != 0) return p + __builtin_ctzll(m);
      p = w->start + w->len;
    }
    if (p >= end) return end;
    w->start = p;
    w->len = (size_t)(end - p) < WINDOW ? (size_t)(end - p) : WINDOW;
    w->mask = csv_scan_mask64_ascii(scan, p, w->len, &w->non_ascii);
    w->seen_non_ascii |= w->non_ascii;
  }
}

/*
 * Parse the record at r->pos.  The hot loop: every field is either quoted
 * (next_special to the next quote, counting the line breaks met on the
 * way; a doubled quote continues the field) or unquoted (next_special to
 * the next delimiter, quote, CR or LF).  So the branchy code runs once per
 * special byte, not per byte.  Fields are recorded as pointers into the
 * buffer; only quoted fields with doubled quotes are copied (later, by
 * decode_fields).  Everything the loop uses is in locals: stores to the
 * fields array could otherwise alias the reader's members.
 *
 * Returns PARSE_MORE when the record may continue past the bytes in the
 * buffer (the caller refills and calls again from the same start),
 * PARSE_BAD for a quote not closed before the end of input, and PARSE_OK
 * with rec_* set.  Strict-mode violations are noted in r->bad but the
 * record is parsed to its end, so reading can resume after it.
 */
static int parse_fields(CsvReader *r, Window *w) {
  const CsvScanner *scan = &r->scan;
  const char *const start = r->buf + r->pos;
  const char *const end = r->buf + r->len;
  const char quote = r->quote;
  const char delim = r->delim;
  const bool eof = r->eof;
  const bool strict = r->strict;
  CsvField *fields = r->fields;
  size_t fields_cap = r->fields_cap;
  size_t nf = 0;
  const char *p = start;
  int64_t lines = 1;
  bool decode = false;
  int bad = BAD_NONE;
  size_t bad_column = 0;

  for (;;) {
    CsvField *f;
    const char *s;
    /* Fast lane: unquoted fields that end with a delimiter inside the
     * window, one count-trailing-zeros each.  Anything else (a quote, a
     * line break, the end of the window) leaves to the general code. */
    size_t i = (size_t)(p - w->start);
    if (i < w->len) {
      uint64_t m = w->mask >> i;
      while (m != 0 && nf < fields_cap) {
        unsigned k = (unsigned)__builtin_ctzll(m);
        if (p[k] != delim || *p == quote) break;
        fields[nf].data = p;
        fields[nf].len = k;
        fields[nf].flags = 0;
        nf++;
        p += k + 1;
        m = (m >> k) >> 1;
      }
    }
    if (nf == fields_cap) {
      int grown = grow_fields(r);
      if (grown != 0) return grown > 0 ? PARSE_WIDE : PARSE_NOMEM;
      fields = r->fields;
      fields_cap = r->fields_cap;
    }
    f = &fields[nf++];
    f->flags = 0;
    if (p < end && *p == quote) {
      const char *open = p++;
      for (;;) {
        /* To the closing quote; LF, CRLF and a lone CR each end a line. */
        const char *q = next_special(w, scan, p, end);
        while (q < end && *q != quote) {
          lines += *q == '\n' || (*q == '\r' && q + 1 < end && q[1] != '\n');
          q = next_special(w, scan, q + 1, end);
        }
        if (q == end) {
          if (!eof) return PARSE_MORE;
          r->bad = BAD_UNTERMINATED;
          r->bad_column = nf;
          return PARSE_BAD;
        }
        p = q + 1;
        if (p == end && !eof) return PARSE_MORE;
        if (p < end && *p == quote) {
          f->flags |= FIELD_DECODE;
          p++;
          continue;
        }
        break;
      }
      f->flags |= CSV_FIELD_QUOTED;
      if (p == end || *p == delim || *p == '\n' || *p == '\r') {
        if (f->flags & FIELD_DECODE) {
          f->data = open;
          f->len = (size_t)(p - open);
          decode = true;
        } else {
          f->data = open + 1;
          f->len = (size_t)(p - open) - 2;
        }
        if (p < end && *p == delim) {
          p++;
          continue;
        }
        break;
      }
      /* Bytes after the closing quote: kept literally unless strict. */
      if (strict && bad == BAD_NONE) {
        bad = BAD_AFTER_QUOTE;
        bad_column = nf;
      }
      f->flags |= FIELD_DECODE;
      f->data = open;
      decode = true;
    } else {
      f->data = p;
    }
    /* An unquoted field, or the tail after a closing quote: to the next
     * delimiter or line break (a quote here is kept literally). */
    s = next_special(w, scan, p, end);
    while (s < end && *s == quote) {
      if (strict && bad == BAD_NONE) {
        bad = BAD_STRAY_QUOTE;
        bad_column = nf;
      }
      s = next_special(w, scan, s + 1, end);
    }
    if (s == end && !eof) return PARSE_MORE;
    p = s;
    f->len = (size_t)(p - f->data);
    if (p < end && *p == delim) {
      p++;
      continue;
    }
    break;
  }

  /* p is at the CR or LF ending the record, or at the end of input. */
  r->bad = bad;
  r->bad_column = bad_column;
  r->rec_fields = nf;
  r->rec_raw_len = (size_t)(p - start);
  r->rec_decode = decode;
  if (p < end) {
    if (*p == '\r') {
      if (p + 1 == end && !eof) return PARSE_MORE; /* CR, or CRLF? */
      p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
    } else {
      p++;
    }
  }
  r->rec_next = (size_t)(p - r->buf);
  r->rec_lines = lines;
  return PARSE_OK;
}

/* parse_fields with the reader's scan window, kept for the next record. */
static int parse_record(CsvReader *r) {
  Window w = {r->buf + r->win_off, r->win_len, r->win_mask, r->win_non_ascii,
              r->win_len > 0 && r->win_non_ascii};
  int rc = parse_fields(r, &w);
  r->win_off = (size_t)(w.start - r->buf);
  r->win_len = w.len;
  r->win_mask = w.mask;
  r->win_non_ascii = w.non_ascii;
  r->rec_non_ascii = w.seen_non_ascii;
  return rc;
}

/* Rewrite one quoted field at out: drop the quotes, undouble "", keep any
 * bytes after the closing quote as they are.  Returns the end of output. */
static char *decode_quoted(const char *raw, size_t len, char quote, char *out) {
  const char *p = raw + 1;
  const char *end = raw + len;
  for (;;) {
    const char *q = memchr(p, quote, (size_t)(end - p));
    if (q == NULL) q = end; /* cannot happen: parse saw a closing quote */
    memcpy(out, p, (size_t)(q - p));
    out += q - p;
    if (q + 1 < end && q[1] == quote) {
      *out++ = quote;
      p = q + 2;
      continue;
    }
    p = q < end ? q + 1 : end;
    break;
  }
  memcpy(out, p, (size_t)(end - p));
  return out + (end - p);
}

static int decode_fields(CsvReader *r, size_t raw_len, NbError *err) {
  char *out;
  size_t i;
  if (r->scratch_cap < raw_len) {
    size_t want = r->scratch_cap * 2 > raw_len ? r->scratch_cap * 2 : raw_len;
    char *s = realloc(r->scratch, want);
    if (s == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    r->scratch = s;
    r->scratch_cap = want;
  }
  out = r->scratch;
  for (i = 0; i < r->rec_fields; i++) {
    CsvField *f = &r->fields[i];
    char *value = out;
    if (!(f->flags & FIELD_DECODE)) continue;
    out = decode_quoted(f->data, f->len, r->quote, out);
    f->data = value;
    f->len = (size_t)(out - value);
    f->flags &= ~FIELD_DECODE;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Bad records
 * ------------------------------------------------------------------------ */

static void fill_record(CsvReader *r, CsvRecord *rec, const char *raw,
                        size_t raw_len, int64_t line) {
  rec->fields = r->fields;
  rec->n_fields = r->rec_fields;
  rec->raw = raw;
  rec->raw_len = raw_len;
  rec->line = line;
  rec->ascii = false;
}

/* A quote opened and never closed: report the record's first physical line
 * and resume at the next one. */
static int report_unterminated(CsvReader *r, CsvRecord *rec, NbError *err) {
  const char *start = r->buf + r->pos;
  const char *end = r->buf + r->len;
  const char *brk = find_line_break(start, end);
  const char *line_end = brk != NULL ? brk : end;
  int64_t line = r->line;

  r->last_offset = r->base + r->pos;
  r->last_line = line;
  fill_record(r, rec, start, (size_t)(line_end - start), line);
  rec->n_fields = 0;
  nb_error_set(err, NB_DATA, "unterminated quoted field at line %lld of file \"%s\"",
               (long long)line, r->name);
  nb_error_detail(err,
                  "Field %zu starts with a quote character that is not closed before "
                  "the end of the file.  Reading continues at line %lld.",
                  r->bad_column, (long long)line + 1);
  nb_error_hint(err, "Check the record for a missing or stray quote character.");
  nb_error_locate(err, r->name, line, (int64_t)r->bad_column);
  nb_error_record(err, start, (size_t)(line_end - start));
  r->pos = brk != NULL ? after_line_break(r, brk) : r->len;
  r->line = line + 1;
  return NB_DATA;
}

/* A record longer than max_record bytes, or with more than max_fields
 * fields: report its start and resume after the line break that ends its
 * first physical line. */
static int report_too_big(CsvReader *r, CsvRecord *rec, bool too_many_fields, NbError *err) {
  const char *start = r->buf + r->pos;
  const char *end = r->buf + r->len;
  const char *brk = find_line_break(start, end);
  size_t shown = (size_t)((brk != NULL ? brk : end) - start);
  int64_t line = r->line;

  /* At least max_record + 1 bytes are in the buffer unless the line is
   * shorter, so what is attached does not depend on the buffer size. */
  if (shown > r->max_record) shown = r->max_record;
  if (shown > MAX_ERROR_RECORD) shown = MAX_ERROR_RECORD;
  r->last_offset = r->base + r->pos;
  r->last_line = line;
  fill_record(r, rec, start, shown, line);
  rec->n_fields = 0;
  if (too_many_fields) {
    nb_error_set(err, NB_DATA, "record at line %lld of file \"%s\" has more than %zu fields",
                 (long long)line, r->name, r->max_fields);
    nb_error_hint(err,
                  "Raise the setting max_columns (now %zu) if the file really has that many "
                  "columns: each column costs memory.",
                  r->max_fields);
  } else {
    nb_error_set(err, NB_DATA, "record at line %lld of file \"%s\" is longer than %zu bytes",
                 (long long)line, r->name, r->max_record);
    nb_error_hint(err,
                  "Check the file for an unterminated quoted field, or raise the setting "
                  "max_record_bytes (now %zu).",
                  r->max_record);
  }
  nb_error_detail(err,
                  "The record is skipped up to the end of line %lld; the first %zu bytes "
                  "are attached.",
                  (long long)line, shown);
  nb_error_locate(err, r->name, line, too_many_fields ? (int64_t)r->max_fields + 1 : 0);
  nb_error_record(err, start, shown);
  if (brk != NULL) {
    r->pos = after_line_break(r, brk);
  } else {
    r->pos = r->len;
    r->discard_pending = true;
  }
  r->line = line + 1;
  return NB_DATA;
}

static int report_oversize(CsvReader *r, CsvRecord *rec, NbError *err) {
  return report_too_big(r, rec, false, err);
}

static int report_strict(CsvReader *r, const CsvRecord *rec, NbError *err) {
  if (r->bad == BAD_STRAY_QUOTE) {
    nb_error_set(err, NB_DATA,
                 "unexpected quote character in unquoted field at line %lld of file \"%s\"",
                 (long long)rec->line, r->name);
    nb_error_detail(err,
                    "Field %zu contains a quote character but does not start with one, "
                    "which RFC 4180 does not allow.",
                    r->bad_column);
  } else {
    nb_error_set(err, NB_DATA,
                 "unexpected character after closing quote at line %lld of file \"%s\"",
                 (long long)rec->line, r->name);
    nb_error_detail(err, "Field %zu continues after its closing quote.", r->bad_column);
  }
  nb_error_hint(err, "Set strict = false to read such quote characters literally.");
  nb_error_locate(err, r->name, rec->line, (int64_t)r->bad_column);
  nb_error_record(err, rec->raw, rec->raw_len);
  return NB_DATA;
}

/* ------------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------------ */

void csv_reader_set_streaming(CsvReader *r, bool streaming) { r->streaming = streaming; }

void csv_reader_stop_when_idle(CsvReader *r, bool stop) { r->stop_when_idle = stop; }

/* Before a refill that might wait on a quiet producer. */
static bool stop_for_idle(const CsvReader *r) { return r->stop_when_idle && r->idle && !r->eof; }

int csv_reader_next(CsvReader *r, CsvRecord *rec, NbError *err) {
  int rc;
  if (!r->bom_checked && (rc = skip_bom(r, err)) != NB_OK) return rc;
  if (r->discard_pending && (rc = discard_line(r, err)) != NB_OK) return rc;
  for (;;) {
    int parsed;
    if (r->pos == r->len) {
      if (r->eof) return NB_END;
      if (stop_for_idle(r)) return CSV_READER_IDLE;
      if ((rc = refill(r, err)) != NB_OK) return rc;
      continue;
    }
    parsed = parse_record(r);
    /* A record is too long when its bytes (line end included) exceed
     * max_record, however much of it the buffer happens to hold. */
    if (parsed == PARSE_MORE) {
      if (r->len - r->pos > r->max_record) return report_oversize(r, rec, err);
      if (stop_for_idle(r)) return CSV_READER_IDLE;
      if ((rc = refill(r, err)) != NB_OK) return rc;
      continue;
    }
    if (parsed == PARSE_NOMEM) return nb_error_set(err, NB_NOMEM, "out of memory");
    if (parsed == PARSE_WIDE) return report_too_big(r, rec, true, err);
    if (parsed == PARSE_BAD) {
      if (r->len - r->pos > r->max_record) return report_oversize(r, rec, err);
      return report_unterminated(r, rec, err);
    }
    if (r->rec_next - r->pos > r->max_record) return report_oversize(r, rec, err);

    r->last_offset = r->base + r->pos;
    r->last_line = r->line;
    fill_record(r, rec, r->buf + r->pos, r->rec_raw_len, r->line);
    rec->ascii = !r->rec_non_ascii;
    r->pos = r->rec_next;
    r->line += r->rec_lines;
    if (r->skip_blank && rec->n_fields == 1 && rec->raw_len == 0) continue;
    if (r->bad != BAD_NONE) return report_strict(r, rec, err);
    if (r->rec_decode && (rc = decode_fields(r, rec->raw_len, err)) != NB_OK) return rc;
    return NB_OK;
  }
}

int csv_reader_skip_to(CsvReader *r, uint64_t offset, int64_t line, NbError *err) {
  uint64_t here = r->base + r->pos;
  if (offset < here)
    return nb_error_set(err, NB_INVALID,
                        "cannot move back to offset %llu of file \"%s\": already at %llu",
                        (unsigned long long)offset, r->name, (unsigned long long)here);
  if (offset > 0) r->bom_checked = true;
  r->discard_pending = false;
  r->marked = false;
  r->line = line;
  if (offset <= r->base + r->len) {
    r->pos = (size_t)(offset - r->base);
    return NB_OK;
  }
  {
    uint64_t n = offset - (r->base + r->len);
    r->base = offset;
    r->pos = r->len = 0;
    r->win_len = 0;
    memset(r->buf, 0, WINDOW_PAD);
    if (r->eof) return NB_END;
    if (r->failed) return report_failed(r, err);
    if (r->in.skip != NULL) {
      int rc = r->in.skip(r->in.ctx, n, err);
      return rc == NB_OK || rc == NB_END ? rc : input_failed(r, rc, err);
    }
    while (n > 0) {
      size_t got = 0;
      size_t want = n < r->cap ? (size_t)n : r->cap;
      int rc = input_read(r, r->buf, want, &got, err);
      if (rc != NB_OK) return rc;
      if (got == 0) {
        r->eof = true;
        return NB_END;
      }
      n -= got;
    }
  }
  return NB_OK;
}
