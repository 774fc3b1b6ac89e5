/*
 * nebula/abi.h - the connector ABI of Nebula, version 1.2.
 *
 * This header is the specification of the boundary between nebula-host and
 * a connector (a shared object loaded at run time).  It is the only header a
 * connector needs; anything not written here is not part of the ABI.
 *
 * THE COMPATIBILITY PROMISE
 *   - An ABI version is NB_ABI_VERSION(major, minor).  The host loads a
 *     connector when the majors are equal and the connector's minor is <= the
 *     host's minor.  Otherwise it refuses the connector by name, giving both
 *     versions.
 *   - Within a major, every struct below is append-only: a field is never
 *     moved, removed, retyped or given a new meaning.  New fields go at the
 *     end and are tagged "\since ABI 1.x".  New status codes, setting types
 *     and capability bits may be added in a minor; readers treat unknown ones
 *     as documented at each place.
 *   - Every struct that crosses the boundary begins with uint32_t struct_size
 *     (the writer's sizeof).  A reader uses a field only when the writer's
 *     struct_size covers the whole field, i.e.
 *         struct_size >= offsetof(T, field) + sizeof(field)
 *     (NB_STRUCT_HAS below); other fields read as zero / NULL.  Comparing
 *     against offsetof alone is wrong: it accepts a field cut in half.
 *   - The caller allocates and zeroes every struct it passes and sets its
 *     struct_size to its own sizeof.  A callee writes no field beyond that.
 *   - Anything else (removing a field, changing a signature, changing the
 *     meaning of a status code) needs a new major.
 *
 * ARRAYS OF STRUCTS (the stride rule)
 *   An array of ABI structs (today only NbConnector.settings) is laid out
 *   with the writer's sizeof, which may be larger than the reader's (a
 *   connector built against a later minor).  The reader therefore steps
 *   through it by element[0].struct_size, never by its own sizeof:
 *       const NbSettingSpec *s_i =
 *           (const NbSettingSpec *)((const char *)array + i * stride);
 *   with stride = array[0].struct_size.  Every element carries the same
 *   struct_size; the stride is at least the ABI 1.0 size of the element
 *   (NB_SETTING_SPEC_SIZE_1_0) and a multiple of the element's alignment
 *   (alignof(void *)).  A reader refuses an array that breaks these rules,
 *   and reads only the fields the stride covers.
 *
 * WHAT CHANGED IN EACH MINOR
 *   1.0  the first release.
 *   1.1  NbConnector.dest_finish (optional; a destination's end of run).
 *        The rest of 1.1 writes down rules 1.0 already followed (the stride
 *        rule, the slots a host fills, every slot's return codes, the entry
 *        prototype): a 1.0 connector loads unchanged.
 *   1.2  NbHostApi.block_compress_bound, block_compress, block_decompress:
 *        one-shot compression of a buffer with the host's codecs, for file
 *        formats that compress their own pages (Parquet, Arrow IPC).
 *        NB_SETTING_TUNING: a setting that only tunes speed or reporting,
 *        left out of the configuration fingerprint a resume checks.  A
 *        host older than 1.2 refuses a declaration that uses it.
 *        NbHostApi.file_list: the files matching a pattern, local or in
 *        object storage, one callback per match.
 *        Storage modules (NbStorage, nebula_storage_entry): a second kind
 *        of module, found and version-checked by the same loader, that
 *        serves paths with a URL scheme ("s3://bucket/key") behind the
 *        file_* slots, so every connector reads object storage unchanged.
 *        NbStreamInfo.flags and NB_STREAM_REOPENS: a stream (an incremental
 *        table) that a later run re-reads from its saved end position
 *        instead of skipping it as finished.
 *        NbStreamInfo.key_columns and key_count (appended after flags): the
 *        columns of a stream's key (a table's primary key), in key order,
 *        shown by `nebula-host discover`.
 *        NB_CAP_HOST_FILE_COMPRESSION: a destination lets the host declare,
 *        check and apply "compression" / "compression_level" to the files
 *        it opens with file_open_write (csv, json).
 *        NbStorage.writer_open ... writer_close (appended after
 *        reader_close): writing objects with durable commits whose state
 *        blob the host keeps in its state file (exactly-once multipart
 *        uploads); a module without them is read-only.
 *        NbHostApi.committed_position: a source asks, during the run,
 *        which of its positions are durable downstream, so a replication
 *        slot can release its WAL without waiting for the next run.
 *
 * THREADS
 *   A source handle is used by one thread at a time, and so is a destination
 *   handle; the host may use a source and a destination of the same connector
 *   concurrently from two threads, and may open one connector several times.
 *   Connectors therefore keep no global mutable state.  Every NbHostApi
 *   function is thread-safe unless its comment says otherwise.
 *
 * WHAT A CONNECTOR MUST NOT DO
 *   exit() or abort() on bad input, write to stdout, install signal handlers,
 *   run code from constructors (the entry function must only fill structs),
 *   or unload itself.  The host never unloads a connector, so an NbError's
 *   release callback (connector code) stays callable for the whole process.
 */
#ifndef NEBULA_ABI_H
#define NEBULA_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "nebula/arrow_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------ */

/* One comparable integer per revision: major * 1,000,000 + minor * 1,000. */
#define NB_ABI_VERSION(major, minor) \
  ((uint32_t)(major) * 1000000u + (uint32_t)(minor) * 1000u)
