/*
 * nebula/sdk.h - helpers of libnebula-sdk that make a connector short.
 *
 * Link with `pkg-config --libs nebula-sdk`.  Everything here is optional: a
 * connector may fill the ABI structs of nebula/abi.h by hand or with
 * nanoarrow.  Nebula's own connectors use only this SDK.
 *
 * Conventions for every function below unless its comment says otherwise:
 *   - functions return an NbStatus and fill the optional NbError *err;
 *   - pointers passed in are borrowed for the call;
 *   - destructors accept NULL;
 *   - no function keeps global state; objects are used by one thread at a
 *     time.
 *
 * libnebula-sdk has its own library version (libtool -version-info); its
 * functions only grow.  Functions that depend on the layout of an ABI struct
 * compiled into the connector are static inline here, so they always match
 * the connector's own view of the ABI.
 *
 * Each function is marked NB_SINCE(major, minor): the libnebula-sdk release
 * that added it, named by the connector ABI it shipped with.  1.0 is the
 * library recorded in tests/abi/libnebula-sdk-1.0.abi (-version-info 2:0:1);
 * 1.1 shipped with ABI 1.1 (3:0:2), 1.2 with ABI 1.2 (4:0:3).  A connector that needs a 1.1 function
 * requires that release in NEBULA_CONNECTOR([1:...]).  A function marked
 * "deprecated" stays exported and working for the life of
 * libnebula-sdk.so.1; new code uses the replacement its comment names.
 *
 * Structs the library fills (NbColumnView) may grow at the end in a later
 * release; structs the caller passes in arrays (NbField, NbStringRef) are
 * frozen for the life of libnebula-sdk.so.1.  See each struct.
 */
#ifndef NEBULA_SDK_H
#define NEBULA_SDK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nebula/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Documents the release that added a function (see above); expands to
 * nothing. */
#define NB_SINCE(major, minor)

#if defined(__GNUC__) || defined(__clang__)
#define NB_PRINTF(fmt_index, first_arg) \
  __attribute__((format(printf, fmt_index, first_arg)))
#else
#define NB_PRINTF(fmt_index, first_arg)
#endif

/* ------------------------------------------------------------------------
 * Status names and errors
 * ------------------------------------------------------------------------ */

/* "NB_OK", "NB_IO", ...; "NB_UNRECOGNIZED" for other values.  Static. */
NB_SINCE(1, 0)
const char *nb_status_name(int status);

/* Set err's code and message (printf-style) and install the SDK's release.
 * An earlier message in err is released first.  err may be NULL.  Returns
 * code, so `return nb_error_set(err, NB_IO, "...");` reads well.  On an
 * allocation failure the error keeps the code with a static message. */
NB_SINCE(1, 0)
int nb_error_set(NbError *err, int code, const char *fmt, ...) NB_PRINTF(3, 4);
NB_SINCE(1, 0)
int nb_error_setv(NbError *err, int code, const char *fmt, va_list ap);

/* Add a detail or hint sentence (printf-style) to an error already set. */
NB_SINCE(1, 0)
void nb_error_detail(NbError *err, const char *fmt, ...) NB_PRINTF(2, 3);
NB_SINCE(1, 0)
void nb_error_hint(NbError *err, const char *fmt, ...) NB_PRINTF(2, 3);

/* Record where the error is: location (copied, may be NULL), 1-based line
 * and column (0 for unknown). */
NB_SINCE(1, 0)
void nb_error_locate(NbError *err, const char *location, int64_t line,
                     int64_t column);

/* Attach a copy of the raw bad record (NB_DATA). */
NB_SINCE(1, 0)
void nb_error_record(NbError *err, const void *record, size_t len);

/* Call err->release if set and zero the error (keeping struct_size).  NULL
 * is a no-op. */
NB_SINCE(1, 0)
void nb_error_release(NbError *err);

/* Zero *err and set its struct_size: ready to pass to a call. */
NB_SINCE(1, 0)
static inline void nb_error_init(NbError *err) {
  memset(err, 0, sizeof *err);
  err->struct_size = (uint32_t)sizeof *err;
}

/* ------------------------------------------------------------------------
 * Logging through the host
 * ------------------------------------------------------------------------ */

/* Format and send one line to host->log.  host may be NULL (no-op). */
NB_SINCE(1, 0)
void nb_log(const NbHostApi *host, int level, const char *fmt, ...)
    NB_PRINTF(3, 4);

/* Close a file of host->file_open_* where no caller can take an error (a
 * connector's close): a failure is logged at NB_LOG_ERROR naming path and
 * the reason.  file may be NULL (nothing to do); file is given up in any
 * case, as file_close does.  Returns file_close's status.  \since 1.2 */
NB_SINCE(1, 2)
int nb_file_close_logged(const NbHostApi *host, NbFile *file, const char *path);

/* ------------------------------------------------------------------------
 * Settings
 *
 * Getters look name up in settings (passed to open); when it is absent,
 * *out = fallback.  A value that does not parse as the type returns
 * NB_INVALID with an error naming the setting and the value.
 * ------------------------------------------------------------------------ */

/* The raw text of a setting, or NULL if absent. */
NB_SINCE(1, 0)
const char *nb_settings_find(const NbSettings *settings, const char *name);

