/*
 * json_parse_errors.h - the parser's error messages (json_parse_errors.c),
 * for json_parser.c.  Each fills p->error and p->error_at.
 */
#ifndef JSON_PARSE_ERRORS_H
#define JSON_PARSE_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

#include "json_parser.h"

/* How the text at c is named in messages, into buf[0..cap). */
void json_describe_byte(const char *c, const char *end, char *buf, size_t cap);
/* A syntax error at `at`: JSON_SYNTAX. */
JsonResult json_syntax(JsonParser *p, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An unexpected byte at c: JSON_NEED_MORE at the end of data that is not
 * the end of the input, else "<what> but found <byte>". */
JsonResult json_unexpected(JsonParser *p, const char *c, const char *end, bool eof,
                           const char *what);
/* An invalid UTF-8 sequence at `at`, whose byte at[bad] is wrong. */
JsonResult json_invalid_utf8(JsonParser *p, const char *at, size_t bad);

#endif /* JSON_PARSE_ERRORS_H */