#define NB_ABI_MAJOR_OF(version) ((uint32_t)(version) / 1000000u)
#define NB_ABI_MINOR_OF(version) (((uint32_t)(version) / 1000u) % 1000u)

#define NB_ABI_MAJOR 1
#define NB_ABI_MINOR 2
/* The version this header describes. */
#define NB_ABI_CURRENT NB_ABI_VERSION(NB_ABI_MAJOR, NB_ABI_MINOR)

/* The one symbol a connector exports (see nebula_connector_entry below).
 * A statically linked connector may export "<module>_LTX_" followed by this
 * name instead; libltdl tries that form first. */
#define NB_CONNECTOR_ENTRY_SYMBOL "nebula_connector_entry"

/* Symbol visibility: connectors are built with -fvisibility=hidden and mark
 * only the entry function with NB_EXPORT. */
#if defined(__GNUC__) || defined(__clang__)
#define NB_EXPORT __attribute__((visibility("default")))
#else
#define NB_EXPORT
#endif

/* Non-zero when the struct at p (of type T, whose writer set struct_size)
 * holds the whole of field: its end, not its start, is compared with
 * struct_size.  p must not be NULL. */
#define NB_STRUCT_HAS(T, p, field) \
  ((size_t)(p)->struct_size >= offsetof(T, field) + sizeof(((T *)0)->field))

/* ------------------------------------------------------------------------
 * Status codes
 *
 * Every function of the ABI returns one of these.  The set is deliberately
 * coarse: it tells the host what to DO (continue, retry, skip, stop), while
 * the NbError says what happened.  A reader that meets a code it does not
 * know treats it as NB_INTERNAL.
 * ------------------------------------------------------------------------ */
typedef enum NbStatus {
  NB_OK = 0,               /* success */
  NB_END = 1,              /* source_next: the stream has no more batches;
                              not an error, *out is left released */
  NB_SCHEMA_CHANGED = 2,   /* source_next: no batch was produced because the
                              stream's schema changed; call source_schema
                              again, then source_next */
  NB_INVALID = 3,          /* a setting or argument is wrong: a user's or a
                              programmer's mistake; retrying cannot help */
  NB_IO = 4,               /* an I/O operation failed (file, socket);
                              final: the host does not retry it (the run
                              fails and a later run resumes from the last
                              commit).  A failure the connector knows to be
                              transient (a connection reset or refused, a
                              server busy or shutting down, an HTTP 5xx)
                              is NB_UNAVAILABLE, never NB_IO. */
  NB_UNAVAILABLE = 5,      /* transient: a server is unreachable or busy;
                              the same call may succeed if retried later.
                              The host retries it by its retry policy
                              (max_retries, retry_deadline), so return it
                              only when calling the same slot again is
                              safe: a connector that lost a transaction
                              mid-way returns NB_IO instead. */
  NB_DATA = 6,             /* bad data: one record cannot be read or
                              written.  From source_next the stream can go
                              on: the next call continues after the bad
                              record, which must move the reported
                              position (and bytes_read, when known) past
                              it; see source_next for a broken stream.
                              Not a programming error. */
  NB_CANCELLED = 7,        /* the host asked to stop (is_cancelled) */
  NB_NOT_IMPLEMENTED = 8,  /* the function or option is not supported */
  NB_INTERNAL = 9,         /* a bug or a broken invariant */
  NB_NOMEM = 10,           /* an allocation failed */
  NB_ABI_MISMATCH = 11,    /* entry: the connector cannot serve this host's
                              ABI major */
  NB_NOT_FOUND = 12        /* a named file, stream or object does not exist */
} NbStatus;

/* ------------------------------------------------------------------------
 * Errors
 *
 * Every function takes an NbError *err, which may be NULL (the caller does
 * not want details).  The caller zeroes it and sets struct_size; on failure
 * the callee fills it and sets release.  The holder calls release exactly
 * once (if non-NULL); release frees every string below and sets release to
 * NULL.  release is connector code: the host copies what it needs and
 * releases the error at once.  On success the callee leaves *err untouched.
 *
 * Message style: message is one line, lower-case first letter, no final
 * period ("could not open file \"in.csv\": No such file or directory");
 * detail holds facts and hint what to do, both complete sentences.
 * ------------------------------------------------------------------------ */
typedef struct NbError {
  uint32_t struct_size;    /* set by the caller: sizeof(NbError) */
  int32_t code;            /* the NbStatus returned with this error */
  char *message;           /* primary message; owned by the error */
  char *detail;            /* optional, NULL if none; owned by the error */
  char *hint;              /* optional, NULL if none; owned by the error */
  char *location;          /* optional: file or object the error is about,
                              e.g. "in.csv"; owned by the error */
  int64_t line;            /* 1-based line in location, 0 if unknown */
  int64_t column;          /* 1-based column (field number for CSV, byte
                              column for JSON), 0 if unknown */
  char *record;            /* NB_DATA: the raw bytes of the bad record (not
                              NUL-terminated), NULL if not available */
  size_t record_len;       /* length of record */
  void (*release)(struct NbError *error);
  void *private_data;      /* owned by whoever set release */
} NbError;