NB_SINCE(1, 0)
int nb_setting_string(const NbSettings *settings, const char *name,
                      const char *fallback, const char **out, NbError *err);
NB_SINCE(1, 0)
int nb_setting_int(const NbSettings *settings, const char *name,
                   int64_t fallback, int64_t *out, NbError *err);
NB_SINCE(1, 0)
int nb_setting_double(const NbSettings *settings, const char *name,
                      double fallback, double *out, NbError *err);
NB_SINCE(1, 0)
int nb_setting_bool(const NbSettings *settings, const char *name,
                    bool fallback, bool *out, NbError *err);
/* choices is "a|b|c"; *out is the 0-based index of the value. */
NB_SINCE(1, 0)
int nb_setting_enum(const NbSettings *settings, const char *name,
                    const char *choices, int fallback, int *out, NbError *err);

/* Check settings against a declaration for one side (NB_SETTING_SOURCE or
 * NB_SETTING_DEST): unrecognized names (with a "did you mean" hint), names
 * given twice, missing REQUIRED ones, values that do not parse as the
 * declared type or are not one of the ENUM choices.  The first problem is
 * reported (NB_INVALID); a SECRET setting's value is never quoted.  settings
 * may be NULL (none given).  spec is stepped through by spec[0].struct_size,
 * so a declaration built against a later minor is read correctly.  The host
 * runs this before open; connectors may run it again.
 *
 * Accepted text per type: INT a decimal integer with optional sign that
 * fits int64_t; DOUBLE a finite decimal or scientific number; BOOL true,
 * false, yes, no, on, off, 1, 0 (any case); ENUM one of the choices,
 * exactly. */
NB_SINCE(1, 0)
int nb_settings_check(const NbSettings *settings, const NbSettingSpec *spec,
                      uint32_t n_spec, uint32_t side, NbError *err);

/* Check one text value against a spec entry (type, choices). */
NB_SINCE(1, 0)
int nb_setting_value_check(const NbSettingSpec *spec, const char *value,
                           NbError *err);

/* Check a connector's settings declaration (n entries stepped through by
 * nb_setting_spec_at) against the rules every host applies when it loads
 * the connector (the conformance kit applies the same): struct_size at
 * least the ABI 1.0 size, a multiple of the alignment and equal in every
 * entry; names lower_snake_case (at most 64 bytes), declared once per side
 * (a name may appear twice only as source-only and destination-only); a
 * known type and known flags, not both SOURCE and DEST; ENUM choices
 * non-empty words separated by '|', each once, and no choices for other
 * types; not REQUIRED together with a default; a default that parses as
 * the type; a doc of one line without a final period.  Returns NB_OK, or
 * NB_INVALID with the message "invalid settings declaration" and a DETAIL
 * naming the setting and the rule. */
NB_SINCE(1, 1)
int nb_settings_declaration_check(const NbSettingSpec *spec, uint32_t n,
                                  NbError *err);

/* Entry i of a settings declaration, stepping by spec[0].struct_size (the
 * stride rule of nebula/abi.h), so a declaration built against a later
 * minor is read correctly.  NULL when spec is NULL; i is not checked. */
NB_SINCE(1, 1)
const NbSettingSpec *nb_setting_spec_at(const NbSettingSpec *spec,
                                        uint32_t i);

/* ------------------------------------------------------------------------
 * Settings read through the declaration
 *
 * The declaration is the one place a setting's default and choices are
 * written: these getters take them from it, so an open function repeats
 * no default, no "a|b" list and no magic index.  A getter looks name up
 * among the entries that apply to `side` (a name may be declared twice,
 * once per side, with different defaults or choices), takes the value
 * given, else the declared default, and parses it as the declared type.
 * Returns NB_OK; NB_INVALID for a value that does not parse or is not one
 * of the choices, or a REQUIRED setting without a value or with an empty
 * one (so an open need not test for either; err names the
 * setting, never quoting a SECRET value); NB_INTERNAL for a getter that
 * does not fit the declaration (name not declared for the side, a type
 * other than the getter's, or no value and no default for a number, a
 * boolean or a choice): a bug of the connector, not of the configuration.
 * ------------------------------------------------------------------------ */

/* A connector's settings with its declaration, for one side.  Caller
 * owned; build it with NB_DECLARED_SETTINGS.  \since 1.2 */
typedef struct NbDeclaredSettings {
  uint32_t struct_size;          /* sizeof(NbDeclaredSettings) */
  uint32_t side;                 /* NB_SETTING_SOURCE or NB_SETTING_DEST */
  const NbSettings *settings;    /* what the connector was opened with */
  const NbSettingSpec *spec;     /* its declaration (the stride rule) */
  uint32_t n_spec;
} NbDeclaredSettings;

#define NB_DECLARED_SETTINGS(settings_, spec_, n_spec_, side_)           \
  { (uint32_t)sizeof(NbDeclaredSettings), (side_), (settings_), (spec_), \
    (n_spec_) }

/* The declaration's entry for name on d's side, or NULL. */
NB_SINCE(1, 2)
const NbSettingSpec *nb_declared_spec(const NbDeclaredSettings *d,
                                      const char *name);
/* STRING or ENUM (the choice's text); *out is NULL when the setting has no
 * value and no default (and is not REQUIRED). */
NB_SINCE(1, 2)
int nb_declared_string(const NbDeclaredSettings *d, const char *name,
                       const char **out, NbError *err);
