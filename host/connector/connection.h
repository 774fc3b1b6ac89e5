/*
 * connection.h - one way to call a connector: a loaded connector's vtable,
 * the handle it opened, the NbHostApi it was given, and the heartbeat the
 * watchdog reads.  The engine and every CLI command that opens a connector
 * (check, discover) go through it, so a host slot, a log rule or a file
 * layer check is written once.
 *
 * The host API a connection offers:
 *   - log: through the host logger under the connector's name, the level
 *     clamped to NB_LOG_ERROR .. NB_LOG_DEBUG (the one rule);
 *   - is_cancelled / counter_add: the owner's callbacks (NULL: never
 *     cancelled / counters dropped);
 *   - the file layer of io.c, each handle wrapped so that the connection
 *     learns when the layer reported corrupt or truncated input (NB_DATA
 *     from file_read or file_skip): that is a broken stream, never a bad
 *     record (see nbh_connection_input_broken); with `files` set, every
 *     open is checked against the run's files first (run_files.h);
 *   - with dry_write, file_open_write only proves that the file could be
 *     opened for writing (neither truncating nor leaving it created) and
 *     hands back a handle writing to /dev/null (`check`).
 *
 * Calls: one function per vtable slot.  Each marks the heartbeat around
 * the call and, with a retry policy, retries NB_UNAVAILABLE with backoff
 * (logging each retry, waiting in slices that end early when is_cancelled
 * says so: then the call returns NB_CANCELLED).  Each returns the slot's
 * status with err filled as the connector left it (initialised first).
 *
 * Threads: one thread calls the connector; the heartbeat fields and the
 * input-broken mark are atomics that another thread may read.
 */
#ifndef NBH_CONNECTION_H
#define NBH_CONNECTION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "block_codec.h"
#include "log.h"
#include "nebula/abi.h"
#include "retry.h"
#include "run_files.h"
#include "storage.h"

/* A destination's file compression when the host owns it
 * (NB_CAP_HOST_FILE_COMPRESSION): the values of its "compression" and
 * "compression_level" settings. */
typedef struct NbhFileCompression {
  bool on;                      /* the connector has the capability */
  char codec[16];               /* one of NB_COMPRESSION_CHOICES */
  int32_t level;
} NbhFileCompression;

/* Read the host's file compression settings of destination vt from
 * settings (missing ones take the declared defaults) into *out; out->on is
 * false, and nothing read, without NB_CAP_HOST_FILE_COMPRESSION.  Returns
 * NB_OK or NB_INVALID (a level beyond 32 bits, err names the setting). */
int nbh_file_compression_read(const NbConnector *vt, const NbSettings *settings,
                              NbhFileCompression *out, NbError *err);

/* The settings a connector is opened with: all of them, less those the
 * host declares for it (NB_CAP_HOST_FILE_COMPRESSION), which the connector
 * does not know.  Fill with nbh_connector_settings_view, then pass &view.
 * settings; free with nbh_connector_settings_view_free. */
typedef struct NbhSettingsView {
  NbSettings settings;
  const char **names;           /* owned arrays of borrowed strings */
  const char **values;
} NbhSettingsView;

/* NB_OK or NB_NOMEM. */
int nbh_connector_settings_view(const NbConnector *vt, const NbSettings *all,
                                NbhSettingsView *view, NbError *err);
void nbh_connector_settings_view_free(NbhSettingsView *view);

typedef struct NbhConnection {
  const NbConnector *vt;        /* borrowed: the loaded connector */
  const char *name;             /* its name, the log component (borrowed) */
  const char *role;             /* "source" or "destination" (static text) */
  NbhLogger *logger;            /* borrowed */
  NbHostApi api;                /* what the connector is given; host_data
                                   points at this connection */
  void *handle;                 /* from source_open / dest_open, or NULL */

  /* The owner's callbacks behind is_cancelled and counter_add. */
  int (*is_cancelled)(void *owner);
  void (*counter_add)(void *owner, const char *name, int64_t delta);
  /* Behind committed_position (ABI 1.2); NULL: nothing is ever committed
   * (commands that run no pipeline). */
  int (*committed_position)(void *owner, uint32_t index, void *buf, size_t cap, size_t *len);
  void *owner;
  bool dry_write;
  /* The files of the pipeline run (run_files.h, borrowed), checked at
   * every open; NULL: no checks (commands that run no pipeline). */
  NbhRunFiles *files;
  /* The storage modules that serve paths with a scheme (storage.h,
   * borrowed); NULL: none, such paths are refused. */
  const NbhStorageList *storages;
  /* The objects of storage modules open for writing (ConnFile list, used
   * by the thread that runs the destination): completed when dest_finish
   * succeeded (nbh_connection_finish). */
  struct ConnFile *objects;

  /* Set by dest_open: the compression file_open_write applies when the
   * connector leaves NbWriteOptions.compression NULL. */
  NbhFileCompression file_compression;

  /* Retries of NB_UNAVAILABLE: policy NULL means none.  on_retry (may be
   * NULL) is told of each retry, before its wait. */
  const NbhRetryPolicy *retry_policy;
  NbhRng rng;
  void (*on_retry)(void *owner);

  /* Heartbeat: when the current call started (0: not inside a call) and
   * which slot it is. */
  _Atomic uint64_t call_started_ns;
  _Atomic(const char *) call_name;
  atomic_int input_broken;      /* the file layer reported corrupt input */

  /* The codec contexts behind block_compress / block_decompress, reused
   * from page to page; freed by nbh_connection_close. */
  NbhBlockContexts blocks;
} NbhConnection;

