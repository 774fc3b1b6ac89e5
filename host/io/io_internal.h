/*
 * io_internal.h - what the parts of the host's file layer share: the
 * NbFile handle with its read and write sides, and the helpers every part
 * uses (handles, sticky errors, buffer sizes).  io.c owns handles and
 * closing, io_read.c reading and codec detection, io_write.c the codec
 * choice, the writer thread, commits and durability.
 */
#ifndef NBH_IO_INTERNAL_H
#define NBH_IO_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "io.h"
#include "nebula/sdk.h"
#include "run_files.h"

enum { MODE_READ, MODE_WRITE };

typedef struct ReadSide {
  const NbhDecoderOps *ops; /* NULL: plain */
  void *dec;
  uint8_t *raw;
  size_t raw_cap;
  size_t raw_pos;
  size_t raw_len;
  uint64_t dec_start; /* consumed when the decoder began (after skipped frames) */
  bool only_skippable; /* the file is skippable frames only: no data */
  bool eof;           /* read(2) returned 0 */
  bool seekable;      /* a regular file: plain skips use lseek */
  uint64_t consumed;  /* raw bytes consumed (decoded or returned) */
  uint8_t *scratch;   /* skip buffer, allocated on first compressed skip */
  int status;         /* sticky error, NB_OK if none */
  char *message;      /* its message */
} ReadSide;

typedef struct WriteSide {
  const NbhEncoderOps *ops; /* NULL: plain */
  void *enc;
  uint8_t *fill;      /* the buffer the caller's bytes go to */
  size_t fill_len;
  size_t fill_cap;    /* size of fill (and of spare) */
  NbhSink sink;       /* compressed bytes waiting for write(2) */
  /* Bytes in the file: resume length + written.  Atomic because the writer
   * thread adds to it while nbh_file_raw_offset may read it. */
  _Atomic uint64_t length;
  bool created;       /* we created the file: sync its directory once */
  bool dir_synced;
  bool regular;       /* a regular file (fsync applies) */
  /* The writer thread: it compresses and writes one buffer while the caller
   * fills the other.  Everything below is guarded by mu. */
  bool threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint8_t *spare;     /* the free buffer, NULL while the thread holds it */
  uint8_t *job;       /* the buffer the thread works on */
  size_t job_len;
  bool job_pending;
  bool stop;
  int status;         /* sticky error, NB_OK if none */
  char *message;
} WriteSide;

struct NbFile {
  int mode;
  int fd;
  bool owns_fd;       /* false for stdin / stdout */
  char *path;
  char *what;         /* "file \"x\"" or "standard input" for messages */
  NbhRunFile *entry;  /* the run's record of it (run_files.h), or NULL */
  /* Reading through a storage module (storage.h) instead of fd: the
   * module, the connection's API it is given, and its reader. */
  const NbStorage *store;
  const NbHostApi *store_host;
  void *reader;
  /* Writing through a storage module: its writer; the module's last
   * refusal of bytes, for the sticky error. */
  void *writer;
  int store_status;
  char *store_message;
  ReadSide r;
  WriteSide w;
};

/* A new handle for path (MODE_READ or MODE_WRITE), fd not yet open; NULL
 * when out of memory.  object: the path names an object of a storage
 * module (messages say "object").  io_file_free closes what it owns. */
NbFile *io_file_new(const char *path, int mode, bool object);
void io_file_free(NbFile *f);
/* The error of a failed open(2) of path: NB_NOT_FOUND or NB_IO. */
int io_open_error(NbError *err, const char *path, int errnum);
/* A message formatted into new memory (NULL when out of memory). */
char *io_format_message(const char *fmt, va_list ap);
/* Record a sticky error (status + message) and set err from it. */
int io_sticky_fail(int *status, char **message, NbError *err, int code, const char *fmt, ...)
    NB_PRINTF(5, 6);
/* Set err again from a sticky error. */
int io_sticky_repeat(int status, const char *message, NbError *err);
/* Check sizes (NULL: the defaults) and fill *read_size / *write_size. */
int io_resolve_sizes(const NbhIoSizes *sizes, const char *path, size_t *read_size,
                     size_t *write_size, NbError *err);
/* io_write.c: at close of a write handle, write what is pending, end the
 * codec's frame, stop the writer thread and close the descriptor. */
int io_write_end(NbFile *file, NbError *err);

#endif /* NBH_IO_INTERNAL_H */