NB_SINCE(1, 2)
int nb_declared_int(const NbDeclaredSettings *d, const char *name,
                    int64_t *out, NbError *err);
NB_SINCE(1, 2)
int nb_declared_bool(const NbDeclaredSettings *d, const char *name,
                     bool *out, NbError *err);
/* ENUM: *out is the 0-based index of the value among the declared
 * choices of d's side. */
NB_SINCE(1, 2)
int nb_declared_enum(const NbDeclaredSettings *d, const char *name, int *out,
                     NbError *err);

/* The codecs of the host's file layer (NbWriteOptions.compression), and
 * the two settings a file destination offers for them, declared once here.
 * A destination whose files all go through file_open_write sets
 * NB_CAP_HOST_FILE_COMPRESSION instead (nebula/abi.h): the host declares
 * these two for it and applies them, and the connector neither declares
 * nor reads them.  One that chooses per file (or must know the codec)
 * declares them itself:
 *   static const NbSettingSpec x_settings[] = { ..., NB_FILE_COMPRESSION_SETTINGS };
 * and reads them with nb_declared_string / nb_declared_int.  \since 1.2 */
#define NB_COMPRESSION_CHOICES "none|gzip|zstd|lz4|snappy|auto"
#define NB_FILE_COMPRESSION_SETTINGS                                        \
  NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "compression", "auto",       \
             NB_COMPRESSION_CHOICES,                                        \
             "compression of the output; auto chooses by file extension"), \
  NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST | NB_SETTING_TUNING,        \
             "compression_level", "0",                                      \
             NULL, "codec level; 0 is the codec's default")

/* One output file per stream: pattern with every "{stream}" replaced by
 * the stream name's base name, the part after its last '/' up to the
 * first '.' that does not begin it ("logs/in.csv.gz" -> "in").  Returns
 * new memory the caller frees with free(), or NULL when out of memory or
 * pattern or stream is NULL.  The host still refuses an output that would
 * be an input, "-" or outside the destination's directory when the file
 * is opened.  \since 1.2 */
NB_SINCE(1, 2)
char *nb_stream_path(const char *pattern, const char *stream);

/* The proleptic Gregorian calendar without the C library's time zone
 * state: the day number (days since 1970-01-01, negative before) of
 * y-m-d, and the date of a day number.  m is 1..12 and d 1..31 (not
 * checked against the month); exact for |days| < 2^60.  \since 1.2 */
NB_SINCE(1, 2)
int64_t nb_days_from_civil(int64_t y, unsigned m, unsigned d);
NB_SINCE(1, 2)
void nb_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* Whether pattern holds "{stream}" (false for NULL).  \since 1.2 */
NB_SINCE(1, 2)
bool nb_path_has_stream(const char *pattern);

/* What nb_path_expand calls for each input file: path is valid during the
 * call only; size_bytes is -1 when unknown.  NB_OK goes on; anything else
 * stops the expansion and is returned.  \since 1.2 */
typedef int (*NbPathEach)(void *cookie, const char *path, int64_t size_bytes);
/* The input files of a file source's "path" setting, in sorted order:
 * "-" or a path without wildcards as is (each is called even when it does
 * not exist: opening it reports that); a pattern with a URL scheme listed
 * by host->file_list when host (may be NULL) has that slot; else every
 * match of glob(3).  Returns each's status, or NB_NOT_FOUND when nothing
 * matches (err names the pattern and hints at "path"), NB_NOMEM, NB_IO,
 * and the return codes of NbHostApi.file_list.  Keeps nothing.
 * \since 1.2 */
NB_SINCE(1, 2)
int nb_path_expand(const NbHostApi *host, const char *pattern, NbPathEach each,
                   void *cookie, NbError *err);

/* ------------------------------------------------------------------------
 * A source's streams
 * ------------------------------------------------------------------------ */

/* NB_OK when index < n_streams, else NB_INVALID (the code of
 * source_stream_info and the other per-stream slots) with an error naming
 * the index and the count.  \since 1.2 */
NB_SINCE(1, 2)
int nb_stream_index_check(uint32_t index, size_t n_streams, NbError *err);

/* Fill source_stream_info's *out: name (borrowed, valid until
 * source_close) and size_bytes (-1 when unknown), each only when out's
 * struct_size covers it.  Inline: NbStreamInfo's layout is the
 * connector's.  \since 1.2 */
static inline void nb_stream_info_set(NbStreamInfo *out, const char *name,
                                      int64_t size_bytes) {
  if (NB_STRUCT_HAS(NbStreamInfo, out, name)) out->name = name;
  if (NB_STRUCT_HAS(NbStreamInfo, out, size_bytes)) out->size_bytes = size_bytes;
}

/* ------------------------------------------------------------------------
 * Arrays of structs keyed by a string
 *
 * A connector's streams by name, its open files by path, the files of its
 * saved state by path: a caller-owned array of n structs, each holding its
 * key as a `char *` member that the caller frees with free() when it drops
 * the item.  Use the macros, which pass the size and the key's offset.
 * ------------------------------------------------------------------------ */

/* The index of the first item whose key equals key (strcmp), or n when
 * none (also for a NULL items or key).  Borrows everything.  \since 1.2 */
