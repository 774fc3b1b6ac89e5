/*
 * fuzz_mysql_rows.c - the binlog decoders of mode cdc
 * (plugins/mysql/mysql_rows.c) on arbitrary bytes, as a lying or broken
 * server may send them: TABLE_MAP metadata, row images, CDC positions.
 *
 * Input: byte 0 = number of columns (1 .. 16); then one type byte per
 * column; byte: flags (bit 0 = a present bitmap follows, bit 1 = unsigned
 * columns, bit 2/3 = latin1/binary); then the metadata length byte and the
 * metadata; the rest is the row data, decoded image after image.
 * Invariants: no read outside the buffer (ASan), every failure has a
 * message, an image never uses more bytes than were left, decoded values
 * point inside the input or the value's own buffer; a CDC position that
 * decodes encodes back to the same bytes; snapshot keys (decimal text)
 * compare antisymmetrically and equal to themselves.
 *
 * The whole input is also a QUERY_EVENT (plugins/mysql/mysql_statement.c),
 * with and without a checksum, and a statement on its own: the parts found
 * lie inside the input; a TRUNCATE's names are NUL-terminated, shorter
 * than MY_IDENT_MAX, and quoted back into a statement they parse to the
 * same names.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "mysql_rows.h"
#include "mysql_statement.h"

static const char members[] = "a\0bb\0ccc";

/* The first and second halves of the input as snapshot keys. */
static void check_keys(const uint8_t *data, size_t size) {
  const char *a = (const char *)data, *b = (const char *)data + size / 2;
  size_t an = size / 2, bn = size - size / 2;
  int ab, ba;
  if (!my_cdc_key_valid(a, an) || !my_cdc_key_valid(b, bn)) return;
  ab = my_cdc_key_cmp(a, an, b, bn);
  ba = my_cdc_key_cmp(b, bn, a, an);
  if ((ab < 0) != (ba > 0) || (ab == 0) != (ba == 0) || my_cdc_key_cmp(a, an, a, an) != 0)
    fuzz_fail("snapshot keys %.*s and %.*s compare %d / %d", (int)an, a, (int)bn, b, ab, ba);
  if ((ab == 0) != (an == bn && memcmp(a, b, an) == 0))
    fuzz_fail("snapshot keys %.*s and %.*s: equal by value but not by text", (int)an, a,
              (int)bn, b);
}

static void check_position(const uint8_t *data, size_t size) {
  MyCdcPos p;
  uint8_t again[MY_CDC_POS_MAX];
  size_t len;
  if (my_cdc_pos_decode(data, size, &p) != 0) return;
  len = my_cdc_pos_encode(&p, again);
  if (len != size || memcmp(again, data, size) != 0)
    fuzz_fail("a CDC position of %zu bytes encodes back to %zu other bytes", size, len);
}

/* name back-quoted (` doubled) at o; returns the new end. */
static char *quote_name(char *o, const char *name) {
  *o++ = '`';
  for (; *name != '\0'; name++) {
    if (*name == '`') *o++ = '`';
    *o++ = *name;
  }
  *o++ = '`';
  return o;
}

static void check_statement(const char *sql, size_t len) {
  char db[MY_IDENT_MAX], table[MY_IDENT_MAX], db2[MY_IDENT_MAX], table2[MY_IDENT_MAX];
  char again[4 * MY_IDENT_MAX + 64], *o = again;
  int kind = my_truncate_target(sql, len, db, table);
  if (kind != MY_STMT_OTHER && kind != MY_STMT_TRUNCATE && kind != MY_STMT_UNREADABLE)
    fuzz_fail("statement kind %d", kind);
  if (strnlen(db, MY_IDENT_MAX) >= MY_IDENT_MAX || strnlen(table, MY_IDENT_MAX) >= MY_IDENT_MAX)
    fuzz_fail("a name without its NUL");
  if (kind != MY_STMT_TRUNCATE) {
    if (db[0] != '\0' || table[0] != '\0') fuzz_fail("names set for statement kind %d", kind);
    return;
  }
  if (table[0] == '\0') fuzz_fail("a TRUNCATE without a table");
  memcpy(o, " /* x */ truncate TABLE ", 24);
  o += 24;
  if (db[0] != '\0') {
    o = quote_name(o, db);
    *o++ = '.';
  }
  o = quote_name(o, table);
  if (my_truncate_target(again, (size_t)(o - again), db2, table2) != MY_STMT_TRUNCATE ||
      strcmp(db, db2) != 0 || strcmp(table, table2) != 0)
    fuzz_fail("TRUNCATE %s.%s quoted back (%.*s) reads as %s.%s", db, table,
              (int)(o - again), again, db2, table2);
}