/* ------------------------------------------------------------------------
 * Settings
 *
 * A connector declares its settings as data.  The host checks a pipeline's
 * configuration against the declaration before opening anything (unknown
 * names, missing required settings, wrong types, enum choices), fills in
 * defaults, prints the table in `nebula-host describe`, and never logs the
 * value of a SECRET setting.
 * ------------------------------------------------------------------------ */
typedef enum NbSettingType {
  NB_SETTING_STRING = 1,   /* any text */
  NB_SETTING_INT = 2,      /* decimal integer that fits int64_t */
  NB_SETTING_DOUBLE = 3,   /* decimal or scientific number */
  NB_SETTING_BOOL = 4,     /* "true" or "false" */
  NB_SETTING_ENUM = 5      /* one of the '|'-separated words in choices */
} NbSettingType;

#define NB_SETTING_REQUIRED 0x1u  /* the configuration must give a value */
#define NB_SETTING_SECRET 0x2u    /* never printed or logged */
#define NB_SETTING_SOURCE 0x4u    /* only for the source side */
#define NB_SETTING_DEST 0x8u      /* only for the destination side;
                                     neither bit: both sides */
#define NB_SETTING_TUNING 0x10u   /* (1.2) only tunes speed or reporting
                                     (a level, a buffer size): the state
                                     file's configuration fingerprint
                                     leaves it out, so changing it never
                                     blocks a resume */

typedef struct NbSettingSpec {
  uint32_t struct_size;        /* sizeof(NbSettingSpec) when built */
  uint32_t type;               /* an NbSettingType */
  uint32_t flags;              /* NB_SETTING_* bits */
  const char *name;            /* lower_snake_case, unique per connector */
  const char *default_value;   /* as text, NULL for none */
  const char *choices;         /* ENUM only: "lines|array"; else NULL */
  const char *doc;             /* one line, no final period */
} NbSettingSpec;

/* The size of NbSettingSpec as ABI 1.0 defined it: the smallest stride of a
 * settings array (see "the stride rule" above). */
#define NB_SETTING_SPEC_SIZE_1_0 \
  (offsetof(NbSettingSpec, doc) + sizeof(const char *))

/* The values a connector is opened with.  Owned by the host and valid only
 * during the open call: copy what you keep.  names[i] is a declared setting,
 * values[i] its text, already checked against the declared type ("true" /
 * "false" for BOOL, decimal text for INT), defaults filled in.  Settings
 * without a value and without a default are absent. */
typedef struct NbSettings {
  uint32_t struct_size;
  uint32_t count;
  const char *const *names;
  const char *const *values;
} NbSettings;

/* ------------------------------------------------------------------------
 * The host API: what the host offers to a connector.
 *
 * Passed to source_open / dest_open; valid until the handle is closed.
 *
 * Which slots are there: a host of ABI 1.0 or later always fills every
 * slot below up to and including file_skip (all of ABI 1.0), never NULL.
 * A slot added in a later minor is present only when the host's
 * struct_size covers it and it is not NULL; test both before use:
 *     if (NB_HOST_HAS(host, some_later_slot)) host->some_later_slot(...);
 * (NB_HOST_HAS compares offset + size with struct_size, see above.)  ABI
 * 1.1 adds no host slot; 1.2 adds the block_* slots and file_list.
 * ------------------------------------------------------------------------ */

/* Log levels. */
#define NB_LOG_ERROR 1
#define NB_LOG_WARN 2
#define NB_LOG_INFO 3
#define NB_LOG_DEBUG 4

/* A file opened through the host: transparent compression, "-" for stdin /
 * stdout.  Opaque; owned by the host; used by one thread at a time. */
typedef struct NbFile NbFile;

typedef struct NbWriteOptions {
  uint32_t struct_size;
  const char *compression; /* "none", "gzip", "zstd", "lz4", "snappy" or
                              "auto" (by extension: .gz .zst .lz4 .sz);
                              NULL means "auto" */
  int32_t level;           /* codec level; 0 means the codec's default */
  int32_t threads;         /* zstd worker threads; 0 means none */
  int64_t resume_length;   /* < 0: create or truncate the file.  >= 0:
                              truncate the existing file to this many bytes
                              (a length returned by file_commit) and append */
} NbWriteOptions;

