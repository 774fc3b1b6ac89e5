/*
 * config_number.h - numbers in a configuration file, read from the text
 * as written.  libconfig 1.5 turns an integer literal that does not fit 32
 * bits (without an L suffix) or 64 bits into a wrong value without an
 * error (123456789012345678901234 becomes -1, 4294967296 becomes 0), and
 * a float beyond the double range into inf.  So the host finds the literal
 * of each numeric setting in the source text itself and converts it,
 * refusing what does not fit.
 */
#ifndef NBH_CONFIG_NUMBER_H
#define NBH_CONFIG_NUMBER_H

#include <stdbool.h>
#include <stddef.h>

/* Copy into out (cap bytes) the literal written as the value of setting
 * `name` whose name is on line `line` (1-based) of text: the token after
 * "name =" or "name :", comments and line breaks skipped.  Returns false
 * when it cannot be found or does not fit out. */
bool nbh_config_find_literal(const char *text, int line, const char *name, char *out,
                             size_t cap);

/* Convert an integer literal (decimal or 0x hex, optional sign, optional
 * L or LL suffix) to decimal text in out.  Returns 0, or -1 when it does
 * not fit a signed 64-bit integer (or is not an integer literal). */
int nbh_config_integer_text(const char *literal, char *out, size_t cap);

/* Check a float literal: 0 when it is a finite double that does not round
 * a non-zero value to zero, else -1. */
int nbh_config_float_check(const char *literal, double *value);

/* Check an integer given as text (command line, or a string): 1 when it is
 * an integer literal out of the signed 64-bit range, else 0 (in range, or
 * not an integer at all: the type check reports that). */
int nbh_config_integer_overflows(const char *text);

#endif /* NBH_CONFIG_NUMBER_H */
