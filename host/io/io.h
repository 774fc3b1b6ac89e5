/*
 * io.h - the host's file layer offered to connectors through NbHostApi:
 * plain files, stdin/stdout ("-"), and transparent compression (gzip, zstd,
 * lz4 frame, snappy framing) detected by magic bytes on input and chosen by
 * setting or extension on output.  Constant memory whatever the file size.
 */
#ifndef NBH_IO_H
#define NBH_IO_H

#include <stddef.h>
#include <stdint.h>

#include "nebula/abi.h"
#include "run_files.h"

/* Buffer sizes of one open file, in bytes; 0 means the default.
 * read_buffer: raw bytes read from the file at once (reading).
 * write_buffer: bytes the caller fills before they are compressed and
 * written (two such buffers with the writer thread); the compressed output
 * buffer is as large, and at least 256 KiB.
 * The defaults (NBH_IO_DEFAULT_BUFFER) keep syscalls off the profile; the
 * fuzzing harnesses use 4 KiB, which makes each run ~50 times cheaper under
 * AddressSanitizer.  Sizes under NBH_IO_MIN_BUFFER are refused
 * (NB_INVALID). */
typedef struct NbhIoSizes {
  size_t read_buffer;
  size_t write_buffer;
} NbhIoSizes;
#define NBH_IO_DEFAULT_BUFFER ((size_t)1 << 20)
#define NBH_IO_MIN_BUFFER ((size_t)16)

/* Fill the file_* slots of api (file_open_read .. file_skip).  The
 * functions ignore host_data and check no run registry: for commands that
 * run no pipeline.  A pipeline run installs nbh_io_install, then replaces
 * the two open slots with functions that find its NbhRunFiles from their
 * host_data and call the _in variants below. */
void nbh_io_install(NbHostApi *api);

/* The open functions checked against the files of a run (run_files.h):
 * refused with NB_INVALID, before anything is created or truncated, when
 * the file is one the run must not read or write; registered otherwise.
 * files NULL: no check.  Otherwise as nbh_file_open_read / _write. */
int nbh_file_open_read_in(NbhRunFiles *files, const char *path, NbFile **out, NbError *err);
int nbh_file_open_write_in(NbhRunFiles *files, const char *path, const NbWriteOptions *options,
                           NbFile **out, NbError *err);

/* The functions installed, also callable directly by the host and tests.
 * They use the default buffer sizes. */
int nbh_file_open_read(void *host_data, const char *path, NbFile **out, NbError *err);
int nbh_file_read(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err);
int nbh_file_open_write(void *host_data, const char *path, const NbWriteOptions *options,
                        NbFile **out, NbError *err);
int nbh_file_write(NbFile *file, const void *buf, size_t len, NbError *err);
int nbh_file_commit(NbFile *file, uint64_t *durable_length, NbError *err);
int nbh_file_close(NbFile *file, NbError *err);
int nbh_file_skip(NbFile *file, uint64_t n, NbError *err);

/* Open path (a path with a scheme) for reading through a storage module
 * (abi.h, NbStorage); host is the connection's API, given to the module.
 * The file then behaves as a local one: decompression on top, and
 * nbh_file_skip over plain data opens the object again at the target
 * offset instead of reading what is before.  sizes NULL: the defaults. */
int nbh_file_open_read_storage(const NbStorage *store, const NbHostApi *host, const char *path,
                               const NbhIoSizes *sizes, NbFile **out, NbError *err);

/* Open path (with a scheme) for writing through a storage module whose
 * NbStorage has the writer slots.  resume_blob NULL: a new object; else
 * the blob saved with the commit of resume_length bytes.  Compression as
 * nbh_file_open_write (by option or extension); commits return the
 * module's blob to the run's files (files may be NULL: tests).  The object
 * is completed by nbh_file_finish_object; closing without it leaves the
 * upload pending for a resumed run. */
int nbh_file_open_write_storage(const NbStorage *store, const NbHostApi *host,
                                NbhRunFiles *files, const char *path,
                                const NbWriteOptions *options, const char *resume_blob,
                                NbFile **out, NbError *err);

/* The run completed: write out what is pending and complete the object
 * of file (written through a storage module: it becomes visible).  NB_OK
 * at once for other files.  Closing without it leaves the upload pending. */
int nbh_file_finish_object(NbFile *file, NbError *err);

/* Whether compression and writing run on a writer thread (double
 * buffering: the caller fills one buffer while the thread compresses and
 * writes the other).  AUTO uses the thread: measured faster for every
 * codec and for plain output once the caller has work of its own (see
 * bench/compression.sh and io_tool -P). */
enum { NBH_THREAD_AUTO = 0, NBH_THREAD_NEVER = 1, NBH_THREAD_ALWAYS = 2 };

/* nbh_file_open_write with the threading choice (for tests and benchmarks). */
int nbh_file_open_write_ex(const char *path, const NbWriteOptions *options, int threading,
                           NbFile **out, NbError *err);

/* The same with buffer sizes (NULL: the defaults). */
int nbh_file_open_read_ex(const char *path, const NbhIoSizes *sizes, NbFile **out,
                          NbError *err);
int nbh_file_open_write_sized(const char *path, const NbWriteOptions *options, int threading,
                              const NbhIoSizes *sizes, NbFile **out, NbError *err);

/* Compressed (on-disk) bytes read so far from a file opened for reading:
 * for progress against NbStreamInfo.size_bytes.  For a file opened for
 * writing: the bytes written to the file so far (resume length included). */
uint64_t nbh_file_raw_offset(const NbFile *file);

/* The codec name of a file: "none", "gzip", "zstd", "lz4", "snappy", or
 * for a file of zstd/lz4 skippable frames only (it holds no data)
 * "skippable". */
const char *nbh_file_codec(const NbFile *file);

#endif /* NBH_IO_H */