typedef struct NbHostApi {
  uint32_t struct_size;
  uint32_t abi_version;    /* the host's NB_ABI_CURRENT */
  void *host_data;         /* pass back as the first argument below */

  /* Log one line (no newline needed).  The host adds the connector's name
   * and redacts secret values. */
  void (*log)(void *host_data, int level, const char *message);

  /* Non-zero once the host wants the run to stop (signal, fatal error in
   * the other stage).  Long operations poll it and return NB_CANCELLED. */
  int (*is_cancelled)(void *host_data);

  /* Add delta to the named counter (exported as a metric). */
  void (*counter_add)(void *host_data, const char *name, int64_t delta);

  /* Open path for reading; the compression is detected from the content.
   * "-" is standard input.  On success *out is a handle the caller closes
   * with file_close.  Returns NB_OK, NB_NOT_FOUND, NB_IO, NB_INVALID. */
  int (*file_open_read)(void *host_data, const char *path, NbFile **out,
                        NbError *err);

  /* Read up to capacity decompressed bytes into buf.  *n_read = 0 with
   * NB_OK means end of file.  Returns NB_OK, NB_IO, NB_DATA (corrupt or
   * truncated compressed input; the error names file, codec and offset). */
  int (*file_read)(NbFile *file, void *buf, size_t capacity, size_t *n_read,
                   NbError *err);

  /* Open path for writing ("-" is standard output).  options may be NULL
   * (create, compression by extension).  Returns NB_OK, NB_IO, NB_INVALID. */
  int (*file_open_write)(void *host_data, const char *path,
                         const NbWriteOptions *options, NbFile **out,
                         NbError *err);

  /* Write len bytes (they may stay buffered until file_commit).  Returns
   * NB_OK, NB_IO (err names the file), NB_INVALID (file not opened for
   * writing). */
  int (*file_write)(NbFile *file, const void *buf, size_t len, NbError *err);

  /* Make everything written so far durable: flush buffers, end the
   * compression frame (so a resumed run appends valid data) and fsync.
   * *durable_length is the file's length on disk afterwards, suitable for
   * NbWriteOptions.resume_length.  Returns NB_OK or NB_IO. */
  int (*file_commit)(NbFile *file, uint64_t *durable_length, NbError *err);

  /* Close and free the handle (NULL is a no-op).  Data written since the
   * last file_commit is flushed but not synced.  Returns NB_OK or NB_IO;
   * the handle is freed either way. */
  int (*file_close)(NbFile *file, NbError *err);

  /* Skip n decompressed bytes of a file opened for reading (used to resume
   * at a saved offset).  Returns NB_OK, NB_IO, NB_DATA, or NB_END when the
   * file is shorter than n. */
  int (*file_skip)(NbFile *file, uint64_t n, NbError *err);

  /* ---- ABI 1.2: block compression (test with NB_HOST_HAS) ----
   * One-shot compression of a whole buffer, for formats that compress their
   * own pages and record the sizes (Parquet pages, Arrow IPC buffers).
   * codec is one of:
   *   "snappy"     a raw snappy block (no framing)
   *   "gzip"       one gzip member (RFC 1952)
   *   "deflate"    raw deflate (RFC 1951)
   *   "zstd"       one zstd frame
   *   "lz4_raw"    one LZ4 block without a frame (Parquet's LZ4_RAW)
   *   "lz4_frame"  one LZ4 frame (Arrow IPC's LZ4_FRAME)
   * Buffers are owned by the caller; none is kept between calls.  The host
   * may keep codec contexts (its own memory, per connector instance) so
   * that page after page does not set up a codec again; it frees them when
   * the instance is closed.  Calls from several threads at once are safe. */

  /* The most bytes block_compress can produce from src_len bytes; 0 when
   * the codec is unknown or src_len is too large for it. */
  size_t (*block_compress_bound)(void *host_data, const char *codec, size_t src_len);

  /* Compress src[0..src_len) into dst[0..dst_capacity); *dst_len is the
   * size written.  level 0 is the codec's default (zstd: its levels;
   * gzip, deflate: 1..9; lz4_raw, lz4_frame: 1..12; snappy: none).
   * Returns NB_OK; NB_INVALID (unknown codec, level out of range, or
   * dst_capacity too small: give block_compress_bound bytes); NB_NOMEM;
   * NB_INTERNAL. */
  int (*block_compress)(void *host_data, const char *codec, int32_t level,
                        const void *src, size_t src_len, void *dst,
                        size_t dst_capacity, size_t *dst_len, NbError *err);

  /* Decompress one complete block src[0..src_len) (no trailing bytes) into
   * dst[0..dst_capacity); *dst_len is the size produced.  Pass the size the
   * format recorded as dst_capacity and compare *dst_len with it: output
   * that would exceed dst_capacity is refused, never allocated.  Returns
   * NB_OK; NB_INVALID (unknown codec); NB_DATA (corrupt, truncated or
   * oversized input; err says which); NB_NOMEM. */
  int (*block_decompress)(void *host_data, const char *codec, const void *src,
                          size_t src_len, void *dst, size_t dst_capacity,
                          size_t *dst_len, NbError *err);

  /* \since ABI 1.2 (test with NB_HOST_HAS).  Call each(cookie, path,
   * size_bytes) for every file matching pattern, in sorted order: a local
   * glob(3) pattern, or a path with a URL scheme served by a storage module
   * ("s3://bucket/logs/2024-*" + "/" + "*.csv"), listed by that module.
   * size_bytes is -1 when unknown.  path is valid during the call only.
   * A pattern without wildcards is reported as is when it exists.  each
   * returns NB_OK to go on, anything else stops the listing and is
   * returned.  Returns NB_OK, NB_NOT_FOUND (nothing matches), NB_INVALID
   * (unknown scheme, bad pattern), NB_IO, NB_UNAVAILABLE, NB_NOMEM. */
  int (*file_list)(void *host_data, const char *pattern,
                   int (*each)(void *cookie, const char *path, int64_t size_bytes),
                   void *cookie, NbError *err);

  /* \since ABI 1.2 (test with NB_HOST_HAS).  The latest position of
   * stream index that is durable downstream: the destination committed
   * everything the source reported up to it (an info->position of an
   * earlier source_next) and the host recorded it in its state file.  A
   * source whose server keeps data until its reader confirms it (a
   * replication slot's WAL, a queue's unacknowledged messages) confirms
   * it from here during the run, including while it waits for new data
   * inside source_next, instead of only at the next run's source_seek.
   * Copies the position into buf[0..cap) and sets *len.  Cheap (a lock
   * and a copy): a source may ask every few hundred milliseconds.  Call
   * it only from the thread that calls the source's slots.  The bytes are
   * ones the source reported, but it checks them as it checks
   * source_seek's.  Returns NB_OK (copied), NB_END (nothing committed in
   * this run yet: the durable position is the one source_seek gave, if
   * any), NB_INVALID (index out of range, or cap too small: *len is the
   * size needed). */
  int (*committed_position)(void *host_data, uint32_t index, void *buf, size_t cap,
                            size_t *len);
} NbHostApi;

