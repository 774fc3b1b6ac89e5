/*
 * pg_values.h - PostgreSQL's text output of the mapped types (with the
 * session settings of pg_connect: DateStyle ISO, TimeZone UTC) parsed
 * exactly into Arrow values.
 */
#ifndef NEBULA_PG_VALUES_H
#define NEBULA_PG_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/sdk.h"

/* Each returns true on success; false when the text is not a value of the
 * type that fits (e.g. a date 'infinity', a year BC, an overflow). */
bool pg_parse_int64(const char *s, size_t len, int64_t *out);
bool pg_parse_double(const char *s, size_t len, double *out);
bool pg_parse_bool(const char *s, size_t len, bool *out);
/* date: YYYY-MM-DD (4 or more year digits). */
bool pg_parse_date(const char *s, size_t len, int32_t *days);
/* timestamp: YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]; micros since
 * the epoch in UTC (the offset applied when given). */
bool pg_parse_timestamp(const char *s, size_t len, int64_t *micros);

/* Append the text s of a value to column b of Arrow type `type`, parsed
 * as above (any other type takes the text as is).  False when the text is
 * not a value of the type that fits (nothing appended); otherwise *rc is
 * the builder's status (NB_OK, NB_NOMEM). */
bool pg_append_text_value(NbColumnBuilder *b, NbType type, const char *s, size_t len, int *rc);

#endif
