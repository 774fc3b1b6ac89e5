/*
 * storage_local.c - a test storage module: "loc:///abs/path" is the local
 * file /abs/path, read with pread from an offset, listed with glob(3).
 * It lets the routing, the reopen-at-offset skip, the host's codecs on top
 * and file_list be tested without a server.  Each reader_open is logged
 * ("loc open at N") so a test can see that a resumed run starts mid-file.
 * Built again with STORAGE_ABI / STORAGE_SCHEME changed to be refused by
 * the loader's version rules.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nebula/sdk.h"

#ifndef STORAGE_ABI
#define STORAGE_ABI NB_ABI_CURRENT
#endif
#ifndef STORAGE_SCHEME
#define STORAGE_SCHEME "loc"
#endif
#define PREFIX_LEN (sizeof STORAGE_SCHEME + 2) /* "loc://" */

typedef struct Reader {
  int fd;
  off_t offset;
} Reader;

static int loc_list(const NbHostApi *host, const char *pattern,
                    int (*each)(void *cookie, const char *path, int64_t size_bytes),
                    void *cookie, NbError *err) {
  glob_t g;
  size_t i;
  int rc;
  (void)host;
  memset(&g, 0, sizeof g);
  if (glob(pattern + PREFIX_LEN, 0, NULL, &g) != 0) {
    globfree(&g);
    return nb_error_set(err, NB_NOT_FOUND, "no object matches \"%s\"", pattern);
  }
  for (i = 0, rc = NB_OK; i < g.gl_pathc && rc == NB_OK; i++) {
    char *path = NULL;
    if (asprintf(&path, STORAGE_SCHEME "://%s", g.gl_pathv[i]) < 0) {
      rc = nb_error_set(err, NB_NOMEM, "out of memory");
      break;
    }
    rc = each(cookie, path, -1);
    free(path);
  }
  globfree(&g);
  return rc;
}

static int loc_open(const NbHostApi *host, const char *path, uint64_t offset, void **out,
                    NbError *err) {
  struct stat st;
  char line[64];
  Reader *r;
  int fd = open(path + PREFIX_LEN, O_RDONLY | O_CLOEXEC);
  *out = NULL;
  if (fd < 0)
    return nb_error_set(err, errno == ENOENT ? NB_NOT_FOUND : NB_IO, "no object \"%s\"", path);
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < offset) {
    close(fd);
    return nb_error_set(err, NB_END, "offset %llu is past the end of \"%s\"",
                        (unsigned long long)offset, path);
  }
  r = malloc(sizeof *r);
  if (r == NULL) {
    close(fd);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  r->fd = fd;
  r->offset = (off_t)offset;
  snprintf(line, sizeof line, "loc open at %llu", (unsigned long long)offset);
  host->log(host->host_data, NB_LOG_INFO, line);
  *out = r;
  return NB_OK;
}

/* A test slows the module down (NEBULA_TEST_LOC_READ_DELAY_US, a pause
 * before each 4 KiB read) so that a run lasts long enough to be killed
 * mid-object whatever the machine's speed. */
static void loc_read_delay(void) {
  const char *env = getenv("NEBULA_TEST_LOC_READ_DELAY_US");
  long us = env != NULL ? strtol(env, NULL, 10) : 0;
  if (us > 0 && us < 1000000) usleep((useconds_t)us);
}

static int loc_read(void *reader, void *buf, size_t cap, size_t *n, NbError *err) {
  Reader *r = reader;
  loc_read_delay();
  ssize_t got = pread(r->fd, buf, cap < 4096 ? cap : 4096, r->offset);
  *n = 0;
  if (got < 0) return nb_error_set(err, NB_IO, "pread failed");
  r->offset += got;
  *n = (size_t)got;
  return NB_OK;
}

static void loc_close(void *reader) {
  Reader *r = reader;
  if (r == NULL) return;
  close(r->fd);
  free(r);
}

NB_EXPORT int nebula_storage_entry(uint32_t host_abi, NbStorage *out, NbError *err) {
  NbStorage mine;
  uint32_t size;
  (void)err;
  if (out == NULL || out->struct_size < 8) return NB_INVALID;
  size = out->struct_size < sizeof mine ? out->struct_size : (uint32_t)sizeof mine;
  out->abi_version = STORAGE_ABI;
  out->struct_size = size;
  if (NB_ABI_MAJOR_OF(host_abi) != NB_ABI_MAJOR_OF(STORAGE_ABI)) return NB_ABI_MISMATCH;
  memset(&mine, 0, sizeof mine);
  mine.struct_size = size;
  mine.abi_version = STORAGE_ABI;
  mine.name = "loc_" STORAGE_SCHEME;
  mine.version = "0.1";
  mine.description = "local files as loc:// objects (test)";
  mine.schemes = STORAGE_SCHEME;
  mine.object_list = loc_list;
  mine.reader_open = loc_open;
  mine.reader_read = loc_read;
  mine.reader_close = loc_close;
  memcpy(out, &mine, size);
  return NB_OK;
}