/* Non-zero when host (may be NULL) provides slot: its struct_size covers
 * the whole slot and the slot is set.  For the 1.0 slots this is always
 * true of a real host; use it for slots of later minors. */
#define NB_HOST_HAS(host, slot) \
  ((host) != NULL && NB_STRUCT_HAS(NbHostApi, (host), slot) && \
   (host)->slot != NULL)

/* ------------------------------------------------------------------------
 * Arguments of source_open and dest_open.
 * ------------------------------------------------------------------------ */
typedef struct NbOpenArgs {
  uint32_t struct_size;
  const NbSettings *settings;  /* never NULL */
  uint64_t batch_rows;     /* preferred maximum rows per batch (> 0) */
  uint64_t batch_bytes;    /* preferred maximum bytes per batch (> 0) */
  const void *state;       /* dest_open only: the state returned by the last
                              durable dest_commit of an earlier run, NULL on
                              a fresh run.  Valid during the call only. */
  size_t state_len;
} NbOpenArgs;

/* What a source tells about one of its streams. */
typedef struct NbStreamInfo {
  uint32_t struct_size;
  const char *name;        /* unique within the source, e.g. a file path or
                              table name; owned by the source, valid until
                              source_close */
  int64_t size_bytes;      /* total input size for progress and ETA, -1 if
                              unknown */
  /* \since ABI 1.2: NB_STREAM_* bits; the host zeroes them before the
   * call, so a connector that does not know the field leaves 0. */
  uint64_t flags;
  /* \since ABI 1.2: the stream's key, the columns that identify the row a
   * record describes (a table's primary key), in key order: key_columns[0
   * .. key_count) name top-level columns of the stream's schema.  NULL and
   * 0 (what the host sets before the call) when the stream has no key or
   * the connector does not know it.  Owned by the source, valid until
   * source_close.  Informative: the host shows it (discover) and checks
   * the names against the schema; a destination learns keys from its own
   * settings. */
  const char *const *key_columns;
  uint32_t key_count;
} NbStreamInfo;

/* NbStreamInfo.flags (\since ABI 1.2).  Unknown bits are ignored.
 *
 * NB_STREAM_REOPENS: the stream's end is "nothing more for now", not "done
 * forever" (an incremental table read by a cursor column).  A later run
 * with the same state file reads the stream again, seeking to the position
 * saved at its end, so only what was added since arrives.  Without the
 * bit, a stream the state file marks finished is not read again (files).
 * Needs NB_CAP_RESUMABLE; the host ignores the bit without it. */
#define NB_STREAM_REOPENS 0x1u

/* What source_next reports with each batch. */
typedef struct NbBatchInfo {
  uint32_t struct_size;
  const void *position;    /* opaque resume position AFTER this batch (or
                              after the bad record, with NB_DATA); owned by
                              the source, valid until the next call on the
                              same source handle.  The host copies it. */
  size_t position_len;
  int64_t bytes_read;      /* input bytes consumed so far in this stream,
                              in the units of NbStreamInfo.size_bytes, -1 if
                              unknown */
} NbBatchInfo;

/* Capability bits. */
#define NB_CAP_SOURCE 0x1u       /* source_* slots are filled */
#define NB_CAP_DESTINATION 0x2u  /* dest_* slots are filled */
#define NB_CAP_RESUMABLE 0x4u    /* source_seek honours saved positions */
/* (1.2) The destination writes its files with file_open_write and lets the
 * host own their compression: the host declares the destination settings
 * "compression" and "compression_level" for it (NB_FILE_COMPRESSION_SETTINGS
 * of nebula/sdk.h, appended after the connector's own, so describe, the
 * checks and the configuration fingerprint see them), checks them, and
 * applies them to every file_open_write whose NbWriteOptions.compression
 * is NULL (which otherwise means "auto").  The connector must not declare
 * either name itself, and reads neither.  Requires NB_CAP_DESTINATION; a
 * host before 1.2 does not load a 1.2 connector, so never ignores it. */
#define NB_CAP_HOST_FILE_COMPRESSION 0x8u

/* ------------------------------------------------------------------------
 * The connector vtable.
 *
 * struct_size and abi_version stay at offsets 0 and 4 in every major,
 * forever, so the host can read them from any connector.
 *
 * Required slots: for NB_CAP_SOURCE, source_open, source_stream_count,
 * source_stream_info, source_schema, source_next, source_close; for
 * NB_CAP_DESTINATION, dest_open, dest_prepare, dest_write, dest_commit,
 * dest_close.  source_seek is required with NB_CAP_RESUMABLE.  The host
 * refuses a connector that lacks a required slot, naming it.  Optional
 * slots (dest_finish) are used only when the connector's struct_size
 * covers them (NB_STRUCT_HAS) and they are set.
 *
 * Return codes: each slot lists the codes it may return.  NB_INTERNAL and
 * NB_NOMEM may come from any slot returning int.  Returning a code a slot
 * does not list is a bug in the connector; the host may treat it as
 * NB_INTERNAL.
 * ------------------------------------------------------------------------ */