/* Set up c for connector vt (borrowed, must outlive c) in role ("source" or
 * "destination"), logging to logger.  No callbacks, no handle.  c must not
 * move afterwards: the host API points at it. */
void nbh_connection_init(NbhConnection *c, const NbConnector *vt, const char *role,
                         NbhLogger *logger);

/* Whether the file layer has reported corrupt or truncated input to this
 * connection since the last nbh_connection_clear_input_broken. */
bool nbh_connection_input_broken(NbhConnection *c);
void nbh_connection_clear_input_broken(NbhConnection *c);

/* Mark the start and the end of a call to the connector (heartbeat). */
void nbh_connection_call_begin(NbhConnection *c, const char *slot);
void nbh_connection_call_end(NbhConnection *c);

/* The open arguments every caller builds the same way: settings (borrowed)
 * and the batch limits; no saved state. */
void nbh_open_args_init(NbOpenArgs *args, const NbSettings *settings, uint64_t batch_rows,
                        uint64_t batch_bytes);

/* The slots.  source_open / dest_open set c->handle (NULL on failure). */
int nbh_connection_source_open(NbhConnection *c, const NbOpenArgs *args, NbError *err);
int nbh_connection_stream_count(NbhConnection *c, uint32_t *count, NbError *err);
/* info is initialised (struct_size, size_bytes = -1) before the call. */
int nbh_connection_stream_info(NbhConnection *c, uint32_t index, NbStreamInfo *info,
                               NbError *err);
/* *out is released if set, then zeroed, before each attempt; the caller
 * owns the result. */
int nbh_connection_schema(NbhConnection *c, uint32_t index, struct ArrowSchema *out,
                          NbError *err);
int nbh_connection_seek(NbhConnection *c, uint32_t index, const void *position,
                        size_t position_len, NbError *err);
/* *out is released if set and zeroed, info initialised (bytes_read = -1),
 * before each attempt. */
int nbh_connection_next(NbhConnection *c, uint32_t index, struct ArrowArray *out,
                        NbBatchInfo *info, NbError *err);
int nbh_connection_dest_open(NbhConnection *c, const NbOpenArgs *args, NbError *err);
int nbh_connection_prepare(NbhConnection *c, const char *stream_name,
                           const struct ArrowSchema *schema, uint32_t *dest_stream,
                           NbError *err);
int nbh_connection_write(NbhConnection *c, uint32_t dest_stream, const struct ArrowArray *batch,
                         NbError *err);
/* *state / *state_len: the connector's blob, valid until its next call. */
int nbh_connection_commit(NbhConnection *c, const void **state, size_t *state_len,
                          NbError *err);

/* dest_finish when the connector has it (ABI 1.1); NB_OK when it has not.
 * Then every object still open for writing is completed (made visible);
 * a failure there is the call's failure. */
int nbh_connection_finish(NbhConnection *c, NbError *err);

/* Close the handle (source_close or dest_close by role) if there is one,
 * and free the block codec contexts (c may be opened again). */
void nbh_connection_close(NbhConnection *c);

/* After a failed call: make sure err has a message (a connector may return
 * a status without one), "<role> connector "<name>" failed in <slot> with
 * <STATUS>", so every caller reports the same text. */
void nbh_connection_explain(const NbhConnection *c, const char *slot, int rc, NbError *err);

/* Report a failed call's error at NB_LOG_ERROR under the connector's name
 * (after nbh_connection_explain) and release it. */
void nbh_connection_report(const NbhConnection *c, const char *slot, int rc, NbError *err);

#endif /* NBH_CONNECTION_H */
