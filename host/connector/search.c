/*
 * search.c - where connectors are looked for: the search path (--plugin-dir,
 * NEBULA_PLUGIN_PATH, the compiled-in directory), the *.so files in each
 * directory, and which of them to load (all of them, or only what the
 * named connectors need).  Loading and judging one file is loader.c's part.
 *
 * Nothing is skipped without a word: a directory that cannot be read, a
 * *.so link that dangles or loops, is recorded in the set's errors (shown
 * as warnings by `list`, and whenever a connector is not found).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loader.h"
#include "textutil.h"

#ifndef NEBULA_CONNECTOR_DIR
#define NEBULA_CONNECTOR_DIR "/usr/local/lib/nebula/connectors"
#endif

typedef struct PathList {
  char **items;
  size_t n;
  bool failed;
} PathList;

static void path_list_add(PathList *list, char *path) {
  char **grown;
  if (path == NULL) {
    list->failed = true;
    return;
  }
  grown = realloc(list->items, (list->n + 1) * sizeof *grown);
  if (grown == NULL) {
    free(path);
    list->failed = true;
    return;
  }
  list->items = grown;
  list->items[list->n++] = path;
}

static bool path_list_has(const PathList *list, const char *path) {
  size_t i;
  for (i = 0; i < list->n; i++)
    if (strcmp(list->items[i], path) == 0) return true;
  return false;
}

static void path_list_free(PathList *list) {
  size_t i;
  for (i = 0; i < list->n; i++) free(list->items[i]);
  free(list->items);
  memset(list, 0, sizeof *list);
}

static bool has_so_suffix(const char *name) {
  size_t n = strlen(name);
  return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static bool is_directory(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A directory that exists but cannot be listed. */
static void warn_unreadable(NbhPluginSet *set, const char *dir, int error) {
  nbh_plugins_refuse(set, dir,
                     nbh_format("could not read connector directory \"%s\": %s", dir,
                                strerror(error)),
                     strdup("The connectors in it, if any, were not loaded."),
                     strdup("Check the directory's permissions."));
}

/* A *.so entry that stat() cannot follow: a dangling or looping link. */
static void warn_unfollowable(NbhPluginSet *set, const char *path, int error) {
  struct stat st;
  bool link = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
  const char *what = !link               ? "could not access connector file"
                     : error == ELOOP    ? "connector link loops"
                     : error == ENOENT   ? "connector link is dangling"
                                         : "could not follow connector link";
  nbh_plugins_refuse(set, path, nbh_format("%s \"%s\": %s", what, path, strerror(error)),
                     link ? strdup("The symbolic link does not lead to a file.") : NULL,
                     link ? strdup("Remove the link, or point it at the connector's file.")
                          : NULL);
}

/* Add every regular *.so file directly in dir.  A missing dir is not an
 * error (most directories have no .libs); an unreadable one is. */
static void collect_modules(NbhPluginSet *set, const char *dir, PathList *out) {
  DIR *d = opendir(dir);
  struct dirent *entry;
  if (d == NULL) {
    if (errno != ENOENT && errno != ENOTDIR) warn_unreadable(set, dir, errno);
    return;
  }
  while ((entry = readdir(d)) != NULL) {
    char *full;
    struct stat st;
    if (entry->d_name[0] == '.' || !has_so_suffix(entry->d_name)) continue;
    full = nbh_format("%s/%s", dir, entry->d_name);
    if (full == NULL) {
      out->failed = true;
      continue;
    }
    if (stat(full, &st) != 0) {
      warn_unfollowable(set, full, errno);
      free(full);
    } else if (S_ISREG(st.st_mode)) {
      path_list_add(out, full);
    } else {
      free(full);
    }
  }
  closedir(d);
}

/* DIR, DIR/.libs, DIR/<sub> and DIR/<sub>/.libs. */
static void collect_tree(NbhPluginSet *set, const char *root, PathList *out) {
  DIR *d;
  struct dirent *entry;
  char *libs;
  collect_modules(set, root, out);
  libs = nbh_format("%s/.libs", root);
  if (libs != NULL) collect_modules(set, libs, out);
  free(libs);
  d = opendir(root);
  if (d == NULL) return; /* reported by collect_modules */
  while ((entry = readdir(d)) != NULL) {
    char *sub;
    if (entry->d_name[0] == '.') continue;
    sub = nbh_format("%s/%s", root, entry->d_name);
    if (sub != NULL && is_directory(sub)) {
      char *sub_libs = nbh_format("%s/.libs", sub);
      collect_modules(set, sub, out);
      if (sub_libs != NULL) collect_modules(set, sub_libs, out);
      free(sub_libs);
    }
    free(sub);
  }
  closedir(d);
}