NB_SINCE(1, 2)
size_t nb_keyed_find(const void *items, size_t n, size_t item_size,
                     size_t key_offset, const char *key);
/* Grow items (n items, may be NULL when n is 0) by one item, all zero but
 * its key, a copy of key (malloc'ed, the caller's to free()).  Returns the
 * array, maybe moved (as realloc), with the new item at index n; NULL when
 * out of memory, items then unchanged and still the caller's.
 * \since 1.2 */
NB_SINCE(1, 2)
void *nb_keyed_append(void *items, size_t n, size_t item_size,
                      size_t key_offset, const char *key);

/* The item whose key is key, added (as nb_keyed_append, *n grown by one)
 * when there is none: returns the array, maybe moved, with *index the
 * item's; NULL when out of memory, items then unchanged.  \since 1.2 */
NB_SINCE(1, 2)
void *nb_keyed_find_or_add(void *items, size_t *n, size_t item_size,
                           size_t key_offset, const char *key, size_t *index);

#define NB_KEYED_FIND(items, n, type, member, key) \
  nb_keyed_find((items), (n), sizeof(type), offsetof(type, member), (key))
#define NB_KEYED_APPEND(items, n, type, member, key) \
  ((type *)nb_keyed_append((items), (n), sizeof(type), offsetof(type, member), (key)))
#define NB_KEYED_FIND_OR_ADD(items, n_ptr, type, member, key, index_ptr)            \
  ((type *)nb_keyed_find_or_add((items), (n_ptr), sizeof(type), offsetof(type, member), \
                                (key), (index_ptr)))

/* ------------------------------------------------------------------------
 * Text state blobs
 *
 * A file destination's state (the committed length of each of its files)
 * is easiest kept as text: a first line naming the format, then per file
 * numbers and "<path length> <path>\n".  These read such a blob from *s,
 * never past end, advancing *s only on success.  The blob is untrusted:
 * anything the writer would not produce is refused.
 * ------------------------------------------------------------------------ */

/* The bytes of literal (a magic line).  \since 1.2 */
NB_SINCE(1, 2)
bool nb_text_expect(const char **s, const char *end, const char *literal);
/* An unsigned decimal (digits only, fits 64 bits) then sep.  \since 1.2 */
NB_SINCE(1, 2)
bool nb_text_u64(const char **s, const char *end, char sep, uint64_t *out);
/* "<length> <path>\n": *path is a new string (free() it), not empty and
 * without NUL.  Returns NB_OK, NB_INVALID (malformed; *path NULL) or
 * NB_NOMEM.  \since 1.2 */
NB_SINCE(1, 2)
int nb_text_path(const char **s, const char *end, char **path);


/* ------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------ */

/* Fill *out per the entry protocol of nebula/abi.h, from a connector
 * description `desc` built against this header.  Inline so that sizeof
 * (NbConnector) is the connector's own.  Returns NB_OK; NB_ABI_MISMATCH
 * when host_abi's major is not NB_ABI_MAJOR (err says both versions);
 * NB_INVALID when out or desc is NULL or out->struct_size < 8.
 * \since libnebula-sdk 0.1.0 (err filled since ABI 1.1). */
NB_SINCE(1, 0)
static inline int nb_connector_entry_fill(uint32_t host_abi, NbConnector *out,
                                          const NbConnector *desc,
                                          NbError *err) {
  uint32_t host_size;
  if (out == NULL || desc == NULL)
    return nb_error_set(err, NB_INVALID,
                        "nebula_connector_entry called with a NULL %s",
                        out == NULL ? "vtable" : "description");
  host_size = out->struct_size;
  if (host_size < 8)
    return nb_error_set(err, NB_INVALID,
                        "the host's NbConnector struct_size %u is smaller than "
                        "8 bytes", (unsigned)host_size);
  out->abi_version = NB_ABI_CURRENT;
  out->struct_size = host_size < (uint32_t)sizeof(NbConnector)
                         ? host_size
                         : (uint32_t)sizeof(NbConnector);
  if (NB_ABI_MAJOR_OF(host_abi) != NB_ABI_MAJOR)
    return nb_error_set(err, NB_ABI_MISMATCH,
                        "connector \"%s\" is built for ABI %u.%u, the host "
                        "provides ABI %u.%u",
                        desc->name != NULL ? desc->name : "(unnamed)",
                        (unsigned)NB_ABI_MAJOR, (unsigned)NB_ABI_MINOR,
                        (unsigned)NB_ABI_MAJOR_OF(host_abi),
                        (unsigned)NB_ABI_MINOR_OF(host_abi));
  memcpy((char *)out + 8, (const char *)desc + 8, out->struct_size - 8);
  return NB_OK;
}

/* Writes the exported entry function (declared in nebula/abi.h).
 * `describe` is a function `void describe(NbConnector *c)` that fills
 * name, version, settings and slots of a zeroed NbConnector (struct_size
 * and abi_version are set for you).  Use once per connector:
 *
 *   NB_CONNECTOR_ENTRY(csv_describe)
 */
#define NB_CONNECTOR_ENTRY(describe)                                      \
  NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, \
                                       NbError *err) {                    \
    NbConnector desc;                                                     \
    memset(&desc, 0, sizeof desc);                                        \
    desc.struct_size = (uint32_t)sizeof desc;                             \
    desc.abi_version = NB_ABI_CURRENT;                                    \
    describe(&desc);                                                      \
    return nb_connector_entry_fill(host_abi, out, &desc, err);            \
  }

