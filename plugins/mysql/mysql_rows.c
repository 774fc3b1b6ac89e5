/*
 * mysql_rows.c - binlog row images to values (see mysql_rows.h).  Formats
 * restated from the MariaDB/MySQL replication protocol documentation:
 * integers little-endian, DECIMAL in the packed binary form (9 digits per
 * 4 bytes, sign in the top bit), DATETIME2/TIMESTAMP2/TIME2 big-endian
 * with the fractional part in (fsp + 1) / 2 bytes.
 */
#include <stdio.h>
#include <string.h>

#include <mysql.h>

#include "mysql_rows.h"
#include "nebula/sdk.h"

#define FAIL(...)                                  \
  do {                                             \
    if (why_cap > 0) snprintf(why, why_cap, __VA_ARGS__); \
    return -1;                                     \
  } while (0)

static uint64_t le(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  while (n-- > 0) v = (v << 8) | p[n];
  return v;
}

static uint64_t be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  size_t i;
  for (i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

int my_rows_parse_meta(const uint8_t *types, size_t n, const uint8_t *meta, size_t meta_len,
                       uint16_t *out, size_t *bad_col) {
  size_t i, at = 0;
  for (i = 0; i < n; i++) {
    size_t need;
    out[i] = 0;
    switch (types[i]) {
      case MYSQL_TYPE_FLOAT:
      case MYSQL_TYPE_DOUBLE:
      case MYSQL_TYPE_BLOB:
      case MYSQL_TYPE_GEOMETRY:
      case MYSQL_TYPE_TIMESTAMP2:
      case MYSQL_TYPE_DATETIME2:
      case MYSQL_TYPE_TIME2:
#ifdef MYSQL_TYPE_JSON
      case MYSQL_TYPE_JSON:
#endif
        need = 1;
        break;
      case MYSQL_TYPE_VARCHAR:
      case MYSQL_TYPE_VAR_STRING:
      case MYSQL_TYPE_NEWDECIMAL:
      case MYSQL_TYPE_BIT:
      case MYSQL_TYPE_STRING:
      case MYSQL_TYPE_ENUM:
      case MYSQL_TYPE_SET:
        need = 2;
        break;
      case MYSQL_TYPE_TINY:
      case MYSQL_TYPE_SHORT:
      case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_LONG:
      case MYSQL_TYPE_LONGLONG:
      case MYSQL_TYPE_YEAR:
      case MYSQL_TYPE_DATE:
      case MYSQL_TYPE_NEWDATE:
      case MYSQL_TYPE_NULL:
        need = 0;
        break;
      default:
        *bad_col = i;
        return -1;
    }
    if (need > meta_len - at) {
      *bad_col = i;
      return -1;
    }
    /* VARCHAR and BIT store their two bytes little-endian, STRING /
     * DECIMAL as two separate bytes kept here high byte first. */
    if (need == 1)
      out[i] = meta[at];
    else if (need == 2 && (types[i] == MYSQL_TYPE_VARCHAR || types[i] == MYSQL_TYPE_VAR_STRING))
      out[i] = (uint16_t)(meta[at] | (meta[at + 1] << 8));
    else if (need == 2)
      out[i] = (uint16_t)((meta[at] << 8) | meta[at + 1]);
    at += need;
  }
  return 0;
}

/* ---- DECIMAL ------------------------------------------------------------ */

static const uint8_t dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

static size_t decimal_size(unsigned prec, unsigned scale) {
  unsigned intg = prec - scale;
  return (intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9];
}

/* Append the digits of one group, zero-padded to width (0: no padding). */
static size_t put_group(char *out, uint32_t v, unsigned width) {
  char tmp[12];
  int n = width > 0 ? snprintf(tmp, sizeof tmp, "%0*u", (int)width, v)
                    : snprintf(tmp, sizeof tmp, "%u", v);
  memcpy(out, tmp, (size_t)n);
  return (size_t)n;
}

/* Packed decimal -> "-123.4500" (scale digits always written, like the
 * text protocol).  out has room for prec + 3 bytes (<= 68). */
static int decode_decimal(const uint8_t *src, unsigned prec, unsigned scale, char *out,
                          size_t *out_len) {
  uint8_t b[40];
  size_t size = decimal_size(prec, scale), at = 0, o = 0, i;
  unsigned intg = prec - scale, ix = intg % 9, fx = scale % 9;
  bool neg, started = false;
  uint8_t mask;
  memcpy(b, src, size);
  neg = (b[0] & 0x80) == 0;
  mask = neg ? 0xFF : 0x00;
  b[0] ^= 0x80;
  for (i = 0; i < size; i++) b[i] ^= mask;
  if (neg) out[o++] = '-';
  if (ix > 0) {
    uint32_t v = (uint32_t)be(b + at, dig2bytes[ix]);
    at += dig2bytes[ix];
    if (v > 999999999u) return -1;
    if (v != 0) {
      o += put_group(out + o, v, 0);
      started = true;
    }
  }
  for (i = 0; i < intg / 9; i++) {
    uint32_t v = (uint32_t)be(b + at, 4);
    at += 4;
    if (v > 999999999u) return -1;
    if (started)
      o += put_group(out + o, v, 9);
    else if (v != 0) {
      o += put_group(out + o, v, 0);
      started = true;
    }
  }
  if (!started) out[o++] = '0';
  if (scale > 0) {
    out[o++] = '.';
    for (i = 0; i < scale / 9; i++) {
      uint32_t v = (uint32_t)be(b + at, 4);
      at += 4;
      if (v > 999999999u) return -1;
      o += put_group(out + o, v, 9);
    }
    if (fx > 0) {
      uint32_t v = (uint32_t)be(b + at, dig2bytes[fx]);
      uint32_t lim = 1;
      for (i = 0; i < fx; i++) lim *= 10;
      if (v >= lim) return -1;
      o += put_group(out + o, v, fx);
    }
  }
  /* "-0.00" is how a negative zero would print; the server never stores
   * one, but keep the text canonical. */
  *out_len = o;
  return 0;
}

/* ---- Temporal ----------------------------------------------------------- */

static size_t frac_bytes(unsigned fsp) { return (fsp + 1) / 2; }

/* Microseconds from the fractional bytes of a DATETIME2/TIMESTAMP2. */
static uint32_t frac_micros(const uint8_t *p, unsigned fsp) {
  switch (frac_bytes(fsp)) {
    case 1: return (uint32_t)p[0] * 10000u;
    case 2: return (uint32_t)be(p, 2) * 100u;
    case 3: return (uint32_t)be(p, 3);
    default: return 0;
  }
}

static size_t put_frac(char *out, uint32_t micros, unsigned fsp) {
  char tmp[8];
  if (fsp == 0) return 0;
  snprintf(tmp, sizeof tmp, "%06u", micros % 1000000u);
  out[0] = '.';
  memcpy(out + 1, tmp, fsp);
  return 1 + fsp;
}

/* The i-th of the '\0'-separated member names of an ENUM or SET. */
static bool member(const MyBinCol *c, size_t i, const char **m, size_t *len) {
  const char *p = c->members;
  size_t k;
  if (p == NULL || i >= c->n_members) return false;
  for (k = 0; k < i; k++) p += strlen(p) + 1;
  *m = p;
  *len = strlen(p);
  return true;
}

/* ---- One value ---------------------------------------------------------- */

static void set_text(MyRowVal *v, int n) {
  v->data = v->buf;
  v->len = n > 0 ? (size_t)n : 0;
}

/* A value of lenlen little-endian length bytes and that many bytes of
 * data (character data in the column's character set, or binary): VARCHAR,
 * CHAR, BLOB, TEXT.  Returns the bytes used, or 0 with why set. */
static size_t length_prefixed(const MyBinCol *c, const uint8_t *p, size_t avail, size_t lenlen,
                              MyRowVal *v, char *why, size_t why_cap) {
  uint64_t u;
  if (lenlen > avail) {
    snprintf(why, why_cap, "a value of %zu bytes with %zu bytes left in the event", lenlen,
             avail);
    return 0;
  }
  u = le(p, lenlen);
  if (u > avail - lenlen) {
    snprintf(why, why_cap, "a value of %zu bytes with %zu bytes left in the event",
             (size_t)(lenlen + u), avail);
    return 0;
  }
  v->data = (const char *)p + lenlen;
  v->len = (size_t)u;
  v->latin1 = c->charset == MY_CS_LATIN1;
  return lenlen + (size_t)u;
}

/* Decode the value of column c at p (avail bytes left) into v.  Returns
 * the bytes used, or 0 with why set. */
static size_t decode_value(const MyBinCol *c, const uint8_t *p, size_t avail, MyRowVal *v,
                           char *why, size_t why_cap) {
  size_t need = 0, lenlen;
  uint64_t u;
  unsigned fsp = c->meta & 0xFF;
#define NEED(n)                                                                         \
  do {                                                                                  \
    need = (n);                                                                         \
    if (need > avail) {                                                                 \
      snprintf(why, why_cap, "a value of %zu bytes with %zu bytes left in the event", \
               need, avail);                                                            \
      return 0;                                                                         \
    }                                                                                   \
  } while (0)
  switch (c->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG: {
      size_t w = c->type == MYSQL_TYPE_TINY    ? 1
                 : c->type == MYSQL_TYPE_SHORT ? 2
                 : c->type == MYSQL_TYPE_INT24 ? 3
                 : c->type == MYSQL_TYPE_LONG  ? 4
                                               : 8;
      NEED(w);
      u = le(p, w);
      if (c->is_unsigned) {
        set_text(v, snprintf(v->buf, sizeof v->buf, "%llu", (unsigned long long)u));
      } else {
        int64_t s = w == 8 ? (int64_t)u
                           : (int64_t)(u ^ (1ull << (8 * w - 1))) - (int64_t)(1ull << (8 * w - 1));
        set_text(v, snprintf(v->buf, sizeof v->buf, "%lld", (long long)s));
      }
      return need;
    }
    case MYSQL_TYPE_YEAR:
      NEED(1);
      set_text(v, snprintf(v->buf, sizeof v->buf, "%u", p[0] == 0 ? 0u : 1900u + p[0]));
      return need;
    case MYSQL_TYPE_FLOAT: {
      float f;
      uint32_t bits;
      NEED(4);
      bits = (uint32_t)le(p, 4);
      memcpy(&f, &bits, 4);
      set_text(v, snprintf(v->buf, sizeof v->buf, "%.9g", (double)f));
      return need;
    }
    case MYSQL_TYPE_DOUBLE: {
      double d;
      NEED(8);
      u = le(p, 8);
      memcpy(&d, &u, 8);
      set_text(v, snprintf(v->buf, sizeof v->buf, "%.17g", d));
      return need;
    }
    case MYSQL_TYPE_NEWDECIMAL: {
      unsigned prec = c->meta >> 8, scale = c->meta & 0xFF;
      if (prec == 0 || prec > 65 || scale > 38 || scale > prec) {
        snprintf(why, why_cap, "DECIMAL(%u,%u) metadata out of range", prec, scale);
        return 0;
      }
      NEED(decimal_size(prec, scale));
      if (decode_decimal(p, prec, scale, v->buf, &v->len) != 0) {
        snprintf(why, why_cap, "a DECIMAL digit group out of range");
        return 0;
      }
      v->data = v->buf;
      return need;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
      NEED(3);
      u = le(p, 3);
      set_text(v, snprintf(v->buf, sizeof v->buf, "%04u-%02u-%02u", (unsigned)(u >> 9),
                           (unsigned)((u >> 5) & 15), (unsigned)(u & 31)));
      return need;
    case MYSQL_TYPE_DATETIME2: {
      uint64_t ymd, ym, hms;
      int n;
      if (fsp > 6) goto bad_fsp;
      NEED(5 + frac_bytes(fsp));
      u = be(p, 5);
      if (u < 0x8000000000ull) {
        snprintf(why, why_cap, "a negative DATETIME");
        return 0;
      }
      u -= 0x8000000000ull;
      ymd = u >> 17;
      ym = ymd >> 5;
      hms = u & 0x1FFFF;
      n = snprintf(v->buf, sizeof v->buf, "%04u-%02u-%02u %02u:%02u:%02u", (unsigned)(ym / 13),
                   (unsigned)(ym % 13), (unsigned)(ymd & 31), (unsigned)(hms >> 12),
                   (unsigned)((hms >> 6) & 63), (unsigned)(hms & 63));
      n += (int)put_frac(v->buf + n, frac_micros(p + 5, fsp), fsp);
      set_text(v, n);
      return need;
    }
    case MYSQL_TYPE_TIMESTAMP2: {
      int64_t y;
      unsigned m, d, secs;
      int n;
      if (fsp > 6) goto bad_fsp;
      NEED(4 + frac_bytes(fsp));
      u = be(p, 4);
      if (u == 0) {
        set_text(v, snprintf(v->buf, sizeof v->buf, "0000-00-00 00:00:00"));
        return need;
      }
      nb_civil_from_days((int64_t)(u / 86400), &y, &m, &d);
      secs = (unsigned)(u % 86400);
      n = snprintf(v->buf, sizeof v->buf, "%04lld-%02u-%02u %02u:%02u:%02u", (long long)y, m, d,
                   secs / 3600, (secs / 60) % 60, secs % 60);
      n += (int)put_frac(v->buf + n, frac_micros(p + 4, fsp), fsp);
      set_text(v, n);
      return need;
    }
    case MYSQL_TYPE_TIME2: {
      int64_t ip;
      uint32_t frac = 0;
      bool neg;
      int n;
      if (fsp > 6) goto bad_fsp;
      NEED(3 + frac_bytes(fsp));
      if (frac_bytes(fsp) == 3) {
        int64_t packed = (int64_t)be(p, 6) - 0x800000000000ll;
        neg = packed < 0;
        if (neg) packed = -packed;
        ip = packed >> 24;
        frac = (uint32_t)(packed & 0xFFFFFF);
      } else {
        ip = (int64_t)be(p, 3) - 0x800000;
        neg = ip < 0;
        if (frac_bytes(fsp) > 0) {
          uint32_t f = (uint32_t)be(p + 3, frac_bytes(fsp));
          uint32_t range = frac_bytes(fsp) == 1 ? 0x100u : 0x10000u;
          if (neg && f != 0) {
            ip++;
            f = range - f;
          }
          frac = f * (frac_bytes(fsp) == 1 ? 10000u : 100u);
        }
        if (neg) ip = -ip;
      }
      n = snprintf(v->buf, sizeof v->buf, "%s%02u:%02u:%02u", neg ? "-" : "",
                   (unsigned)((ip >> 12) & 0x3FF), (unsigned)((ip >> 6) & 63),
                   (unsigned)(ip & 63));
      n += (int)put_frac(v->buf + n, frac, fsp);
      set_text(v, n);
      return need;
    }
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
      return length_prefixed(c, p, avail, c->meta < 256 ? 1 : 2, v, why, why_cap);
    case MYSQL_TYPE_BIT: {
      size_t bytes = (c->meta & 0xFF) + ((c->meta >> 8) > 0 ? 1 : 0);
      if (bytes == 0 || bytes > 8) {
        snprintf(why, why_cap, "BIT metadata of %zu bytes (1 to 8)", bytes);
        return 0;
      }
      NEED(bytes);
      v->data = (const char *)p;
      v->len = bytes;
      return need;
    }
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
      lenlen = c->meta;
      if (lenlen < 1 || lenlen > 4) {
        snprintf(why, why_cap, "BLOB length size %zu (1 to 4)", lenlen);
        return 0;
      }
      return length_prefixed(c, p, avail, lenlen, v, why, why_cap);
    case MYSQL_TYPE_STRING: {
      unsigned b0 = c->meta >> 8, b1 = c->meta & 0xFF, real = b0, flen = b1;
      if ((b0 & 0x30) != 0x30) {
        real = b0 | 0x30;
        flen = b1 | (((b0 & 0x30) ^ 0x30) << 4);
      }
      if (real == MYSQL_TYPE_ENUM) {
        if (flen != 1 && flen != 2) {
          snprintf(why, why_cap, "ENUM of %u bytes", flen);
          return 0;
        }
        NEED(flen);
        u = le(p, flen);
        /* Index 0 is the empty string of an invalid value. */
        v->data = "";
        v->len = 0;
        if (u > 0 && !member(c, (size_t)u - 1, &v->data, &v->len)) {
          snprintf(why, why_cap, "ENUM index %llu of %zu members", (unsigned long long)u,
                   c->n_members);
          return 0;
        }
        return need;
      }
      if (real == MYSQL_TYPE_SET) {
        size_t i, o = 0;
        if (flen < 1 || flen > 8) {
          snprintf(why, why_cap, "SET of %u bytes", flen);
          return 0;
        }
        NEED(flen);
        u = le(p, flen);
        for (i = 0; i < 64; i++) {
          const char *m;
          size_t ml;
          if ((u & (1ull << i)) == 0) continue;
          if (!member(c, i, &m, &ml)) {
            snprintf(why, why_cap, "SET bit %zu of %zu members", i, c->n_members);
            return 0;
          }
          if (o + ml + 1 > sizeof v->buf) {
            snprintf(why, why_cap, "a SET value longer than %zu bytes", sizeof v->buf - 1);
            return 0;
          }
          if (o > 0) v->buf[o++] = ',';
          memcpy(v->buf + o, m, ml);
          o += ml;
        }
        v->data = v->buf;
        v->len = o;
        return need;
      }
      return length_prefixed(c, p, avail, flen < 256 ? 1 : 2, v, why, why_cap);
    }
    default:
      snprintf(why, why_cap, "binlog column type %u is not supported", c->type);
      return 0;
  }
bad_fsp:
  snprintf(why, why_cap, "fractional second precision %u (0 to 6)", fsp);
  return 0;
#undef NEED
}

int my_rows_read_image(const MyBinCol *cols, size_t n, const uint8_t *present,
                       const uint8_t *p, size_t avail, size_t *used, MyRowVal *vals,
                       size_t *absent, size_t *bad_col, char *why, size_t why_cap) {
  size_t i, n_present = 0, bit = 0, at, nb;
  *absent = 0;
  *bad_col = 0;
  for (i = 0; i < n; i++)
    if (present == NULL || (present[i / 8] >> (i % 8)) & 1) n_present++;
  nb = (n_present + 7) / 8;
  if (nb > avail) FAIL("a null bitmap of %zu bytes with %zu bytes left in the event", nb, avail);
  at = nb;
  for (i = 0; i < n; i++) {
    MyRowVal *v = &vals[i];
    size_t got;
    v->null = false;
    v->latin1 = false;
    v->data = NULL;
    v->len = 0;
    if (present != NULL && !((present[i / 8] >> (i % 8)) & 1)) {
      v->null = true;
      (*absent)++;
      continue;
    }
    if ((p[bit / 8] >> (bit % 8)) & 1) {
      bit++;
      v->null = true;
      continue;
    }
    bit++;
    if (cols[i].type == MYSQL_TYPE_NULL) { /* no bytes: always null */
      v->null = true;
      continue;
    }
    got = decode_value(&cols[i], p + at, avail - at, v, why, why_cap);
    if (got == 0) {
      *bad_col = i;
      return -1;
    }
    at += got;
  }
  *used = at;
  return 0;
}

/* ---- CDC positions ---------------------------------------------------------
 * v1 (streaming): 'C', 1, file length, file, pos, skip.
 * v2 (initial snapshot): 'C', 2, file length, file, pos, skip, rows, key
 * length, key.  Little-endian u64s. */

static size_t put_le64(uint8_t *out, uint64_t v) {
  size_t i;
  for (i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
  return 8;
}

size_t my_cdc_pos_encode(const MyCdcPos *p, uint8_t *out) {
  size_t n = strnlen(p->file, sizeof p->file - 1), at = 3;
  out[0] = 'C';
  out[1] = p->snapshot ? 2 : 1;
  out[2] = (uint8_t)n;
  memcpy(out + at, p->file, n);
  at += n;
  at += put_le64(out + at, p->pos);
  at += put_le64(out + at, p->skip);
  if (p->snapshot) {
    size_t k = strnlen(p->key, sizeof p->key - 1);
    at += put_le64(out + at, p->rows);
    out[at++] = (uint8_t)k;
    memcpy(out + at, p->key, k);
    at += k;
  }
  return at;
}

/* A canonical decimal integer as the server prints one: -?[1-9][0-9]* or 0. */
bool my_cdc_key_valid(const char *k, size_t n) {
  size_t i = 0;
  if (n > 0 && k[0] == '-') i = 1;
  if (i == n || n > 21) return false;
  if (k[i] == '0' && (n - i > 1 || i == 1)) return false;
  for (; i < n; i++)
    if (k[i] < '0' || k[i] > '9') return false;
  return true;
}

int my_cdc_pos_decode(const uint8_t *in, size_t len, MyCdcPos *p) {
  MyCdcPos t;
  size_t n, i, at, k = 0;
  if (len < 3 || in[0] != 'C' || (in[1] != 1 && in[1] != 2)) return -1;
  n = in[2];
  if (n == 0 || len < 3 + n + 16) return -1;
  for (i = 0; i < n; i++)
    if (in[3 + i] == '\0' || in[3 + i] == '/') return -1; /* a file name, not a path */
  at = 3 + n + 16;
  if (in[1] == 1 && len != at) return -1;
  if (in[1] == 2) {
    if (len < at + 9) return -1;
    k = in[at + 8];
    if (len != at + 9 + k || k >= sizeof p->key) return -1;
    if (k > 0 && !my_cdc_key_valid((const char *)in + at + 9, k)) return -1;
  }
  memset(&t, 0, sizeof t);
  memcpy(t.file, in + 3, n);
  t.file[n] = '\0';
  t.pos = le(in + 3 + n, 8);
  t.skip = le(in + 3 + n + 8, 8);
  if (in[1] == 2) {
    t.snapshot = true;
    t.rows = le(in + at, 8);
    memcpy(t.key, in + at + 9, k);
    t.key[k] = '\0';
  }
  if (t.pos < 4) return -1;
  *p = t;
  return 0;
}

int my_cdc_key_cmp(const char *a, size_t an, const char *b, size_t bn) {
  bool neg_a = an > 0 && a[0] == '-', neg_b = bn > 0 && b[0] == '-';
  int c;
  if (neg_a != neg_b) return neg_a ? -1 : 1;
  if (neg_a) {
    a++, an--, b++, bn--;
  }
  if (an != bn)
    c = an < bn ? -1 : 1;
  else
    c = memcmp(a, b, an) < 0 ? -1 : memcmp(a, b, an) > 0 ? 1 : 0;
  return neg_a ? -c : c;
}
