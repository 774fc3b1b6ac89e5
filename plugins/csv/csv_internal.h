/*
 * csv_internal.h - what the files of the csv connector share: the settings
 * they have in common, declared column types, type inference, and the
 * source and destination entry points that csv_connector.c puts in the
 * vtable.
 */
#ifndef CSV_INTERNAL_H
#define CSV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nebula/sdk.h"

/* Settings that shape the CSV text, on both sides. */
typedef struct CsvFormat {
  char delimiter;
  char quote;
  bool header;
  char *null_string; /* NULL: no null string (owned) */
} CsvFormat;

/* The settings declaration (csv_connector.c): the opens read defaults and
 * choices from it. */
#define CSV_N_SETTINGS 13
extern const NbSettingSpec csv_settings[CSV_N_SETTINGS];

/* Open one side's settings (NB_SETTING_SOURCE or NB_SETTING_DEST) through
 * the declaration. */
#define CSV_DECLARED(args, side) NB_DECLARED_SETTINGS((args)->settings, csv_settings, CSV_N_SETTINGS, (side))

int csv_format_from_settings(const NbDeclaredSettings *set, CsvFormat *format, NbError *err);
void csv_format_free(CsvFormat *format);

/* One entry of the `columns` setting: "name:type". */
typedef struct CsvDeclaredColumn {
  char *name;
  NbType type;
  int32_t precision;
  int32_t scale;
} CsvDeclaredColumn;

/* Parse the `columns` setting ("zip:string; amount:decimal(10,2)").  An
 * empty or absent text gives zero columns. */
int csv_declared_columns_parse(const char *text, CsvDeclaredColumn **out, size_t *n,
                               NbError *err);
void csv_declared_columns_free(CsvDeclaredColumn *columns, size_t n);

/* Type inference, from narrowest to widest.  A value is INT64 when it is
 * "0" or an optional minus and digits without a leading zero, within
 * int64 range; NUMBER when it is any other JSON number ("2.50", "-0",
 * "1e5", integers beyond int64), kept as text; everything else STRING. */
typedef enum CsvKind { CSV_KIND_INT64 = 0, CSV_KIND_NUMBER = 1, CSV_KIND_STRING = 2 } CsvKind;

CsvKind csv_classify(const char *text, size_t len, int64_t *int_value);

/* Source and destination slots of the vtable. */
int csv_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source,
                    NbError *err);
int csv_source_stream_count(void *source, uint32_t *count, NbError *err);
int csv_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err);
int csv_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err);
int csv_source_seek(void *source, uint32_t index, const void *position, size_t position_len,
                    NbError *err);
int csv_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info,
                    NbError *err);
void csv_source_close(void *source);

int csv_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest, NbError *err);
int csv_dest_prepare(void *dest, const char *stream_name, const struct ArrowSchema *schema,
                     uint32_t *dest_stream, NbError *err);
int csv_dest_write(void *dest, uint32_t dest_stream, const struct ArrowArray *batch,
                   NbError *err);
int csv_dest_commit(void *dest, const void **state, size_t *state_len, NbError *err);
void csv_dest_close(void *dest);

/* Limits of the source (settings max_columns and max_record_bytes): the
 * largest values accepted (the defaults are in the declaration). */
#define CSV_LIMIT_MAX_COLUMNS (1 << 20)
#define CSV_LIMIT_MAX_RECORD_BYTES ((int64_t)1 << 30)

/* What to do with empty or repeated names in a CSV header (setting
 * header_names). */
typedef enum CsvHeaderNames { CSV_NAMES_DEDUPE = 0, CSV_NAMES_STRICT = 1 } CsvHeaderNames;

/* Make names[0..n) unique in place by the rule of csv_names.c (dedupe), or
 * refuse an empty or repeated one (strict).  names are malloc'ed strings
 * owned by the caller; a renamed entry's old string is freed and replaced
 * by a new malloc'ed one.  path and line name the header in errors.
 * Returns NB_OK, NB_INVALID (strict: err names the file, the line and both
 * columns) or NB_NOMEM (names stay valid and owned by the caller). */
int csv_unique_names(char **names, size_t n, CsvHeaderNames mode, const char *path,
                     int64_t line, NbError *err);

/* Move an error set by a callee into the caller's err (which may be NULL). */
void csv_error_move(NbError *dst, NbError *src);

#endif /* CSV_INTERNAL_H */