static void check_query(const uint8_t *data, size_t size) {
  size_t cs;
  check_statement((const char *)data, size);
  for (cs = 0; cs <= 4; cs += 4) {
    MyQueryEvent q;
    const char *lo = (const char *)data, *hi = lo + size;
    if (my_query_event_parse(data, size, cs, &q) != 0) continue;
    if (q.db < lo || q.db_len > (size_t)(hi - q.db) || q.sql < lo ||
        q.sql_len > (size_t)(hi - q.sql) - cs)
      fuzz_fail("a QUERY event part outside the event");
    check_statement(q.sql, q.sql_len);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MyBinCol cols[16];
  MyRowVal vals[16];
  uint8_t types[16], present[2] = {0, 0};
  uint16_t meta[16];
  size_t n, i, meta_len, bad = 0;
  const uint8_t *end = data + size;
  unsigned flags;
  check_position(data, size);
  check_keys(data, size);
  check_query(data, size);
  n = fuzz_take(&data, &size) % 16 + 1;
  if (size < n + 2) return 0;
  for (i = 0; i < n; i++) types[i] = fuzz_take(&data, &size);
  flags = fuzz_take(&data, &size);
  if (flags & 1) {
    if (size < 2) return 0;
    present[0] = fuzz_take(&data, &size);
    present[1] = fuzz_take(&data, &size);
  }
  meta_len = fuzz_take(&data, &size);
  if (meta_len > size) meta_len = size;
  if (my_rows_parse_meta(types, n, data, meta_len, meta, &bad) != 0) {
    if (bad >= n) fuzz_fail("bad column %zu of %zu", bad, n);
    return 0;
  }
  data += meta_len;
  size -= meta_len;
  memset(cols, 0, sizeof cols);
  for (i = 0; i < n; i++) {
    cols[i].type = types[i];
    cols[i].meta = meta[i];
    cols[i].is_unsigned = (flags & 2) != 0;
    cols[i].charset = (flags & 4) ? MY_CS_LATIN1 : (flags & 8) ? MY_CS_BINARY : MY_CS_UTF8;
    cols[i].members = members;
    cols[i].n_members = 3;
  }
  while (size > 0) {
    size_t used = 0, absent = 0;
    char why[160];
    why[0] = '\0';
    if (my_rows_read_image(cols, n, (flags & 1) ? present : NULL, data, size, &used, vals,
                           &absent, &bad, why, sizeof why) != 0) {
      if (why[0] == '\0') fuzz_fail("an image failed without a message");
      if (bad >= n) fuzz_fail("bad column %zu of %zu", bad, n);
      break;
    }
    if (used > size || (used == 0 && absent < n))
      fuzz_fail("an image used %zu of %zu bytes", used, size);
    for (i = 0; i < n; i++) {
      const char *d = vals[i].data;
      if (vals[i].null) continue;
      if (d == NULL) fuzz_fail("column %zu: a value without data", i);
      if ((const uint8_t *)d >= data && (const uint8_t *)d + vals[i].len <= end) continue;
      if (d >= vals[i].buf && d + vals[i].len <= vals[i].buf + sizeof vals[i].buf) continue;
      if (d >= members && d + vals[i].len <= members + sizeof members) continue;
      if (vals[i].len == 0) continue;
      fuzz_fail("column %zu: value outside the input and its buffer", i);
    }
    /* The source stops at an image that lacks columns (not FULL). */
    if (absent > 0) break;
    data += used;
    size -= used;
  }
  return 0;
}
