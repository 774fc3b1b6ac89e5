/*
 * json_columns.h - the columns of a json source stream: names in the order
 * first seen, how each stores its values, and a hash index on the names.
 * A member name holding U+0000 is named with the six characters "\u0000"
 * in its place (column names are C strings).
 */
#ifndef JSON_COLUMNS_H
#define JSON_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_parser.h"
#include "nebula/sdk.h"

/* How a column stores its values; COL_NULL: only nulls seen so far. */
typedef enum ColumnKind {
  COL_NULL = 0,
  COL_UTF8,
  COL_NUMBER,
  COL_BOOL,
  COL_JSON
} ColumnKind;

typedef struct Column {
  char *name;               /* column name, NUL-terminated */
  size_t name_len;
  ColumnKind kind;
  uint64_t stamp;           /* record that set value */
  const JsonValue *value;   /* its value in that record */
} Column;

/* The columns of a stream, with a hash index on their names. */
typedef struct Columns {
  Column *v;
  size_t n;
  size_t cap;
  uint32_t *slots;          /* index + 1, 0 = empty; n_slots a power of 2 */
  size_t n_slots;
} Columns;

void columns_free(Columns *c);

/* The column of a member name key[0..len) (may hold NUL), or SIZE_MAX. */
size_t columns_find(const Columns *c, const char *key, size_t len);

/* Append a column for member name key[0..len); *index receives it.
 * Returns NB_OK or NB_NOMEM (nothing added). */
int columns_add(Columns *c, const char *key, size_t len, size_t *index);

/* The column kind of a JSON value kind, and the Arrow type of a column. */
ColumnKind kind_of(JsonKind k);
NbType type_of(ColumnKind k);

#endif /* JSON_COLUMNS_H */