static int compare_paths(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void note_searched(NbhPluginSet *set, const char *dir, const char *origin) {
  char **grown = realloc(set->searched, (set->n_searched + 1) * sizeof *grown);
  char *text;
  if (grown == NULL) return;
  set->searched = grown;
  text = nbh_format("%s (%s)", dir, origin);
  if (text != NULL) set->searched[set->n_searched++] = text;
}

/* Add the module files of one directory to files, sorted, each file
 * (by realpath, kept in seen) once over the whole path.  A missing
 * directory is reported unless it is the compiled-in default, which an
 * uninstalled build never has. */
static void search_directory(NbhPluginSet *set, const char *dir, const char *origin,
                             bool report_missing, PathList *seen, PathList *files) {
  char resolved[PATH_MAX];
  PathList found = {NULL, 0, false};
  size_t i;
  if (realpath(dir, resolved) == NULL || !is_directory(resolved)) {
    int saved = errno;
    note_searched(set, dir, origin);
    if (report_missing)
      nbh_plugins_refuse(set, dir,
                         nbh_format("could not access connector directory \"%s\": %s", dir,
                                    realpath(dir, resolved) == NULL ? strerror(saved)
                                                                    : "Not a directory"),
                         nbh_format("The directory comes from %s.", origin), NULL);
    return;
  }
  note_searched(set, resolved, origin);
  collect_tree(set, resolved, &found);
  if (found.n > 1) qsort(found.items, found.n, sizeof *found.items, compare_paths);
  for (i = 0; i < found.n; i++) {
    char real[PATH_MAX];
    if (realpath(found.items[i], real) == NULL || path_list_has(seen, real)) continue;
    path_list_add(seen, strdup(real));
    path_list_add(files, found.items[i]);
    found.items[i] = NULL;
  }
  if (found.failed) files->failed = true;
  path_list_free(&found);
}

/* NEBULA_NO_DEFAULT_PLUGIN_DIR=1 leaves out the compiled-in directory, so
 * a test run sees only the connectors it names, never installed ones. */
static bool default_dir_disabled(void) {
  const char *v = getenv("NEBULA_NO_DEFAULT_PLUGIN_DIR");
  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Every module file on the search path, in search order. */
static void collect_path(NbhPluginSet *set, const char *const *dirs, size_t n_dirs,
                         PathList *files) {
  PathList seen = {NULL, 0, false};
  const char *env = getenv("NEBULA_PLUGIN_PATH");
  size_t i;
  for (i = 0; i < n_dirs; i++) search_directory(set, dirs[i], "--plugin-dir", true, &seen, files);
  if (env != NULL) {
    char *copy = strdup(env), *part, *save = NULL;
    if (copy == NULL) files->failed = true;
    for (part = copy ? strtok_r(copy, ":", &save) : NULL; part != NULL;
         part = strtok_r(NULL, ":", &save))
      search_directory(set, part, "NEBULA_PLUGIN_PATH", true, &seen, files);
    free(copy);
  }
  if (!default_dir_disabled())
    search_directory(set, NEBULA_CONNECTOR_DIR, "built-in connector directory", false, &seen,
                     files);
  if (seen.failed) files->failed = true;
  path_list_free(&seen);
}

/* "csv" for ".../csv.so". */
static bool file_is_named(const char *path, const char *name) {
  const char *base = strrchr(path, '/');
  size_t n = strlen(name);
  base = base != NULL ? base + 1 : path;
  return strncmp(base, name, n) == 0 && strcmp(base + n, ".so") == 0;
}

/* "storage_s3" for ".../storage_s3.so". */
static bool is_storage_file(const char *path) {
  const char *base = strrchr(path, '/');
  size_t n;
  base = base != NULL ? base + 1 : path;
  n = strlen(base);
  return strncmp(base, "storage_", 8) == 0 && n > 11 && strcmp(base + n - 3, ".so") == 0;
}

/* Load files[i] once (tried[i] remembers). */
static void load_once(NbhPluginSet *set, const PathList *files, bool *tried, size_t i) {
  if (tried[i]) return;
  tried[i] = true;
  nbh_plugin_load_file(files->items[i], set);
}

/* The files named after name, in order, until one provides it.  Returns
 * true when name was found. */
static bool load_named(NbhPluginSet *set, const PathList *files, bool *tried, const char *name) {
  size_t i;
  for (i = 0; i < files->n && nbh_plugins_find(set, name) == NULL; i++)
    if (file_is_named(files->items[i], name)) load_once(set, files, tried, i);
  return nbh_plugins_find(set, name) != NULL;
}

int nbh_plugins_search(NbhPluginSet *set, const char *const *dirs, size_t n_dirs,
                       const char *const *names, size_t n_names) {
  PathList files = {NULL, 0, false};
  bool *tried, all = n_names == 0;
  size_t i;
  int rc;
  if (nbh_plugins_start(set) != 0) return -1;
  collect_path(set, dirs, n_dirs, &files);
  tried = calloc(files.n + 1, sizeof *tried);
  if (tried == NULL) {
    path_list_free(&files);
    return -1;
  }
  for (i = 0; i < n_names; i++)
    if (!load_named(set, &files, tried, names[i])) all = true;
  /* Storage modules (storage_<name>.so by convention) serve paths of any
   * connector, whatever the names asked for: loaded when the caller says a
   * path has a scheme (libcurl and TLS are not loaded for nothing). */
  for (i = 0; i < files.n && !all && set->load_storage; i++)
    if (is_storage_file(files.items[i])) load_once(set, &files, tried, i);
  if (all)
    for (i = 0; i < files.n; i++) load_once(set, &files, tried, i);
  rc = files.failed ? -1 : 0;
  free(tried);
  path_list_free(&files);
  return rc;
}

int nbh_plugins_load(const char *const *dirs, size_t n_dirs, NbhPluginSet *set) {
  nbh_plugins_init(set);
  return nbh_plugins_search(set, dirs, n_dirs, NULL, 0);
}
