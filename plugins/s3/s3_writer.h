/*
 * s3_writer.h - writing s3:// objects with multipart uploads and durable
 * commits (abi.h, NbStorage writer slots).  See s3_writer.c for the design.
 */
#ifndef S3_WRITER_H
#define S3_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "nebula/abi.h"

int s3_writer_open(const NbHostApi *host, const char *path, const char *resume_blob,
                   uint64_t resume_length, void **writer, NbError *err);
int s3_writer_write(void *writer, const void *buf, size_t len, NbError *err);
int s3_writer_commit(void *writer, const char **blob, NbError *err);
int s3_writer_finish(void *writer, NbError *err);
int s3_writer_abort(void *writer, NbError *err);
void s3_writer_close(void *writer);

#endif
