/*
 * builder_internal.h - the layout of a column builder, shared by builder.c
 * (appending, exporting) and parse.c (nb_column_append_text).
 */
#ifndef NEBULA_SDK_BUILDER_INTERNAL_H
#define NEBULA_SDK_BUILDER_INTERNAL_H

#include "sdk_internal.h"

/* How a column's values are stored. */
typedef enum ColumnKind {
  KIND_STR32,  /* int32 offsets + bytes: utf8, number, json */
  KIND_STR64,  /* int64 offsets + bytes: large_utf8 */
  KIND_FIXED,  /* width bytes per value */
  KIND_BITS    /* one bit per value: bool */
} ColumnKind;

struct NbColumnBuilder {
  /* Hot fields first: the utf8 fast path reads only these. */
  ColumnKind kind;
  size_t length;       /* rows appended */
  size_t row_cap;      /* rows the values buffer holds */
  size_t data_len;     /* string bytes used */
  size_t data_cap;     /* string bytes allocated */
  uint8_t *values;     /* offsets (strings), values, or value bits */
  char *data;          /* string bytes */
  uint8_t *validity;   /* NULL until the first null */

  size_t null_count;
  size_t width;        /* bytes per value or per offset */
  size_t next_rows;    /* first capacity of the next batch */
  size_t next_bytes;
  NbField field;       /* name and timezone point at the copies below */
  char *name_copy;
  char *tz_copy;
};

struct NbBatchBuilder {
  NbColumnBuilder *columns;
  size_t n_columns;
};

#endif /* NEBULA_SDK_BUILDER_INTERNAL_H */