typedef struct NbConnector {
  uint32_t struct_size;    /* offset 0, forever */
  uint32_t abi_version;    /* offset 4, forever: NB_ABI_VERSION the
                              connector was built against */
  const char *name;        /* e.g. "csv"; static storage */
  const char *version;     /* the connector's own version, e.g. "1.2.0" */
  const char *description; /* one line */
  uint64_t capabilities;   /* NB_CAP_* bits */
  const NbSettingSpec *settings; /* static array of n_settings entries */
  uint32_t n_settings;

  /* --- Source ---------------------------------------------------------- */

  /* Open a source.  Validate settings, open files or connect.  On success
   * *source is the connector's handle; on failure nothing is left open.
   * Returns NB_OK, NB_INVALID, NB_NOT_FOUND, NB_IO, NB_UNAVAILABLE,
   * NB_NOMEM. */
  int (*source_open)(const NbHostApi *host, const NbOpenArgs *args,
                     void **source, NbError *err);

  /* Number of streams (files, tables) the source offers; 0 is allowed (the
   * run then moves nothing).  Returns NB_OK, NB_IO, NB_UNAVAILABLE (listing
   * the streams needs a server), NB_NOMEM. */
  int (*source_stream_count)(void *source, uint32_t *count, NbError *err);

  /* Name and size of stream index (0 <= index < count).  The caller zeroes
   * *out and sets out->struct_size; the callee writes no field beyond it.
   * Returns NB_OK, NB_INVALID (index out of range), NB_IO, NB_UNAVAILABLE,
   * NB_NOMEM. */
  int (*source_stream_info)(void *source, uint32_t index, NbStreamInfo *out,
                            NbError *err);

  /* Export the schema of the stream as an Arrow struct ("+s") whose
   * children are the columns.  The caller owns *out and releases it; on
   * failure *out is left released.  May read the start of the stream to
   * learn it (CSV header, JSON keys).  Returns NB_OK, NB_INVALID (index out
   * of range, or settings that contradict the data), NB_NOT_FOUND (the
   * stream's file or table is gone), NB_IO, NB_DATA (the start of the
   * stream cannot be read as the format: e.g. a malformed CSV header; err
   * names the location), NB_UNAVAILABLE, NB_CANCELLED, NB_NOMEM. */
  int (*source_schema)(void *source, uint32_t index, struct ArrowSchema *out,
                       NbError *err);

  /* Resume: continue the stream after the saved position (bytes an earlier
   * source_next reported).  Called before the first source_next of that
   * stream.  Returns NB_OK, NB_INVALID (position not understood: foreign or
   * corrupt), NB_IO. */
  int (*source_seek)(void *source, uint32_t index, const void *position,
                     size_t position_len, NbError *err);

  /* Produce the next batch of the stream: an Arrow struct array matching
   * the last exported schema.  The caller owns *out and calls its release.
   * Returns NB_OK (a batch, possibly of 0 rows), NB_END (no more; *out left
   * released), NB_SCHEMA_CHANGED, NB_DATA (a bad record described in *err,
   * *out released, info->position after it: calling again continues),
   * NB_IO, NB_UNAVAILABLE, NB_CANCELLED, NB_NOMEM.
   *
   * A bad record is not a broken stream.  The host ends the stream with
   * the error, whatever its on_error setting, when source_next returns
   * NB_DATA after the host's file layer reported corrupt or truncated input
   * (NB_DATA from file_read or file_skip: pass it on as is), or twice in a
   * row without moving (neither position nor, when both reports give it,
   * bytes_read advanced).  An empty batch that does not move is no
   * progress: the host fails the run after the engine's max_empty_batches
   * of them in a row (default 10000). */
  int (*source_next)(void *source, uint32_t index, struct ArrowArray *out,
                     NbBatchInfo *info, NbError *err);

  /* Free everything the source holds.  NULL is a no-op. */
  void (*source_close)(void *source);

  /* --- Destination ----------------------------------------------------- */

  /* Open a destination.  args->state, when non-NULL, is the state of the
   * last durable commit of an interrupted run: the destination discards
   * anything written after it (a file destination truncates to it).
   * Returns NB_OK, NB_INVALID, NB_IO, NB_UNAVAILABLE, NB_NOMEM. */
  int (*dest_open)(const NbHostApi *host, const NbOpenArgs *args,
                   void **dest, NbError *err);

  /* Announce a stream and its schema (an Arrow "+s" struct), borrowed for
   * the call.  Called again for the same stream_name when its schema
   * changed.  *dest_stream receives the index used by dest_write.
   * Returns NB_OK, NB_INVALID (a type the destination cannot store). */
  int (*dest_prepare)(void *dest, const char *stream_name,
                      const struct ArrowSchema *schema, uint32_t *dest_stream,
                      NbError *err);

  /* Write one batch (borrowed: the caller releases it after the call).
   * Returns NB_OK, NB_IO, NB_UNAVAILABLE, NB_DATA (a value cannot be
   * stored; err->line is the 1-based row within the batch), NB_NOMEM. */
  int (*dest_write)(void *dest, uint32_t dest_stream,
                    const struct ArrowArray *batch, NbError *err);

  /* Make everything written so far durable.  Returns only when it is.
   * *state / *state_len receive the destination's state (e.g. committed
   * file lengths), owned by the destination and valid until the next call
   * on the handle; the host stores it in the state file.  Returns NB_OK,
   * NB_IO, NB_UNAVAILABLE. */
  int (*dest_commit)(void *dest, const void **state, size_t *state_len,
                     NbError *err);

  /* Free everything.  Data written after the last dest_commit may or may
   * not be kept.  NULL is a no-op. */
  void (*dest_close)(void *dest);

  /* --- Added in ABI 1.1 (append-only from here) ----------------------- */

  /* \since ABI 1.1.  Optional (NULL: nothing to finish).  End the output
   * of a run that completed: write what closes the output (the "]" of a
   * JSON array, a file footer, an index) and make it durable.
   *
   * Contract:
   *   - called at most once per handle, after the last dest_commit of a
   *     run in which every stream reached its end, and before dest_close;
   *   - not called when the run fails or is stopped (signal, error in the
   *     other stage, watchdog): dest_close alone follows, and a later run
   *     resumes from the last dest_commit's state, so the closing bytes
   *     must not be part of any committed state;
   *   - a status other than NB_OK fails the run (the host reports err and
   *     exits non-zero), as a failed dest_commit would; dest_close follows.
   * Returns NB_OK, NB_IO, NB_UNAVAILABLE, NB_NOMEM. */
  int (*dest_finish)(void *dest, NbError *err);

} NbConnector;