/* The number of entries of a static array (a settings declaration). */
#define NB_COUNT(array) ((uint32_t)(sizeof(array) / sizeof((array)[0])))

/* The "checked open": check args->settings against conn's declaration for
 * side (NB_SETTING_SOURCE or NB_SETTING_DEST) with nb_settings_check, then
 * call conn's source_open or dest_open.  The host checks settings before
 * opening, but another host (or the conformance kit) may not, so a
 * connector refuses unrecognized or ill-typed settings itself, before
 * anything is opened.  Returns NB_INVALID (no args or handle, no open slot
 * for side, a setting problem) or what the open slot returns; *handle is
 * NULL on failure.  Inline: conn has the connector's own layout. */
NB_SINCE(1, 1)
static inline int nb_connector_open_checked(const NbConnector *conn,
                                            uint32_t side,
                                            const NbHostApi *host,
                                            const NbOpenArgs *args,
                                            void **handle, NbError *err) {
  int (*open)(const NbHostApi *, const NbOpenArgs *, void **, NbError *) =
      side == NB_SETTING_SOURCE ? conn->source_open : conn->dest_open;
  int rc;
  if (handle != NULL) *handle = NULL;
  if (args == NULL || handle == NULL || open == NULL)
    return nb_error_set(err, NB_INVALID,
                        "connector \"%s\": %s opened without %s", conn->name,
                        side == NB_SETTING_SOURCE ? "source" : "destination",
                        open == NULL ? "an open function" : "arguments");
  rc = nb_settings_check(args->settings, conn->settings, conn->n_settings,
                         side, err);
  return rc != NB_OK ? rc : open(host, args, handle, err);
}

/* Writes the whole entry of a connector described by one static const
 * NbConnector (designated initializers; struct_size and abi_version may be
 * left 0), with source_open and dest_open wrapped by
 * nb_connector_open_checked, so the connector writes no entry, describe or
 * checked-open code of its own:
 *
 *   static const NbConnector csv = {
 *       .name = "csv", .version = "1.0.0", .description = "...",
 *       .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION,
 *       .settings = csv_settings, .n_settings = NB_COUNT(csv_settings),
 *       .source_open = csv_source_open, ...,
 *       .dest_open = csv_dest_open, ...};
 *   NB_CONNECTOR_EXPORT(csv)
 *
 * Use once per connector, at file scope.  \since 1.1 */
#define NB_CONNECTOR_EXPORT(conn)                                         \
  static int nb_checked_source_open_(const NbHostApi *host,               \
                                     const NbOpenArgs *args,              \
                                     void **handle, NbError *err) {       \
    return nb_connector_open_checked(&(conn), NB_SETTING_SOURCE, host,    \
                                     args, handle, err);                  \
  }                                                                       \
  static int nb_checked_dest_open_(const NbHostApi *host,                 \
                                   const NbOpenArgs *args, void **handle, \
                                   NbError *err) {                        \
    return nb_connector_open_checked(&(conn), NB_SETTING_DEST, host,      \
                                     args, handle, err);                  \
  }                                                                       \
  static void nb_describe_(NbConnector *c) {                              \
    uint32_t size_ = c->struct_size;                                      \
    *c = (conn);                                                          \
    c->struct_size = size_;                                               \
    c->abi_version = NB_ABI_CURRENT;                                      \
    if (c->source_open != NULL) c->source_open = nb_checked_source_open_; \
    if (c->dest_open != NULL) c->dest_open = nb_checked_dest_open_;       \
  }                                                                       \
  NB_CONNECTOR_ENTRY(nb_describe_)

/* Initialiser for one NbSettingSpec entry. */
#define NB_SETTING(type_, flags_, name_, default_, choices_, doc_) \
  { (uint32_t)sizeof(NbSettingSpec), (type_), (flags_), (name_), (default_), \
    (choices_), (doc_) }

/* ------------------------------------------------------------------------
 * Positions: opaque resume positions made of a few unsigned integers, in a
 * small versioned binary format ("NBP1", count, little-endian values), so a
 * foreign or corrupt position is recognised.
 * ------------------------------------------------------------------------ */

#define NB_POSITION_MAX_VALUES 16
/* Enough bytes for any encoded position. */
#define NB_POSITION_MAX_BYTES (8 + 8 * NB_POSITION_MAX_VALUES)

/* Encode n (<= NB_POSITION_MAX_VALUES) values into buf (capacity cap).
 * Returns the encoded length, 0 if cap is too small. */
NB_SINCE(1, 0)
size_t nb_position_encode(void *buf, size_t cap, const uint64_t *values,
                          size_t n);
/* Decode exactly n values; NB_INVALID with a clear error if the bytes are
 * not a position of n values. */
NB_SINCE(1, 0)
int nb_position_decode(const void *position, size_t len, uint64_t *values,
                       size_t n, NbError *err);

