/*
 * utf8.h - the host's one UTF-8 module: decoding one sequence, validating
 * a string, and making any text safe to print.
 *
 * Everything the host prints that it did not write itself (a connector's
 * name, version, description, setting declarations and error messages, a
 * file name found in a directory) goes through nbh_buf_put_printable: the
 * logger applies it to every field of every line, and the commands apply it
 * to what they print on standard output.  A connector or a file name can
 * therefore neither move the cursor, clear the screen, nor start a line of
 * its own that looks like one of ours ("\nnebula-host: ...").
 */
#ifndef NBH_UTF8_H
#define NBH_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "textutil.h"

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), its code
 * point in *cp (may be NULL); 0 when the bytes there are not well-formed
 * (overlong forms, surrogates, values past U+10FFFF, truncated). */
size_t nbh_utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp);

/* True when text[0..len) is well-formed UTF-8, i.e. it can be written as a
 * JSON string without loss. */
bool nbh_utf8_valid(const char *text, size_t len);

/* Characters that change what a terminal shows rather than showing
 * themselves: C0 controls, DEL, C1 controls, bidirectional overrides. */
bool nbh_char_is_unsafe(uint32_t cp);

/* How much of a foreign string is shown.  Names and versions are short by
 * nature; messages, descriptions and paths get more room. */
#define NBH_SHOW_NAME 128
#define NBH_SHOW_TEXT 1024
/* The logger's backstop for one field of a line. */
#define NBH_SHOW_FIELD 8192

/* Append text to buf so that printing it is harmless: every C0 control
 * (including newline and ESC), DEL, every C1 control (U+0080..U+009F), the
 * bidirectional overrides (U+202A..U+202E, U+2066..U+2069) and every byte
 * that is not well-formed UTF-8 is written as \xNN per byte; other
 * characters are copied.  At most max_bytes bytes of text are looked at;
 * when text is longer, "..." follows.  Backslashes are copied as they are,
 * so the function is idempotent: putting its own output again changes
 * nothing (the logger re-applies it to what the commands built). */
void nbh_buf_put_printable(NbhBuf *buf, const char *text, size_t max_bytes);

/* The same into a new string (free() it); NULL only when out of memory.
 * NULL text gives "(null)". */
char *nbh_printable(const char *text, size_t max_bytes);

/* The same written to out (e.g. stdout); returns what fputs returns. */
int nbh_fput_printable(const char *text, size_t max_bytes, FILE *out);

#endif /* NBH_UTF8_H */