/* The size of NbConnector as ABI 1.0 defined it (up to dest_close). */
#define NB_CONNECTOR_SIZE_1_0 (offsetof(NbConnector, dest_close) + sizeof(void (*)(void *)))
/* The size of NbConnector as ABI 1.1 defines it (up to dest_finish). */
#define NB_CONNECTOR_SIZE_1_1 \
  (offsetof(NbConnector, dest_finish) + sizeof(int (*)(void *, NbError *)))

/* ------------------------------------------------------------------------
 * The entry point.
 *
 * The host zeroes *out, sets out->struct_size = sizeof(NbConnector) (its
 * own), and calls the entry with its NB_ABI_CURRENT as host_abi and err
 * either NULL or a zeroed NbError with struct_size set.  The connector:
 *   1. writes out->abi_version = the NB_ABI_CURRENT it was built with and
 *      out->struct_size = min(host's struct_size, its own sizeof); it
 *      writes no byte of *out beyond that size;
 *   2. returns NB_ABI_MISMATCH if NB_ABI_MAJOR_OF(host_abi) differs from its
 *      major, filling err when given (the host reads abi_version either way
 *      to name both versions);
 *   3. returns NB_INVALID if out is NULL or out->struct_size < 8 (the host
 *      is broken: abi_version would not fit);
 *   4. otherwise fills the rest of *out with static data and returns NB_OK.
 * It must not allocate (other than for err), open files or start threads.
 * Returns NB_OK, NB_ABI_MISMATCH, NB_INVALID.  NB_CONNECTOR_ENTRY in
 * nebula/sdk.h writes this function.
 * ------------------------------------------------------------------------ */
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out,
                                     NbError *err);

/* The type of nebula_connector_entry, for a host that looks it up. */
typedef int (*NbConnectorEntryFn)(uint32_t host_abi, NbConnector *out,
                                  NbError *err);

/* ------------------------------------------------------------------------
 * Storage modules (\since ABI 1.2)
 *
 * A storage module serves paths with a URL scheme ("s3://bucket/key")
 * behind the host's file_* slots: a connector opens "s3://b/k" with
 * file_open_read exactly as it opens a local file, and the host's
 * decompression runs on top of the bytes the module returns.  A path
 * without a scheme, or "file://", is the host's local file layer.  A
 * scheme no loaded module serves is refused, naming the scheme and the
 * package that provides it ("nebula-storage-<scheme>").
 *
 * A module is a shared object like a connector, found on the same search
 * path (by convention its file is named storage_<name>.so) and exporting
 * nebula_storage_entry instead of nebula_connector_entry.  The loader
 * applies the connector's rules: same major, minor <= the host's,
 * struct_size at least NB_STORAGE_SIZE_1_2 and at most the host's sizeof,
 * the required slots below set.  The entry follows the contract of
 * nebula_connector_entry (abi_version, struct_size = min of both sizes,
 * NB_ABI_MISMATCH, no allocation, static data only).
 *
 * Configuration: a module reads its own configuration (environment,
 * profile files) when a path is opened; there are no pipeline settings for
 * storage in ABI 1.2.  Secrets must never reach host->log or an NbError.
 *
 * Every slot takes the NbHostApi of the connection that opened the path
 * (log, is_cancelled, counter_add; the module must not call its file_*
 * slots).  The module keeps no global mutable state; handles are used by
 * one thread at a time.  Writing (multipart uploads with durable commits)
 * is not part of ABI 1.2: the host refuses to open a scheme path for
 * writing.  A later minor appends writer_* slots.
 * ------------------------------------------------------------------------ */