/* ------------------------------------------------------------------------
 * Column types
 *
 * The logical types Nebula's connectors exchange, and how each travels in
 * Arrow:
 *   NB_TYPE_UTF8        "u"  string (int32 offsets)
 *   NB_TYPE_LARGE_UTF8  "U"  string (int64 offsets)
 *   NB_TYPE_INT64       "l"
 *   NB_TYPE_FLOAT64     "g"
 *   NB_TYPE_BOOL        "b"
 *   NB_TYPE_DECIMAL128  "d:precision,scale"
 *   NB_TYPE_NUMBER      "u" + extension "nebula.number": a number kept as
 *                       its exact text (JSON number grammar), never rounded
 *   NB_TYPE_DATE32      "tdD" days since 1970-01-01
 *   NB_TYPE_TIMESTAMP   "tsu:<tz>" microseconds since the epoch, UTC, tz
 *                       name or offset ("UTC", "+01:00"), "" for none
 *   NB_TYPE_JSON        "u" + extension "arrow.json": one JSON value as
 *                       text (nested objects and arrays)
 * Extension types are carried in the field's metadata
 * ("ARROW:extension:name"), as the Arrow specification defines.
 * ------------------------------------------------------------------------ */
typedef enum NbType {
  NB_TYPE_UTF8 = 1,
  NB_TYPE_LARGE_UTF8,
  NB_TYPE_INT64,
  NB_TYPE_FLOAT64,
  NB_TYPE_BOOL,
  NB_TYPE_DECIMAL128,
  NB_TYPE_NUMBER,
  NB_TYPE_DATE32,
  NB_TYPE_TIMESTAMP,
  NB_TYPE_JSON
} NbType;

/* One column of a schema.  Strings are borrowed by the functions taking a
 * field; in fields returned by nb_schema_fields they point into the schema
 * (valid while it is).
 *
 * Frozen: callers pass arrays of NbField to the library (nb_schema_export,
 * nb_batch_builder_new), which steps through them by this sizeof, so the
 * layout never changes within libnebula-sdk.so.1 (test_sdk_abi records it).
 * A later column attribute comes with new functions, never a new field. */
typedef struct NbField {
  const char *name;
  NbType type;
  bool nullable;
  int32_t precision;       /* DECIMAL128 */
  int32_t scale;           /* DECIMAL128 */
  const char *timezone;    /* TIMESTAMP; NULL means "UTC" */
} NbField;

/* "utf8", "int64", "decimal128(10,2)", ... into buf; returns buf. */
NB_SINCE(1, 0)
const char *nb_type_name(const NbField *field, char *buf, size_t cap);

/* Export an Arrow struct schema ("+s") with one child per field.  The
 * caller owns *out (release it). */
NB_SINCE(1, 0)
int nb_schema_export(const NbField *fields, size_t n, struct ArrowSchema *out,
                     NbError *err);

/* Read a struct schema back into fields.  *fields is malloc'ed (free it
 * with free()); names point into schema.  NB_INVALID names the column whose
 * format is not one of the types above. */
NB_SINCE(1, 0)
int nb_schema_fields(const struct ArrowSchema *schema, NbField **fields,
                     size_t *n, NbError *err);

/* Keep the schema dest_prepare borrows, for dest_write: copy schema into
 * *kept, which the caller owns (release it in dest_close).  *kept must be
 * zeroed before the first call; a later call (the stream's schema changed)
 * releases the earlier copy, but only once the new one is made: on failure
 * *kept is unchanged.  Columns must be of the types above (NB_INVALID names
 * the one that is not); field metadata other than the extension name is
 * not kept.  Returns NB_OK, NB_INVALID, NB_NOMEM. */
NB_SINCE(1, 1)
int nb_schema_copy(const struct ArrowSchema *schema, struct ArrowSchema *kept,
                   NbError *err);

/* ------------------------------------------------------------------------
 * Batch builder: build an Arrow struct array column by column.
 *
 *   NbBatchBuilder *b;
 *   nb_batch_builder_new(fields, n, 65536, &b, err);
 *   NbColumnBuilder *c0 = nb_batch_builder_column(b, 0);
 *   nb_column_append_utf8(c0, "x", 1); ...      (every column, every row)
 *   nb_batch_builder_finish(b, &array, err);    (array owns the buffers;
 *                                                the builder starts empty)
 *   nb_batch_builder_free(b);
 *
 * Append functions return NB_OK or NB_NOMEM (NB_INVALID for a value of the
 * wrong kind, e.g. appending a string to an int64 column).  Buffers grow
 * geometrically; a finished batch's release frees exactly what it owns,
 * once.
 * ------------------------------------------------------------------------ */
typedef struct NbBatchBuilder NbBatchBuilder;
typedef struct NbColumnBuilder NbColumnBuilder;

/* row_hint: expected rows per batch, to size buffers.  fields are copied. */
NB_SINCE(1, 0)
int nb_batch_builder_new(const NbField *fields, size_t n, size_t row_hint,
                         NbBatchBuilder **out, NbError *err);
NB_SINCE(1, 0)
void nb_batch_builder_free(NbBatchBuilder *builder);

NB_SINCE(1, 0)
NbColumnBuilder *nb_batch_builder_column(NbBatchBuilder *builder, size_t i);
NB_SINCE(1, 0)
size_t nb_batch_builder_columns(const NbBatchBuilder *builder);
/* Rows appended to column 0 so far, and bytes held in all buffers. */
NB_SINCE(1, 0)
size_t nb_batch_builder_rows(const NbBatchBuilder *builder);
NB_SINCE(1, 0)
size_t nb_batch_builder_bytes(const NbBatchBuilder *builder);

