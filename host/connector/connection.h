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
 *     record (see nbh_connection_input_broken);
 *   - with dry_write, file_open_write only proves that the file could be
 *     opened for writing (neither truncating nor leaving it created) and
 *     hands back a handle writing to /dev/null (`check`).
 *
 * Threads: one thread calls the connector; the heartbeat fields and the
 * input-broken mark are atomics that another thread may read.
 */
#ifndef NBH_CONNECTION_H
#define NBH_CONNECTION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "nebula/abi.h"

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
  void *owner;
  bool dry_write;

  /* Heartbeat: when the current call started (0: not inside a call) and
   * which slot it is. */
  _Atomic uint64_t call_started_ns;
  _Atomic(const char *) call_name;
  atomic_int input_broken;      /* the file layer reported corrupt input */
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

/* Close the handle (source_close or dest_close by role) if there is one. */
void nbh_connection_close(NbhConnection *c);

#endif /* NBH_CONNECTION_H */
