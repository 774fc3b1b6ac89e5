/*
 * pg_pgoutput.c - pgoutput messages and replication frames from untrusted
 * bytes.  The layout follows the "Logical Replication Message Formats"
 * and "Streaming Replication Protocol" chapters of the PostgreSQL manual:
 * integers are big-endian, strings NUL-terminated.
 */
#include "pg_pgoutput.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Reader {
  const unsigned char *p;
  size_t len, off;
  PgoParser *parser;
} Reader;

uint64_t pgo_get_u64(const unsigned char *p) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

uint32_t pgo_get_u32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_u64(unsigned char *p, uint64_t v) {
  int i;
  for (i = 7; i >= 0; i--) {
    p[i] = (unsigned char)(v & 0xff);
    v >>= 8;
  }
}

static int fail(Reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(Reader *r, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(r->parser->error, sizeof r->parser->error, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof r->parser->error - 24)
    snprintf(r->parser->error + n, sizeof r->parser->error - (size_t)n, " (at byte %zu)", r->off);
  return -1;
}

static int need(Reader *r, size_t n, const char *what) {
  if (r->len - r->off < n) return fail(r, "message truncated in %s", what);
  return 0;
}

static int get_u8(Reader *r, uint8_t *v, const char *what) {
  if (need(r, 1, what) != 0) return -1;
  *v = r->p[r->off++];
  return 0;
}

static int get_u16(Reader *r, uint16_t *v, const char *what) {
  if (need(r, 2, what) != 0) return -1;
  *v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
  r->off += 2;
  return 0;
}

static int get_u32(Reader *r, uint32_t *v, const char *what) {
  if (need(r, 4, what) != 0) return -1;
  *v = pgo_get_u32(r->p + r->off);
  r->off += 4;
  return 0;
}

static int get_u64(Reader *r, uint64_t *v, const char *what) {
  if (need(r, 8, what) != 0) return -1;
  *v = pgo_get_u64(r->p + r->off);
  r->off += 8;
  return 0;
}

/* A NUL-terminated string that ends inside the message. */
static int get_string(Reader *r, const char **s, const char *what) {
  const unsigned char *nul = r->off < r->len ? memchr(r->p + r->off, 0, r->len - r->off) : NULL;
  if (nul == NULL) return fail(r, "unterminated %s", what);
  *s = (const char *)(r->p + r->off);
  r->off = (size_t)(nul - r->p) + 1;
  return 0;
}

static int get_tuple(Reader *r, PgoTuple *t, PgoValue *values) {
  uint16_t i;
  if (get_u16(r, &t->n, "tuple column count") != 0) return -1;
  if (t->n > PGO_MAX_COLUMNS) return fail(r, "tuple of %u columns (more than %d)", t->n, PGO_MAX_COLUMNS);
  t->values = values;
  for (i = 0; i < t->n; i++) {
    uint8_t kind;
    PgoValue *v = &values[i];
    if (get_u8(r, &kind, "tuple value kind") != 0) return -1;
    v->kind = (char)kind;
    v->data = NULL;
    v->len = 0;
    if (kind == 'n' || kind == 'u') continue;
    if (kind != 't') return fail(r, "column %u: value kind 0x%02x is not n, u or t", i + 1u, kind);
    if (get_u32(r, &v->len, "value length") != 0) return -1;
    if (v->len > r->len - r->off) return fail(r, "column %u: value of %u bytes past the message end", i + 1u, v->len);
    v->data = (const char *)(r->p + r->off);
    r->off += v->len;
  }
  return 0;
}

static int parse_relation(Reader *r, PgoMessage *m) {
  uint8_t ident;
  uint16_t i;
  if (get_u32(r, &m->relid, "relation id") != 0 || get_string(r, &m->nspname, "namespace") != 0 ||
      get_string(r, &m->relname, "relation name") != 0 || get_u8(r, &ident, "replica identity") != 0 ||
      get_u16(r, &m->ncols, "column count") != 0)
    return -1;
  m->replident = (char)ident;
  if (m->ncols > PGO_MAX_COLUMNS) return fail(r, "relation of %u columns (more than %d)", m->ncols, PGO_MAX_COLUMNS);
  m->cols = r->parser->cols;
  for (i = 0; i < m->ncols; i++) {
    PgoColumn *c = &m->cols[i];
    uint32_t typmod;
    if (get_u8(r, &c->flags, "column flags") != 0 || get_string(r, &c->name, "column name") != 0 ||
        get_u32(r, &c->type_oid, "column type") != 0 || get_u32(r, &typmod, "column type modifier") != 0)
      return -1;
    c->typmod = (int32_t)typmod;
  }
  return 0;
}

static int parse_update_delete(Reader *r, PgoMessage *m) {
  uint8_t kind;
  if (get_u32(r, &m->relid, "relation id") != 0 || get_u8(r, &kind, "tuple marker") != 0) return -1;
  if (kind == 'K' || kind == 'O') {
    m->old_kind = (char)kind;
    if (get_tuple(r, &m->old_tuple, r->parser->old_values) != 0) return -1;
    if (m->type == 'D') return 0;
    if (get_u8(r, &kind, "tuple marker") != 0) return -1;
  } else if (m->type == 'D') {
    return fail(r, "delete without a K or O tuple (marker 0x%02x)", kind);
  }
  if (kind != 'N') return fail(r, "update: tuple marker 0x%02x is not N", kind);
  return get_tuple(r, &m->new_tuple, r->parser->new_values);
}

static int parse_truncate(Reader *r, PgoMessage *m) {
  if (get_u32(r, &m->nrelids, "relation count") != 0 || get_u8(r, &m->truncate_flags, "truncate options") != 0)
    return -1;
  if (m->nrelids > (r->len - r->off) / 4) return fail(r, "truncate of %u relations past the message end", m->nrelids);
  m->relids = r->p + r->off;
  r->off += (size_t)m->nrelids * 4;
  return 0;
}

static int parse_body(Reader *r, PgoMessage *m) {
  uint64_t u64;
  uint32_t u32;
  uint8_t u8;
  const char *s;
  switch (m->type) {
    case 'B':
      if (get_u64(r, &m->lsn, "final LSN") != 0 || get_u64(r, &u64, "commit time") != 0 ||
          get_u32(r, &m->xid, "transaction id") != 0)
        return -1;
      m->timestamp = (int64_t)u64;
      return 0;
    case 'C':
      if (get_u8(r, &u8, "commit flags") != 0 || get_u64(r, &m->lsn, "commit LSN") != 0 ||
          get_u64(r, &m->end_lsn, "end LSN") != 0 || get_u64(r, &u64, "commit time") != 0)
        return -1;
      m->timestamp = (int64_t)u64;
      return 0;
    case 'O':
      return get_u64(r, &u64, "origin LSN") != 0 || get_string(r, &s, "origin name") != 0 ? -1 : 0;
    case 'M': /* logical decoding message: skipped whole */
      r->off = r->len;
      return 0;
    case 'R':
      return parse_relation(r, m);
    case 'Y':
      return get_u32(r, &m->relid, "type id") != 0 || get_string(r, &m->nspname, "type namespace") != 0 ||
                     get_string(r, &m->relname, "type name") != 0 ? -1 : 0;
    case 'I':
      if (get_u32(r, &m->relid, "relation id") != 0 || get_u8(r, &u8, "tuple marker") != 0) return -1;
      if (u8 != 'N') return fail(r, "insert: tuple marker 0x%02x is not N", u8);
      return get_tuple(r, &m->new_tuple, r->parser->new_values);
    case 'U':
    case 'D':
      return parse_update_delete(r, m);
    case 'T':
      return parse_truncate(r, m);
    default:
      (void)u32;
      return fail(r, "unknown pgoutput message type 0x%02x", (unsigned char)m->type);
  }
}

int pgo_parse(PgoParser *p, const unsigned char *data, size_t len, PgoMessage *out) {
  Reader r = {data, len, 0, p};
  uint8_t type;
  memset(out, 0, sizeof *out);
  p->error[0] = '\0';
  if (get_u8(&r, &type, "message type") != 0) return -1;
  out->type = (char)type;
  if (parse_body(&r, out) != 0) return -1;
  if (r.off != r.len) return fail(&r, "%zu bytes after the end of message '%c'", r.len - r.off, out->type);
  return 0;
}

int pgo_parser_init(PgoParser *p) {
  memset(p, 0, sizeof *p);
  p->old_values = calloc(PGO_MAX_COLUMNS, sizeof *p->old_values);
  p->new_values = calloc(PGO_MAX_COLUMNS, sizeof *p->new_values);
  p->cols = calloc(PGO_MAX_COLUMNS, sizeof *p->cols);
  if (p->old_values == NULL || p->new_values == NULL || p->cols == NULL) {
    pgo_parser_free(p);
    return -1;
  }
  return 0;
}

void pgo_parser_free(PgoParser *p) {
  free(p->old_values);
  free(p->new_values);
  free(p->cols);
  p->old_values = p->new_values = NULL;
  p->cols = NULL;
}

int pgo_parse_frame(const unsigned char *data, size_t len, PgoFrame *out, char *why, size_t why_cap) {
  memset(out, 0, sizeof *out);
  if (len < 1) {
    snprintf(why, why_cap, "empty replication message");
    return -1;
  }
  out->type = (char)data[0];
  if (out->type == 'w') {
    if (len < 25) {
      snprintf(why, why_cap, "XLogData message of %zu bytes (less than 25)", len);
      return -1;
    }
    out->start_lsn = pgo_get_u64(data + 1);
    out->wal_end = pgo_get_u64(data + 9);
    out->send_time = (int64_t)pgo_get_u64(data + 17);
    out->data = data + 25;
    out->len = len - 25;
    return 0;
  }
  if (out->type == 'k') {
    if (len != 18) {
      snprintf(why, why_cap, "keepalive message of %zu bytes (not 18)", len);
      return -1;
    }
    out->wal_end = pgo_get_u64(data + 1);
    out->send_time = (int64_t)pgo_get_u64(data + 9);
    out->reply_requested = data[17] != 0;
    return 0;
  }
  snprintf(why, why_cap, "unknown replication message type 0x%02x", data[0]);
  return -1;
}

void pgo_status_update(unsigned char buf[34], uint64_t write_lsn, uint64_t flush_lsn,
                       int64_t now_pg_micros, int reply) {
  buf[0] = 'r';
  put_u64(buf + 1, write_lsn);
  put_u64(buf + 9, flush_lsn);
  put_u64(buf + 17, flush_lsn); /* applied: what is durable downstream */
  put_u64(buf + 25, (uint64_t)now_pg_micros);
  buf[33] = reply ? 1 : 0;
}
