/*
 * io.h - the host's file layer offered to connectors through NbHostApi:
 * plain files, stdin/stdout ("-"), and transparent compression (gzip, zstd,
 * lz4 frame, snappy framing) detected by magic bytes on input and chosen by
 * setting or extension on output.  Constant memory whatever the file size.
 */
#ifndef NBH_IO_H
#define NBH_IO_H

#include <stdint.h>

#include "nebula/abi.h"
#include "run_files.h"

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

/* The functions installed, also callable directly by the host and tests. */
int nbh_file_open_read(void *host_data, const char *path, NbFile **out, NbError *err);
int nbh_file_read(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err);
int nbh_file_open_write(void *host_data, const char *path, const NbWriteOptions *options,
                        NbFile **out, NbError *err);
int nbh_file_write(NbFile *file, const void *buf, size_t len, NbError *err);
int nbh_file_commit(NbFile *file, uint64_t *durable_length, NbError *err);
int nbh_file_close(NbFile *file, NbError *err);
int nbh_file_skip(NbFile *file, uint64_t n, NbError *err);

/* Whether compression and writing run on a writer thread (double
 * buffering: the caller fills one buffer while the thread compresses and
 * writes the other).  AUTO uses the thread: measured faster for every
 * codec and for plain output once the caller has work of its own (see
 * bench/compression.sh and io_tool -P). */
enum { NBH_THREAD_AUTO = 0, NBH_THREAD_NEVER = 1, NBH_THREAD_ALWAYS = 2 };

/* nbh_file_open_write with the threading choice (for tests and benchmarks). */
int nbh_file_open_write_ex(const char *path, const NbWriteOptions *options, int threading,
                           NbFile **out, NbError *err);

/* Compressed (on-disk) bytes read so far from a file opened for reading:
 * for progress against NbStreamInfo.size_bytes.  For a file opened for
 * writing: the bytes written to the file so far (resume length included). */
uint64_t nbh_file_raw_offset(const NbFile *file);

/* The codec name of a file: "none", "gzip", "zstd", "lz4", "snappy". */
const char *nbh_file_codec(const NbFile *file);

#endif /* NBH_IO_H */