typedef struct NbStorage {
  uint32_t struct_size;    /* offset 0, as NbConnector */
  uint32_t abi_version;    /* offset 4, as NbConnector */
  const char *name;        /* e.g. "s3"; lower_snake_case, static */
  const char *version;     /* the module's own version */
  const char *description; /* one line */
  const char *schemes;     /* '|'-separated lower-case schemes it serves,
                              e.g. "s3" or "s3|gs"; static */

  /* Call each(cookie, path, size_bytes) for every object matching pattern
   * (glob wildcards * ? [...] in the key; '*' does not cross '/'), in
   * sorted order, with memory bounded whatever the number of objects.  A
   * pattern without wildcards names one object, reported when it exists.
   * Return codes as NbHostApi.file_list; NB_NOT_FOUND also for a missing
   * bucket (err names it). */
  int (*object_list)(const NbHostApi *host, const char *pattern,
                     int (*each)(void *cookie, const char *path, int64_t size_bytes),
                     void *cookie, NbError *err);

  /* Open the object at path for reading from byte offset (a resumed or
   * skipping reader starts there without reading what is before).
   * *reader is the module's handle.  Returns NB_OK, NB_NOT_FOUND,
   * NB_INVALID, NB_IO, NB_UNAVAILABLE, NB_NOMEM; NB_END when offset is
   * past the end of the object. */
  int (*reader_open)(const NbHostApi *host, const char *path, uint64_t offset,
                     void **reader, NbError *err);

  /* Read up to capacity raw bytes.  *n_read = 0 with NB_OK is the end of
   * the object.  A short read is not the end.  Returns NB_OK, NB_IO,
   * NB_UNAVAILABLE, NB_CANCELLED, NB_DATA (the object changed while read:
   * its length or ETag differs from the first reply), NB_NOMEM. */
  int (*reader_read)(void *reader, void *buf, size_t capacity, size_t *n_read,
                     NbError *err);

  /* Free the reader (NULL is a no-op). */
  void (*reader_close)(void *reader);

  /* ---- Writing, \since ABI 1.2 (appended after reader_close; a module
   * whose struct_size does not cover writer_close serves reading only, and
   * the host refuses to write its paths).  The host's compression is
   * applied before the bytes reach the module.
   *
   * Exactly-once protocol: writer_commit makes every byte written so far
   * durable and returns a state blob (printable ASCII, no '"' or '\\', at
   * most NB_STORAGE_BLOB_MAX bytes) describing them; the host stores it in
   * the state file beside the committed length.  A resumed run passes the
   * blob of the last SAVED commit to writer_open, which continues from
   * exactly those bytes (a later, unsaved commit is forgotten).  The object
   * becomes visible only with writer_finish; before that, readers see
   * nothing (or the previous version of the object). */

  /* Open path for writing.  resume_blob NULL: a new object (any earlier
   * version is replaced only at writer_finish); else the blob of a commit
   * whose length was resume_length.  *writer is the module's handle.
   * Returns NB_OK, NB_INVALID (a bad path or setting, or a blob that does
   * not describe resume_length bytes or whose upload/spool is gone: err
   * says which, never silently starting over), NB_NOT_FOUND (bucket),
   * NB_IO, NB_UNAVAILABLE, NB_NOMEM. */
  int (*writer_open)(const NbHostApi *host, const char *path, const char *resume_blob,
                     uint64_t resume_length, void **writer, NbError *err);

  /* Append len bytes (the module buffers and uploads as it likes).
   * Returns NB_OK, NB_IO, NB_UNAVAILABLE, NB_CANCELLED, NB_NOMEM, and
   * NB_INVALID/NB_NOT_FOUND for refusals (credentials, bucket). */
  int (*writer_write)(void *writer, const void *buf, size_t len, NbError *err);

  /* Make everything written durable.  *blob (owned by the writer, valid
   * until the next call on it) receives the state blob.  Same codes. */
  int (*writer_commit)(void *writer, const char **blob, NbError *err);

  /* Complete the object: it becomes visible with everything written (also
   * what was written after the last commit).  The writer accepts only
   * writer_close afterwards.  Same codes. */
  int (*writer_finish)(void *writer, NbError *err);

  /* Give the object up: delete what the upload stored (server side and
   * local spool).  Returns NB_OK, NB_IO, NB_UNAVAILABLE. */
  int (*writer_abort)(void *writer, NbError *err);

  /* Free the writer (NULL is a no-op).  Without writer_finish or
   * writer_abort before it, the upload stays pending and durable up to the
   * last commit, for a resumed run. */
  void (*writer_close)(void *writer);
} NbStorage;

/* The longest state blob writer_commit may return. */
#define NB_STORAGE_BLOB_MAX ((size_t)1 << 20)

/* The size of a read-only NbStorage (up to reader_close). */
#define NB_STORAGE_SIZE_1_2 \
  (offsetof(NbStorage, reader_close) + sizeof(void (*)(void *)))
/* The size of an NbStorage that writes (up to writer_close). */
#define NB_STORAGE_SIZE_1_2_WRITE \
  (offsetof(NbStorage, writer_close) + sizeof(void (*)(void *)))

/* The entry symbol of a storage module. */
#define NB_STORAGE_ENTRY_SYMBOL "nebula_storage_entry"

/* \since ABI 1.2.  As nebula_connector_entry, for a storage module. */
NB_EXPORT int nebula_storage_entry(uint32_t host_abi, NbStorage *out, NbError *err);

typedef int (*NbStorageEntryFn)(uint32_t host_abi, NbStorage *out, NbError *err);

#ifdef __cplusplus
}
#endif

#endif /* NEBULA_ABI_H */
