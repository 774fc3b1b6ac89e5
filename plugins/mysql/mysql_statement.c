/*
 * mysql_statement.c - QUERY_EVENT layout and the TRUNCATE statement
 * (see mysql_statement.h).  A small cursor over (p, end): every step
 * checks what is left before it reads.
 */
#include <stdbool.h>
#include <string.h>

#include "mysql_statement.h"

#define EVENT_HEADER 19
/* thread id (4), execution time (4), database length (1), error code (2),
 * status variables length (2): binlog v4's QUERY_EVENT post-header. */
#define QUERY_POST_HEADER 13

static size_t get_u16(const uint8_t *p) { return (size_t)p[0] | (size_t)p[1] << 8; }

int my_query_event_parse(const uint8_t *ev, size_t ev_len, size_t checksum_len,
                         MyQueryEvent *out) {
  size_t at = EVENT_HEADER + QUERY_POST_HEADER, db_len, status_len, end;
  memset(out, 0, sizeof *out);
  if (ev == NULL || ev_len < at + checksum_len) return -1;
  end = ev_len - checksum_len;
  db_len = ev[EVENT_HEADER + 8];
  status_len = get_u16(ev + EVENT_HEADER + 11);
  if (status_len > end - at) return -1;
  at += status_len;
  /* The database name, then a NUL, then the statement up to the end. */
  if (db_len + 1 > end - at || ev[at + db_len] != '\0') return -1;
  out->db = (const char *)ev + at;
  out->db_len = db_len;
  at += db_len + 1;
  out->sql = (const char *)ev + at;
  out->sql_len = end - at;
  return 0;
}

typedef struct Cur {
  const char *p, *end;
} Cur;

static bool left(const Cur *c, size_t n) { return (size_t)(c->end - c->p) >= n; }

static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* A byte of an unquoted identifier: letters, digits, $, _ and any byte of
 * a multi-byte UTF-8 character. */
static bool is_ident(char ch) {
  unsigned char u = (unsigned char)ch;
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
         u == '_' || u == '$' || u >= 0x80;
}

/* Skip whitespace and comments.  Returns -1 at an executable comment
 * (slash-star-! or slash-star-M-!: the server runs what it holds) or an
 * unterminated one. */
static int skip_blank(Cur *c) {
  for (;;) {
    while (c->p < c->end && is_space(*c->p)) c->p++;
    if (left(c, 2) && c->p[0] == '/' && c->p[1] == '*') {
      const char *q;
      if ((left(c, 3) && c->p[2] == '!') || (left(c, 4) && c->p[2] == 'M' && c->p[3] == '!'))
        return -1;
      for (q = c->p + 2; c->end - q >= 2 && !(q[0] == '*' && q[1] == '/'); q++) {
      }
      if (c->end - q < 2) return -1;
      c->p = q + 2;
    } else if ((left(c, 1) && c->p[0] == '#') ||
               (left(c, 2) && c->p[0] == '-' && c->p[1] == '-' &&
                (!left(c, 3) || is_space(c->p[2])))) {
      while (c->p < c->end && *c->p != '\n') c->p++;
    } else {
      return 0;
    }
  }
}

/* Whether the bare word kw (upper case) is next, not followed by more of
 * an identifier; consumed when it is. */
static bool take_word(Cur *c, const char *kw) {
  size_t n = strlen(kw), i;
  if (!left(c, n)) return false;
  for (i = 0; i < n; i++) {
    char ch = c->p[i];
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    if (ch != kw[i]) return false;
  }
  if (left(c, n + 1) && is_ident(c->p[n])) return false;
  c->p += n;
  return true;
}

/* One identifier into out (MY_IDENT_MAX with the NUL).  Returns -1 when
 * there is none, it is unterminated, empty or too long. */
static int take_ident(Cur *c, char *out) {
  size_t n = 0;
  if (c->p >= c->end) return -1;
  if (*c->p == '`' || *c->p == '"') {
    char q = *c->p++;
    for (;;) {
      if (c->p >= c->end) return -1;
      if (*c->p == q) {
        if (!left(c, 2) || c->p[1] != q) break;
        c->p++; /* a doubled quote is one quote character */
      }
      if (n + 1 >= MY_IDENT_MAX) return -1;
      out[n++] = *c->p++;
    }
    c->p++;
  } else {
    while (c->p < c->end && is_ident(*c->p)) {
      if (n + 1 >= MY_IDENT_MAX) return -1;
      out[n++] = *c->p++;
    }
  }
  out[n] = '\0';
  return n > 0 && memchr(out, '\0', n) == NULL ? 0 : -1;
}

/* After the name: [WAIT digits | NOWAIT] [;] then nothing. */
static bool rest_is_empty(Cur *c) {
  if (skip_blank(c) != 0) return false;
  if (take_word(c, "NOWAIT")) {
    if (skip_blank(c) != 0) return false;
  } else if (take_word(c, "WAIT")) {
    const char *digits;
    if (skip_blank(c) != 0) return false;
    for (digits = c->p; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
    }
    if (c->p == digits || skip_blank(c) != 0) return false;
  }
  if (c->p < c->end && *c->p == ';') {
    c->p++;
    if (skip_blank(c) != 0) return false;
  }
  return c->p == c->end;
}

int my_truncate_target(const char *sql, size_t len, char db[MY_IDENT_MAX],
                       char table[MY_IDENT_MAX]) {
  Cur c = {sql, sql + len};
  db[0] = table[0] = '\0';
  if (sql == NULL || skip_blank(&c) != 0 || !take_word(&c, "TRUNCATE")) return MY_STMT_OTHER;
  /* From here on the statement is a TRUNCATE: what cannot be read is
   * reported, not ignored. */
  if (skip_blank(&c) != 0) return MY_STMT_UNREADABLE;
  /* TABLE is optional: a table named "table" must be quoted, so a bare
   * TABLE is always the keyword. */
  if (take_word(&c, "TABLE") && skip_blank(&c) != 0) return MY_STMT_UNREADABLE;
  if (take_ident(&c, table) != 0 || skip_blank(&c) != 0) goto unreadable;
  if (c.p < c.end && *c.p == '.') {
    c.p++;
    memcpy(db, table, strlen(table) + 1);
    if (skip_blank(&c) != 0 || take_ident(&c, table) != 0) goto unreadable;
  }
  if (rest_is_empty(&c)) return MY_STMT_TRUNCATE;
unreadable:
  db[0] = table[0] = '\0';
  return MY_STMT_UNREADABLE;
}