/* Move the built rows into *out (an Arrow "+s" array).  Every column must
 * have the same length (NB_INTERNAL otherwise).  The builder is empty
 * afterwards and may be reused.  The caller owns *out. */
NB_SINCE(1, 0)
int nb_batch_builder_finish(NbBatchBuilder *builder, struct ArrowArray *out,
                            NbError *err);
/* Forget the rows appended since the last finish (e.g. a bad record in the
 * middle of a row: nb_column_truncate each column instead). */
NB_SINCE(1, 0)
void nb_batch_builder_reset(NbBatchBuilder *builder);
/* Drop values beyond length rows in one column. */
NB_SINCE(1, 0)
void nb_column_truncate(NbColumnBuilder *column, size_t length);
NB_SINCE(1, 0)
size_t nb_column_length(const NbColumnBuilder *column);

NB_SINCE(1, 0)
int nb_column_append_null(NbColumnBuilder *column);
/* UTF8, LARGE_UTF8, NUMBER, JSON: the bytes as given (not validated).
 * data must not be NULL (pass "" for an empty value).  NB_NOMEM also when a
 * column with int32 offsets (all but LARGE_UTF8) would pass 2 GiB of text
 * in one batch: finish the batch earlier. */
NB_SINCE(1, 0)
int nb_column_append_utf8(NbColumnBuilder *column, const char *data,
                          size_t len);
NB_SINCE(1, 0)
int nb_column_append_int64(NbColumnBuilder *column, int64_t value);
NB_SINCE(1, 0)
int nb_column_append_double(NbColumnBuilder *column, double value);
NB_SINCE(1, 0)
int nb_column_append_bool(NbColumnBuilder *column, bool value);
/* DECIMAL128: the unscaled value as a two's complement 128-bit integer. */
NB_SINCE(1, 0)
int nb_column_append_decimal128(NbColumnBuilder *column, uint64_t low,
                                int64_t high);
NB_SINCE(1, 0)
int nb_column_append_date32(NbColumnBuilder *column, int32_t days);
NB_SINCE(1, 0)
int nb_column_append_timestamp(NbColumnBuilder *column, int64_t micros);

/* Parse text as the column's type and append it, exactly: INT64 must fit
 * (no rounding, no leading '+'); DECIMAL128 must have at most `scale`
 * fraction digits (more is NB_DATA, never rounded; extra trailing zeros are
 * accepted since they change nothing) and fit the precision;
 * NUMBER must follow JSON number grammar; DATE32 is YYYY-MM-DD; TIMESTAMP
 * is ISO 8601 ("2024-01-31T12:00:00Z", "2024-01-31 12:00:00.5+01:00", no
 * zone = UTC); BOOL is true/false (also 1/0, t/f, yes/no, any case);
 * FLOAT64 must parse completely.  Strings are appended as they are.
 * Returns NB_OK, NB_DATA (the text does not fit the type; err says why),
 * NB_NOMEM. */
NB_SINCE(1, 0)
int nb_column_append_text(NbColumnBuilder *column, const char *text,
                          size_t len, NbError *err);

/* A string value by reference (for nb_append_strings); frozen.  data NULL
 * means a null value where the function allows it. */
typedef struct NbStringRef {
  const char *data; /* not NULL, not NUL-terminated */
  size_t len;
} NbStringRef;

/* The one way to append many string values: a block of n_rows rows by
 * n_columns columns, values[r * n_columns + c] to column first_column + c,
 * as nb_column_append_utf8 would, a value whose data is NULL as a null (its
 * len is ignored).  The columns must be UTF8, LARGE_UTF8, NUMBER or JSON.
 *   a whole row (a CSV record):  nb_append_strings(b, 0, ncols, row, 1)
 *   many values of one column:   nb_append_strings(b, j, 1, values, n)
 * Both shapes take a fast path (the column's state stays in registers).
 * Returns NB_OK, NB_INVALID (b NULL, columns out of range, values NULL, a
 * column that is not a string column) or NB_NOMEM; on failure nothing of
 * the block is kept.  Appending to only some columns leaves the columns'
 * lengths unequal until the others catch up (finish checks them). */
NB_SINCE(1, 1)
int nb_append_strings(NbBatchBuilder *builder, size_t first_column,
                      size_t n_columns, const NbStringRef *values,
                      size_t n_rows);

/* Deprecated since 1.1, use nb_append_strings(b, 0, n, values, 1) (which
 * also takes nulls).  Append one row of string values at once: values[i] to column i, as
 * nb_column_append_utf8 would, for the n (= every) columns, which must all
 * be UTF8, LARGE_UTF8, NUMBER or JSON.  The hot path of text sources (a
 * CSV record): one call per row instead of one per value.  Returns NB_OK,
 * NB_INVALID (n is not the column count, or a column is not a string
 * column) or NB_NOMEM; on failure nothing of the row is kept. */
NB_SINCE(1, 0)
int nb_batch_builder_append_strings(NbBatchBuilder *builder,
                                    const NbStringRef *values, size_t n);

/* Deprecated since 1.1, use nb_append_strings(b, 0, n, values, 1).
 * As nb_batch_builder_append_strings, except that here a value whose data
 * is NULL is appended as a null (its len is ignored): a whole row, nulls
 * included, in one call.  Same return values; on failure nothing of the
 * row is kept. */
