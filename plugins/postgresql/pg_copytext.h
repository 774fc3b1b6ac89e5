/*
 * pg_copytext.h - the text format of COPY: one row of tab-separated
 * fields, backslash escapes, \N for NULL.  Reading decodes a row in place;
 * writing escapes a value into a growing buffer.
 */
#ifndef NEBULA_PG_COPYTEXT_H
#define NEBULA_PG_COPYTEXT_H

#include <stddef.h>

#include "nebula/sdk.h"

/* Split and decode the row line[0..len) (a final '\n' is allowed) in place
 * into exactly n fields: fields[i].data NULL for \N.  Returns NB_OK or
 * NB_DATA (wrong field count or a bad escape; err says which field). */
int pg_copy_decode_row(char *line, size_t len, NbStringRef *fields, size_t n,
                       NbError *err);

/* A growing byte buffer. */
typedef struct PgBuf {
  char *data;
  size_t len, cap;
} PgBuf;

int pg_buf_reserve(PgBuf *b, size_t extra);
int pg_buf_add(PgBuf *b, const char *data, size_t len);
void pg_buf_free(PgBuf *b);

/* Append data[0..len) escaped for COPY text format (backslash, tab,
 * newline, carriage return).  NB_OK or NB_NOMEM. */
int pg_copy_escape(PgBuf *b, const char *data, size_t len);

#endif
