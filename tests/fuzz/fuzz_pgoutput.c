/*
 * fuzz_pgoutput.c - the postgresql connector's parser of the logical
 * replication stream (plugins/postgresql/pg_pgoutput.c) on arbitrary
 * bytes: the server's messages are untrusted.
 *
 * Input: byte 0 even: the rest is one pgoutput message; odd: one frame of
 * the replication COPY stream (whose XLogData payload is then parsed as a
 * message too).  Invariants: a parse succeeds or fails with a reason;
 * every string, value and relation id it returns lies inside the input;
 * counts stay within PostgreSQL's column limit.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "pg_pgoutput.h"

static const unsigned char *lo, *hi;

static void inside(const void *p, size_t len, const char *what) {
  const unsigned char *c = p;
  if (c == NULL) fuzz_fail("%s: NULL", what);
  if (c < lo || c > hi || len > (size_t)(hi - c)) fuzz_fail("%s outside the input", what);
}

static void check_string(const char *s, const char *what) {
  if (s == NULL) return;
  inside(s, strlen(s) + 1, what);
}

static void check_tuple(const PgoTuple *t, const char *what) {
  uint16_t i;
  if (t->n > PGO_MAX_COLUMNS) fuzz_fail("%s: %u columns", what, t->n);
  for (i = 0; i < t->n; i++) {
    const PgoValue *v = &t->values[i];
    if (v->kind == 't') inside(v->data, v->len, what);
    else if (v->kind != 'n' && v->kind != 'u') fuzz_fail("%s: value kind %d", what, v->kind);
  }
}

static void check_message(PgoParser *p, const unsigned char *data, size_t len) {
  PgoMessage m;
  uint16_t i;
  if (pgo_parse(p, data, len, &m) != 0) {
    if (p->error[0] == '\0') fuzz_fail("a refused message without a reason");
    return;
  }
  check_string(m.nspname, "namespace");
  check_string(m.relname, "relation name");
  if (m.type == 'R') {
    if (m.ncols > PGO_MAX_COLUMNS) fuzz_fail("relation of %u columns", m.ncols);
    for (i = 0; i < m.ncols; i++) check_string(m.cols[i].name, "column name");
  }
  if (m.type == 'I' || m.type == 'U') check_tuple(&m.new_tuple, "new tuple");
  if ((m.type == 'U' || m.type == 'D') && m.old_kind != 0) check_tuple(&m.old_tuple, "old tuple");
  if (m.type == 'D' && m.old_kind == 0) fuzz_fail("a delete without an old tuple");
  if (m.type == 'T' && m.nrelids > 0) inside(m.relids, (size_t)m.nrelids * 4, "truncated relation ids");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  PgoParser p;
  if (size < 1 || pgo_parser_init(&p) != 0) return 0;
  lo = data + 1;
  hi = data + size;
  if ((data[0] & 1) == 0) {
    check_message(&p, data + 1, size - 1);
  } else {
    PgoFrame f;
    char why[160];
    why[0] = '\0';
    if (pgo_parse_frame(data + 1, size - 1, &f, why, sizeof why) != 0) {
      if (why[0] == '\0') fuzz_fail("a refused frame without a reason");
    } else if (f.type == 'w') {
      if (f.len > 0) inside(f.data, f.len, "XLogData payload");
      check_message(&p, f.data, f.len);
    }
  }
  pgo_parser_free(&p);
  return 0;
}
