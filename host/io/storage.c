/*
 * storage.c - which layer serves a path, and listing files for
 * NbHostApi.file_list; see storage.h.
 */
#include "storage.h"

#include <glob.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nebula/sdk.h"

/* Length of the scheme of path ("s3" in "s3://b/k"), 0 when it has none. */
static size_t scheme_length(const char *path) {
  size_t i = 0;
  if (!(path[0] >= 'a' && path[0] <= 'z')) return 0;
  for (i = 1; path[i] != '\0' && i < 32; i++) {
    char c = path[i];
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-')
      continue;
    break;
  }
  return strncmp(path + i, "://", 3) == 0 ? i : 0;
}

/* Whether word (len bytes) is one of the '|'-separated words of list. */
static bool word_in(const char *list, const char *word, size_t len) {
  const char *p = list;
  while (p != NULL && *p != '\0') {
    const char *end = strchr(p, '|');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
    if (n == len && strncmp(p, word, len) == 0) return true;
    p = end != NULL ? end + 1 : NULL;
  }
  return false;
}

const NbStorage *nbh_storage_find(const NbhStorageList *list, const char *scheme, size_t len) {
  size_t i;
  if (list == NULL) return NULL;
  for (i = 0; i < list->n; i++)
    if (word_in(list->modules[i].schemes, scheme, len)) return &list->modules[i];
  return NULL;
}

int nbh_storage_route(const NbhStorageList *list, const char *path, NbhRoute *out,
                      NbError *err) {
  size_t len;
  out->module = NULL;
  out->local_path = path;
  if (path == NULL) return NB_OK;
  len = scheme_length(path);
  if (len == 0) return NB_OK;
  if (len == 4 && strncmp(path, "file", 4) == 0) {
    out->local_path = path + 7;
    return NB_OK;
  }
  out->module = nbh_storage_find(list, path, len);
  if (out->module != NULL) return NB_OK;
  nb_error_set(err, NB_INVALID, "no storage module serves the scheme \"%.*s\" of path \"%s\"",
               (int)len, path, path);
  nb_error_detail(err, "Paths with a scheme are served by storage modules; none of the loaded "
                       "modules declares \"%.*s\".", (int)len, path);
  nb_error_hint(err, "Install the package nebula-storage-%.*s (the module storage_%.*s.so in "
                     "the connector directory), or remove the scheme for a local file.",
                (int)len, path, (int)len, path);
  return NB_INVALID;
}

int nbh_storage_list_add(NbhStorageList *list, const NbStorage *module, const char *path) {
  NbStorage *modules = realloc(list->modules, (list->n + 1) * sizeof *modules);
  char **paths;
  if (modules == NULL) return -1;
  list->modules = modules;
  paths = realloc(list->paths, (list->n + 1) * sizeof *paths);
  if (paths == NULL) return -1;
  list->paths = paths;
  paths[list->n] = strdup(path != NULL ? path : "");
  if (paths[list->n] == NULL) return -1;
  modules[list->n] = *module;
  list->n++;
  return 0;
}

void nbh_storage_list_free(NbhStorageList *list) {
  size_t i;
  if (list == NULL) return;
  for (i = 0; i < list->n; i++) free(list->paths[i]);
  free(list->paths);
  free(list->modules);
  memset(list, 0, sizeof *list);
}

/* ------------------------------------------------------------------------
 * Listing
 * ------------------------------------------------------------------------ */

static int64_t local_size(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return (int64_t)st.st_size;
}

static int list_local(const char *pattern,
                      int (*each)(void *cookie, const char *path, int64_t size_bytes),
                      void *cookie, NbError *err) {
  glob_t g;
  size_t i;
  int rc;
  memset(&g, 0, sizeof g);
  rc = glob(pattern, 0, NULL, &g);
  if (rc == GLOB_NOMATCH) {
    globfree(&g);
    return nb_error_set(err, NB_NOT_FOUND, "no file matches pattern \"%s\"", pattern);
  }
  if (rc != 0) {
    globfree(&g);
    return nb_error_set(err, rc == GLOB_NOSPACE ? NB_NOMEM : NB_IO,
                        "could not expand pattern \"%s\"", pattern);
  }
  for (i = 0, rc = NB_OK; i < g.gl_pathc && rc == NB_OK; i++)
    rc = each(cookie, g.gl_pathv[i], local_size(g.gl_pathv[i]));
  globfree(&g);
  return rc;
}

int nbh_storage_file_list(const NbhStorageList *list, const NbHostApi *host,
                          const char *pattern,
                          int (*each)(void *cookie, const char *path, int64_t size_bytes),
                          void *cookie, NbError *err) {
  NbhRoute route;
  int rc;
  if (pattern == NULL || each == NULL)
    return nb_error_set(err, NB_INVALID, "file_list: pattern and each must not be NULL");
  rc = nbh_storage_route(list, pattern, &route, err);
  if (rc != NB_OK) return rc;
  if (route.module == NULL) return list_local(route.local_path, each, cookie, err);
  return route.module->object_list(host, pattern, each, cookie, err);
}
