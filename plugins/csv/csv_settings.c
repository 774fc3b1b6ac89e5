/*
 * csv_settings.c - reading the csv connector's settings: the format shared
 * by source and destination (delimiter, quote, header, null_string), the
 * `columns` declaration of column types, and the classification of values
 * used by type inference.
 */
#include "csv_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void csv_error_move(NbError *dst, NbError *src) {
  uint32_t size;
  if (dst == NULL) {
    nb_error_release(src);
    return;
  }
  nb_error_release(dst);
  size = dst->struct_size;
  *dst = *src;
  dst->struct_size = size;
  nb_error_init(src);
}

/* One byte, or the two characters \t for a tab (as written in a config). */
static int parse_char_setting(const NbDeclaredSettings *set, const char *name, char *out,
                              NbError *err) {
  const char *value;
  int rc = nb_declared_string(set, name, &value, err);
  if (rc != NB_OK) return rc;
  if (strcmp(value, "\\t") == 0) {
    *out = '\t';
    return NB_OK;
  }
  if (strlen(value) != 1) {
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\": \"%s\"", name, value);
    nb_error_detail(err, "The %s must be exactly one byte.", name);
    nb_error_hint(err, "Write \\t for a tab.");
    return NB_INVALID;
  }
  if (value[0] == '\n' || value[0] == '\r' || value[0] == '\0') {
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\": a line break", name);
    nb_error_detail(err, "CR and LF end records and cannot be the %s.", name);
    return NB_INVALID;
  }
  *out = value[0];
  return NB_OK;
}

