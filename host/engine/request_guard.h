/*
 * request_guard.h - a deadline for each request of the metrics server.
 *
 * libmicrohttpd closes a connection that stays idle for its timeout, but a
 * client that sends one byte of its request line every few seconds is
 * never idle: a few of them ("slowloris") hold every connection slot, and
 * the endpoint stops answering scrapers for as long as they like.  The
 * guard gives each request a deadline counted from the connection's start,
 * or from the end of its previous request: past it, the connection's
 * socket is shut down, and libmicrohttpd closes it as a client gone away.
 *
 * Ownership and threads.  The guard is created before the daemon and
 * freed after MHD_stop_daemon returned (the daemon calls it until then).
 * Its two callbacks run on libmicrohttpd's thread; its own thread checks
 * the deadlines.  One mutex guards the table of connections; a socket is
 * shut down only under it, and the daemon's "closed" notice, which comes
 * before the daemon closes the socket, takes it too: the descriptor shut
 * down is always still the connection's, never a reused one.
 */
#ifndef NEBULA_REQUEST_GUARD_H
#define NEBULA_REQUEST_GUARD_H

#include <microhttpd.h>
#include <stdint.h>

#include "nebula/abi.h"

typedef struct NbhRequestGuard NbhRequestGuard;

/* A guard for at most capacity connections at once (the daemon's
 * connection limit), each request allowed deadline_ms.  Starts its
 * thread.  NB_OK, or NB_NOMEM / NB_IO (thread) with err set. */
int nbh_request_guard_new(unsigned capacity, uint64_t deadline_ms, NbhRequestGuard **out,
                          NbError *err);

/* Stops the thread and frees.  Only after the daemon stopped; NULL is a
 * no-op. */
void nbh_request_guard_free(NbhRequestGuard *guard);

/* For MHD_OPTION_NOTIFY_CONNECTION (cls: the guard). */
void nbh_request_guard_on_connection(void *cls, struct MHD_Connection *connection,
                                     void **socket_context,
                                     enum MHD_ConnectionNotificationCode code);

/* For MHD_OPTION_NOTIFY_COMPLETED (cls: the guard): the next request's
 * deadline counts from now. */
void nbh_request_guard_on_completed(void *cls, struct MHD_Connection *connection,
                                    void **request_context,
                                    enum MHD_RequestTerminationCode code);

#endif