NB_SINCE(1, 0)
int nb_batch_builder_append_nullable_strings(NbBatchBuilder *builder,
                                             const NbStringRef *values,
                                             size_t n);

/* Deprecated since 1.1, use nb_append_strings(b, column, 1, values, n).
 * Append n values to one string column (UTF8, LARGE_UTF8, NUMBER or JSON)
 * as nb_column_append_utf8 would, a value whose data is NULL as a null
 * (its len is ignored).  The fastest way in for sources that make many
 * rows at once: the column's state stays in registers from one value to
 * the next.  Returns NB_OK, NB_INVALID (not a string column, column or
 * values NULL) or NB_NOMEM; on failure none of the n values is kept. */
NB_SINCE(1, 0)
int nb_column_append_nullable_strings(NbColumnBuilder *column,
                                      const NbStringRef *values, size_t n);

/* ------------------------------------------------------------------------
 * Reading batches (destinations)
 * ------------------------------------------------------------------------ */

/* A view of one column of a batch, for reading values as text.  Filled by
 * the library only (nb_batch_views), which may append fields in a later
 * release: read the fields below, never copy the struct by value or
 * allocate it yourself, and index an array of views with
 * nb_column_view_at() (it steps by the library's own size). */
typedef struct NbColumnView {
  NbField field;                  /* type of the column */
  const struct ArrowArray *array; /* borrowed child array */
  const uint8_t *validity;        /* NULL if no nulls */
  const void *offsets;            /* strings: int32 or int64 offsets */
  const uint8_t *data;            /* strings: bytes; others: values */
  int64_t offset;                 /* array->offset */
} NbColumnView;

/* Views of every column of a struct batch (schema: the "+s" schema the
 * batch follows).  *views is malloc'ed, n entries: free() it. */
NB_SINCE(1, 0)
int nb_batch_views(const struct ArrowSchema *schema,
                   const struct ArrowArray *batch, NbColumnView **views,
                   size_t *n, NbError *err);

NB_SINCE(1, 0)
static inline bool nb_view_is_null(const NbColumnView *v, int64_t row) {
  int64_t i = row + v->offset;
  return v->validity != NULL && !((v->validity[i >> 3] >> (i & 7)) & 1);
}

/* The value of row as text, exact: strings, NUMBER and JSON return their
 * bytes without copying; other types are formatted into scratch (which must
 * hold NB_TEXT_SCRATCH bytes): int64 in decimal, float64 shortest
 * round-trip form, decimal128 with exactly `scale` fraction digits, date
 * as YYYY-MM-DD, timestamp as ISO 8601 with the zone.  Returns the length;
 * *text points at the bytes.  Call only for non-null rows. */
#define NB_TEXT_SCRATCH 64
/* Deprecated since 1.1: scratch has no capacity.  Use nb_view_text_n. */
NB_SINCE(1, 0)
size_t nb_view_text(const NbColumnView *v, int64_t row, char *scratch,
                    const char **text);

/* As nb_view_text, with the capacity of buf given.  Strings, NUMBER, JSON
 * and BOOL return their bytes without copying; other types are formatted
 * into buf (NUL-terminated) when their text and the NUL fit in cap bytes
 * (NB_TEXT_SCRATCH always suffices).  Returns the text's length; *text
 * points at it, or is NULL when it did not fit (the return value is then
 * the length needed, as with snprintf) or when row is outside 0 ..
 * length - 1 (return value 0).  Call only for non-null rows. */
NB_SINCE(1, 1)
size_t nb_view_text_n(const NbColumnView *v, int64_t row, char *buf,
                      size_t cap, const char **text);

/* v as the shortest decimal that reads back (strtod, round to nearest) as
 * exactly v, in %g's syntax ("0.1", "1e+21", "5e-324", "-0"; "nan",
 * "inf"), the form nb_view_text_n gives FLOAT64.  A float widened to double
 * is formatted as that double, exactly (0.1f as 0.10000000149011612).  out
 * must hold NB_DOUBLE_CHARS bytes; returns the length, or 0 (out empty)
 * when cap is smaller. */
#define NB_DOUBLE_CHARS 32
NB_SINCE(1, 2)
size_t nb_format_double(double v, char *out, size_t cap);

/* &views[i] of an array from nb_batch_views, stepping by the library's
 * sizeof(NbColumnView).  NULL when views is NULL. */
NB_SINCE(1, 1)
const NbColumnView *nb_column_view_at(const NbColumnView *views, size_t i);

/* ------------------------------------------------------------------------
 * Validation of Arrow data (used by the conformance kit): buffer counts per
 * type, offsets non-negative and non-decreasing, lengths of children, null
 * counts, release set.
 *
 * The host checks every batch a source returns the same way before it
 * reads it, and fails the run naming the connector, stream and column.
 * What neither can check: the C Data Interface carries no buffer sizes, so
 * a values or data buffer shorter than the array's length or last offset
 * claims is not detected (run the connector's tests under ASan or
 * valgrind).  The source must get those sizes right.
 * ------------------------------------------------------------------------ */
NB_SINCE(1, 0)
int nb_arrow_validate(const struct ArrowSchema *schema,
                      const struct ArrowArray *array, NbError *err);

#ifdef __cplusplus
}
#endif

#endif /* NEBULA_SDK_H */