int csv_format_from_settings(const NbDeclaredSettings *set, CsvFormat *format, NbError *err) {
  const char *null_string;
  int rc;
  memset(format, 0, sizeof *format);
  if ((rc = parse_char_setting(set, "delimiter", &format->delimiter, err)) != NB_OK)
    return rc;
  if ((rc = parse_char_setting(set, "quote", &format->quote, err)) != NB_OK)
    return rc;
  if (format->delimiter == format->quote) {
    nb_error_set(err, NB_INVALID, "settings \"delimiter\" and \"quote\" are both \"%c\"",
                 format->quote);
    nb_error_detail(err, "The delimiter and the quote character must differ.");
    return NB_INVALID;
  }
  if ((rc = nb_declared_bool(set, "header", &format->header, err)) != NB_OK)
    return rc;
  if ((rc = nb_declared_string(set, "null_string", &null_string, err)) != NB_OK) return rc;
  if (null_string != NULL) {
    format->null_string = strdup(null_string);
    if (format->null_string == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

void csv_format_free(CsvFormat *format) {
  free(format->null_string);
  format->null_string = NULL;
}

/* ------------------------------------------------------------------------
 * The `columns` setting
 * ------------------------------------------------------------------------ */

static void trim(const char **start, const char **end) {
  while (*start < *end && isspace((unsigned char)**start)) (*start)++;
  while (*end > *start && isspace((unsigned char)(*end)[-1])) (*end)--;
}

static bool word_is(const char *s, size_t len, const char *word) {
  return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* "decimal(10,2)" or "decimal(10)": precision 1..38, 0 <= scale <= precision. */
static bool parse_decimal(const char *s, size_t len, CsvDeclaredColumn *col) {
  char buf[64];
  long precision, scale = 0;
  char *p;
  if (len < 9 || len >= sizeof buf || strncasecmp(s, "decimal(", 8) != 0 || s[len - 1] != ')')
    return false;
  memcpy(buf, s + 8, len - 9);
  buf[len - 9] = '\0';
  errno = 0;
  precision = strtol(buf, &p, 10);
  while (*p == ' ') p++;
  if (*p == ',') {
    scale = strtol(p + 1, &p, 10);
    while (*p == ' ') p++;
  }
  if (*p != '\0' || errno != 0 || precision < 1 || precision > 38 || scale < 0 ||
      scale > precision)
    return false;
  col->type = NB_TYPE_DECIMAL128;
  col->precision = (int32_t)precision;
  col->scale = (int32_t)scale;
  return true;
}

static bool parse_type(const char *s, size_t len, CsvDeclaredColumn *col) {
  static const struct {
    const char *word;
    NbType type;
  } names[] = {
      {"string", NB_TYPE_UTF8},   {"utf8", NB_TYPE_UTF8},       {"text", NB_TYPE_UTF8},
      {"int64", NB_TYPE_INT64},   {"int", NB_TYPE_INT64},       {"integer", NB_TYPE_INT64},
      {"bigint", NB_TYPE_INT64},  {"float64", NB_TYPE_FLOAT64}, {"double", NB_TYPE_FLOAT64},
      {"bool", NB_TYPE_BOOL},     {"boolean", NB_TYPE_BOOL},    {"number", NB_TYPE_NUMBER},
      {"date", NB_TYPE_DATE32},   {"timestamp", NB_TYPE_TIMESTAMP}, {"json", NB_TYPE_JSON},
  };
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (word_is(s, len, names[i].word)) {
      col->type = names[i].type;
      return true;
    }
  }
  return parse_decimal(s, len, col);
}

static int column_entry_error(NbError *err, const char *entry, size_t len, const char *why) {
  nb_error_set(err, NB_INVALID, "invalid value for setting \"columns\": \"%.*s\"", (int)len,
               entry);
  nb_error_detail(err, "%s", why);
  nb_error_hint(err,
                "Write entries as name:type separated by semicolons, e.g. "
                "\"zip:string; amount:decimal(10,2)\"; types are string, int64, float64, "
                "bool, decimal(p,s), number, date, timestamp and json.");
  return NB_INVALID;
}

int csv_declared_columns_parse(const char *text, CsvDeclaredColumn **out, size_t *n,
                               NbError *err) {
  CsvDeclaredColumn *cols = NULL;
  size_t count = 0, cap = 0;
  const char *p = text;
  *out = NULL;
  *n = 0;
  if (text == NULL) return NB_OK;
  while (*p != '\0') {
    const char *entry = p, *entry_end = strchr(p, ';');
    const char *name, *name_end, *type, *type_end, *colon;
    size_t i;
    if (entry_end == NULL) entry_end = p + strlen(p);
    p = *entry_end == ';' ? entry_end + 1 : entry_end;
    trim(&entry, &entry_end);
    if (entry == entry_end) continue;
    colon = NULL;
    for (name_end = entry; name_end < entry_end; name_end++)
      if (*name_end == ':') colon = name_end;
    if (colon == NULL) {
      csv_declared_columns_free(cols, count);
      return column_entry_error(err, entry, (size_t)(entry_end - entry),
                                "The entry has no \":\" between column name and type.");
    }
    name = entry;
    name_end = colon;
    type = colon + 1;
    type_end = entry_end;
    trim(&name, &name_end);
    trim(&type, &type_end);
    if (count == cap) {
      CsvDeclaredColumn *grown;
      cap = cap ? cap * 2 : 8;
      grown = realloc(cols, cap * sizeof *cols);
      if (grown == NULL) {
        csv_declared_columns_free(cols, count);
        return nb_error_set(err, NB_NOMEM, "out of memory");
      }
      cols = grown;
    }
    memset(&cols[count], 0, sizeof cols[count]);
    if (name == name_end) {
      csv_declared_columns_free(cols, count);
      return column_entry_error(err, entry, (size_t)(entry_end - entry),
                                "The column name is empty.");
    }
    if (!parse_type(type, (size_t)(type_end - type), &cols[count])) {
      csv_declared_columns_free(cols, count);
      return column_entry_error(err, entry, (size_t)(entry_end - entry),
                                "The type is not recognized.");
    }
    cols[count].name = strndup(name, (size_t)(name_end - name));
    if (cols[count].name == NULL) {
      csv_declared_columns_free(cols, count);
      return nb_error_set(err, NB_NOMEM, "out of memory");
    }
    count++;
    for (i = 0; i + 1 < count; i++) {
      if (strcmp(cols[i].name, cols[count - 1].name) == 0) {
        csv_declared_columns_free(cols, count);
        return column_entry_error(err, entry, (size_t)(entry_end - entry),
                                  "The column is declared twice.");
      }
    }
  }
  *out = cols;
  *n = count;
  return NB_OK;
}

void csv_declared_columns_free(CsvDeclaredColumn *columns, size_t n) {
  size_t i;
  if (columns == NULL) return;
  for (i = 0; i < n; i++) free(columns[i].name);
  free(columns);
}

/* ------------------------------------------------------------------------
 * Inference
 * ------------------------------------------------------------------------ */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *p, const char *end) {
  if (p < end && *p == '-') p++;
  if (p == end || !is_digit(*p)) return false;
  if (*p == '0') {
    p++;
  } else {
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && *p == '.') {
    p++;
    if (p == end || !is_digit(*p)) return false;
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p == end || !is_digit(*p)) return false;
    while (p < end && is_digit(*p)) p++;
  }
  return p == end;
}

CsvKind csv_classify(const char *text, size_t len, int64_t *int_value) {
  const char *p = text, *end = text + len;
  bool negative = false;
  uint64_t limit, value = 0;

  if (p < end && *p == '-') {
    negative = true;
    p++;
  }
  /* Integers: "0", or digits without a leading zero ("00501" is text, and
   * "-0" is a number so that its sign survives). */
  if (p < end && is_digit(*p) && (*p != '0' || (len == 1))) {
    limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end && is_digit(*p); p++) {
      unsigned d = (unsigned)(*p - '0');
      if (value > (limit - d) / 10) break; /* out of range */
      value = value * 10 + d;
    }
    if (p == end) {
      if (int_value != NULL)
        *int_value = negative ? (int64_t)(0 - value) : (int64_t)value;
      return CSV_KIND_INT64;
    }
  }
  return is_json_number(text, end) ? CSV_KIND_NUMBER : CSV_KIND_STRING;
}
