/*
 * cli_dryrun.c - the host API `validate` opens connectors with, so that
 * their own checks of the settings run (a value the declaration allows but
 * the connector refuses, e.g. generate's rows = -5) without any side
 * effect: every file slot refuses to open anything.
 *
 * A connector checks its settings first and opens its files after; the
 * moment it asks for a file, its checks have passed.  So the call's
 * outcome is judged by whether a file was asked for (files_refused), not by
 * the status the connector makes of the refusal.  A connector that opens
 * no file (generate) is opened and closed for real.
 */
#include <string.h>

#include "block_codec.h"
#include "cli.h"
#include "nebula/sdk.h"

static void dry_log(void *host_data, int level, const char *message) {
  NbhCliDryHost *ctx = host_data;
  /* After the refusal, what the connector says is about the refusal. */
  if (ctx->files_refused) return;
  if (level < NB_LOG_ERROR) level = NB_LOG_ERROR;
  if (level > NB_LOG_DEBUG) level = NB_LOG_DEBUG;
  nbh_log(ctx->logger, level, ctx->component, "%s", message != NULL ? message : "");
}

static int dry_is_cancelled(void *host_data) {
  NbhCliDryHost *ctx = host_data;
  return ctx->files_refused || *ctx->stop_signal != 0;
}

static void dry_counter_add(void *host_data, const char *name, int64_t delta) {
  (void)host_data, (void)name, (void)delta;
}

static int refuse_file(NbhCliDryHost *ctx, NbError *err) {
  ctx->files_refused = true;
  return nb_error_set(err, NB_CANCELLED, "validate opens no files");
}

static int dry_open_read(void *host_data, const char *path, NbFile **out, NbError *err) {
  (void)path;
  *out = NULL;
  return refuse_file(host_data, err);
}

static int dry_open_write(void *host_data, const char *path, const NbWriteOptions *options,
                          NbFile **out, NbError *err) {
  (void)path, (void)options;
  *out = NULL;
  return refuse_file(host_data, err);
}

/* Listing a bucket is reaching a server: refused like an open. */
static int dry_file_list(void *host_data, const char *pattern,
                         int (*each)(void *cookie, const char *path, int64_t size_bytes),
                         void *cookie, NbError *err) {
  (void)pattern, (void)each, (void)cookie;
  return refuse_file(host_data, err);
}

/* No file is ever opened, so these are never given one; they exist so that
 * a connector testing for the slots finds them. */
static int dry_read(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err) {
  (void)file, (void)buf, (void)capacity;
  *n_read = 0;
  return nb_error_set(err, NB_INTERNAL, "validate opens no files");
}
static int dry_write(NbFile *file, const void *buf, size_t len, NbError *err) {
  (void)file, (void)buf, (void)len;
  return nb_error_set(err, NB_INTERNAL, "validate opens no files");
}
static int dry_commit(NbFile *file, uint64_t *durable_length, NbError *err) {
  (void)file;
  *durable_length = 0;
  return nb_error_set(err, NB_INTERNAL, "validate opens no files");
}
static int dry_close(NbFile *file, NbError *err) {
  (void)file, (void)err;
  return NB_OK;
}
static int dry_skip(NbFile *file, uint64_t n, NbError *err) {
  (void)file, (void)n;
  return nb_error_set(err, NB_INTERNAL, "validate opens no files");
}

void nbh_cli_dry_host_api(NbhCliDryHost *ctx, NbHostApi *api) {
  memset(api, 0, sizeof *api);
  api->struct_size = (uint32_t)sizeof *api;
  api->abi_version = NB_ABI_CURRENT;
  api->host_data = ctx;
  api->log = dry_log;
  api->is_cancelled = dry_is_cancelled;
  api->counter_add = dry_counter_add;
  api->file_open_read = dry_open_read;
  api->file_read = dry_read;
  api->file_open_write = dry_open_write;
  api->file_write = dry_write;
  api->file_commit = dry_commit;
  api->file_close = dry_close;
  api->file_skip = dry_skip;
  api->block_compress_bound = nbh_block_compress_bound;
  api->block_compress = nbh_block_compress;
  api->block_decompress = nbh_block_decompress;
  api->file_list = dry_file_list;
}
