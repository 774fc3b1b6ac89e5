/*
 * cli_host.c - the NbHostApi that `check` and `discover` hand to the
 * connectors they open: logging through the host logger, cancellation from
 * the signal flag, the file layer of io.c.  `check` must not damage
 * anything, so its destination sees a file_open_write that only proves the
 * file could be written and then writes to /dev/null.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "io.h"
#include "nebula/sdk.h"

static void host_log(void *host_data, int level, const char *message) {
  NbhCliHost *ctx = host_data;
  nbh_log(ctx->logger, level, ctx->component, "%s", message);
}

static int host_is_cancelled(void *host_data) {
  NbhCliHost *ctx = host_data;
  return *ctx->stop_signal != 0;
}

static void host_counter_add(void *host_data, const char *name, int64_t delta) {
  (void)host_data;
  (void)name;
  (void)delta;
}

/* Open path for writing without O_TRUNC (and remove it again if this call
 * created it), then give the connector a sink.  Compression is checked by
 * the real open on /dev/null. */
static int host_open_write_dry(void *host_data, const char *path, const NbWriteOptions *options,
                               NbFile **out, NbError *err) {
  struct stat st;
  bool existed;
  int fd;
  if (strcmp(path, "-") != 0) {
    existed = stat(path, &st) == 0;
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
      return nb_error_set(err, NB_IO, "could not open file \"%s\" for writing: %s", path,
                          strerror(errno));
    close(fd);
    if (!existed) unlink(path);
  }
  return nbh_file_open_write(host_data, "/dev/null", options, out, err);
}

void nbh_cli_host_api(NbhCliHost *ctx, NbHostApi *api) {
  memset(api, 0, sizeof *api);
  api->struct_size = (uint32_t)sizeof *api;
  api->abi_version = NB_ABI_CURRENT;
  api->host_data = ctx;
  api->log = host_log;
  api->is_cancelled = host_is_cancelled;
  api->counter_add = host_counter_add;
  nbh_io_install(api);
  if (ctx->dry_write) api->file_open_write = host_open_write_dry;
}
