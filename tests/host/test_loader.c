/*
 * test_loader.c - the connector loader: every refusal's message, detail and
 * hint against the deliberately broken test connectors, the search order
 * (--plugin-dir, NEBULA_PLUGIN_PATH), the uninstalled build-tree layout,
 * de-duplication, and that modules stay resident.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader.h"

#define TEST_PLUGINS TOP_BUILDDIR "/tests/connectors"
#define MODULE(name) TEST_PLUGINS "/.libs/" name ".so"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static const NbhLoadError *error_for(const NbhPluginSet *set, const char *path) {
  size_t i;
  for (i = 0; i < set->n_errors; i++)
    if (strcmp(set->errors[i].path, path) == 0) return &set->errors[i];
  return NULL;
}

static void assert_contains(const char *text, const char *part) {
  if (text == NULL || strstr(text, part) == NULL) {
    print_error("expected \"%s\" in \"%s\"\n", part, text ? text : "(null)");
    fail();
  }
}

/* Load one file into a fresh set and return its only error. */
static const NbhLoadError *refuse_one(NbhPluginSet *set, const char *path) {
  nbh_plugins_init(set);
  assert_int_equal(nbh_plugin_load_file(path, set), -1);
  assert_int_equal(set->n_plugins, 0);
  assert_int_equal(set->n_errors, 1);
  assert_string_equal(set->errors[0].path, path);
  return &set->errors[0];
}

static void copy_file(const char *from, const char *to) {
  char buf[65536];
  ssize_t n;
  int in = open(from, O_RDONLY), out;
  assert_true(in >= 0);
  out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  assert_true(out >= 0);
  while ((n = read(in, buf, sizeof buf)) > 0) assert_int_equal(write(out, buf, (size_t)n), n);
  close(in);
  close(out);
}

static void make_dirs(const char *path) {
  char copy[PATH_MAX], *p;
  snprintf(copy, sizeof copy, "%s", path);
  for (p = copy + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    mkdir(copy, 0755);
    *p = '/';
  }
  mkdir(copy, 0755);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

typedef struct Scratch {
  char root[PATH_MAX];
} Scratch;

static int scratch_setup(void **state) {
  Scratch *s = calloc(1, sizeof *s);
  if (s == NULL) return -1;
  snprintf(s->root, sizeof s->root, "%s/tests/loader-XXXXXX", TOP_BUILDDIR);
  if (mkdtemp(s->root) == NULL) return -1;
  unsetenv("NEBULA_PLUGIN_PATH");
  *state = s;
  return 0;
}

static int scratch_teardown(void **state) {
  Scratch *s = *state;
  nftw(s->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(s);
  unsetenv("NEBULA_PLUGIN_PATH");
  return 0;
}

static char *join(const Scratch *s, const char *relative) {
  char *path = NULL;
  assert_true(asprintf(&path, "%s/%s", s->root, relative) > 0);
  return path;
}

/* ------------------------------------------------------------------------
 * One file at a time
 * ------------------------------------------------------------------------ */

static void test_good_loads_and_is_resident(void **state) {
  NbhPluginSet set;
  const NbhPlugin *p;
  (void)state;
  nbh_plugins_init(&set);
  assert_int_equal(nbh_plugin_load_file(MODULE("good_minimal"), &set), 0);
  assert_int_equal(set.n_errors, 0);
  p = nbh_plugins_find(&set, "testgood");
  assert_non_null(p);
  assert_string_equal(p->path, MODULE("good_minimal"));
  assert_string_equal(p->vtable.version, "1.2.3");
  assert_int_equal(p->abi_version, NB_ABI_CURRENT);
  assert_true(p->vtable.struct_size >= NB_CONNECTOR_SIZE_1_0);
  assert_non_null(p->vtable.source_next);
  assert_true(nbh_plugin_is_resident(p));
  assert_null(nbh_plugins_find(&set, "csv2"));
  /* The same file again is not a duplicate. */
  assert_int_equal(nbh_plugin_load_file(MODULE("good_minimal"), &set), 0);
  assert_int_equal(set.n_plugins, 1);
  assert_int_equal(set.n_errors, 0);
  nbh_plugins_free(&set);
}

static void test_major_mismatch(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, MODULE("broken_major"));
  (void)state;
  assert_string_equal(e->message, "incompatible connector \"" MODULE("broken_major")
                                  "\": ABI version mismatch");
  assert_string_equal(e->detail,
                      "The connector was built for ABI 2.0. This nebula-host provides ABI 1.2.");
  assert_string_equal(e->hint, "Install a build of the connector for ABI 1, or upgrade nebula-host.");
  nbh_plugins_free(&set);
}

static void test_newer_minor(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, MODULE("broken_minor"));
  (void)state;
  assert_string_equal(e->message, "incompatible connector \"" MODULE("broken_minor")
                                  "\": ABI version mismatch");
  assert_contains(e->detail, "built for ABI 1.9");
  assert_contains(e->detail, "provides ABI 1.2");
  assert_contains(e->hint, "Upgrade nebula-host");
  assert_contains(e->hint, "1.9");
  nbh_plugins_free(&set);
}

static void test_no_entry_symbol(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, MODULE("broken_noentry"));
  (void)state;
  assert_string_equal(e->message, "file \"" MODULE("broken_noentry")
                                  "\" is not a Nebula connector");
  assert_contains(e->detail, "\"nebula_connector_entry\"");
  assert_contains(e->detail, "broken_noentry_LTX_nebula_connector_entry");
  assert_contains(e->hint, "NB_CONNECTOR_ENTRY");
  nbh_plugins_free(&set);
}

static void test_entry_error_is_copied(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, MODULE("broken_entryfail"));
  (void)state;
  assert_string_equal(e->message, "could not initialize connector \"" MODULE("broken_entryfail")
                                  "\": licence file \"/etc/broken.lic\" is missing");
  assert_string_equal(e->detail, "The broken connector refuses to start without a licence.");
  assert_string_equal(e->hint, "Install the licence file.");
  nbh_plugins_free(&set);
}

static void test_missing_required_slot(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, MODULE("broken_noslot"));
  (void)state;
  assert_string_equal(e->message, "incompatible connector \"" MODULE("broken_noslot")
                                  "\": required function \"source_next\" is missing");
  assert_contains(e->detail, "\"brokennoslot\"");
  assert_contains(e->detail, "source capability");
  nbh_plugins_free(&set);
}

static void test_invalid_settings_declaration(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, MODULE("broken_settings"));
  (void)state;
  assert_contains(e->message, "invalid settings declaration");
  assert_contains(e->message, "\"brokensettings\"");
  assert_string_equal(e->detail, "Enum setting \"mode\" declares no choices.");
  nbh_plugins_free(&set);
}

static void test_vtable_too_small(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, MODULE("broken_small"));
  (void)state;
  assert_string_equal(e->message, "incompatible connector \"" MODULE("broken_small")
                                  "\": vtable too small");
  assert_contains(e->detail, "40 bytes");
  nbh_plugins_free(&set);
}

static void test_duplicate_name_first_wins(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e;
  (void)state;
  nbh_plugins_init(&set);
  assert_int_equal(nbh_plugin_load_file(MODULE("good_minimal"), &set), 0);
  assert_int_equal(nbh_plugin_load_file(MODULE("zz_broken_duplicate"), &set), -1);
  assert_int_equal(set.n_plugins, 1);
  assert_string_equal(nbh_plugins_find(&set, "testgood")->path, MODULE("good_minimal"));
  e = error_for(&set, MODULE("zz_broken_duplicate"));
  assert_non_null(e);
  assert_string_equal(e->message, "connector \"testgood\" is already loaded");
  assert_contains(e->detail, MODULE("zz_broken_duplicate"));
  assert_contains(e->detail, MODULE("good_minimal"));
  nbh_plugins_free(&set);
}

static void test_missing_file(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, TEST_PLUGINS "/.libs/no_such_module.so");
  (void)state;
  assert_string_equal(e->message, "could not access file \"" TEST_PLUGINS
                                  "/.libs/no_such_module.so\": No such file or directory");
  nbh_plugins_free(&set);
}

static void test_relative_path_refused(void **state) {
  NbhPluginSet set;
  const NbhLoadError *e = refuse_one(&set, "connectors/.libs/good_minimal.so");
  (void)state;
  assert_string_equal(e->message, "connector path \"connectors/.libs/good_minimal.so\" is not absolute");
  nbh_plugins_free(&set);
}

static void test_empty_path_refused(void **state) {
  NbhPluginSet set;
  (void)state;
  nbh_plugins_init(&set);
  assert_int_equal(nbh_plugin_load_file("", &set), -1);
  assert_string_equal(set.errors[0].message, "connector file name is empty");
  nbh_plugins_free(&set);
}

static void test_not_a_library(void **state) {
  Scratch *s = *state;
  NbhPluginSet set;
  char *path = join(s, "garbage.so");
  const NbhLoadError *e;
  char prefix[PATH_MAX + 64];
  write_text(path, "this is not an ELF file, and it is long enough for the dynamic linker to "
                   "read a whole ELF header from it before it gives up\n");
  e = refuse_one(&set, path);
  snprintf(prefix, sizeof prefix, "could not load library \"%s\": ", path);
  assert_int_equal(strncmp(e->message, prefix, strlen(prefix)), 0);
  /* The dynamic linker's own words follow, verbatim (glibc's), not
   * libltdl's "file not found". */
  assert_contains(e->message + strlen(prefix), "invalid ELF header");
  /* The file is read to say why; "run ldd" only helps with a library whose
   * dependency is missing, which a text file is not (issue 9, item 15). */
  assert_contains(e->detail, "it does not start with the ELF magic number");
  assert_null(strstr(e->hint, "ldd"));
  nbh_plugins_free(&set);
  free(path);
}

/* ------------------------------------------------------------------------
 * Searching
 * ------------------------------------------------------------------------ */

static void test_directory_refusals_do_not_stop_others(void **state) {
  NbhPluginSet set;
  const char *dirs[] = {TEST_PLUGINS};
  static const char *const refused[] = {"broken_major", "broken_minor", "broken_noentry",
                                        "broken_entryfail", "broken_noslot", "broken_settings",
                                        "broken_small", "zz_broken_duplicate"};
  size_t i;
  (void)state;
  assert_int_equal(nbh_plugins_load(dirs, 1, &set), 0);
  assert_non_null(nbh_plugins_find(&set, "testgood"));
  assert_string_equal(nbh_plugins_find(&set, "testgood")->path, MODULE("good_minimal"));
  for (i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.libs/%s.so", TEST_PLUGINS, refused[i]);
    if (error_for(&set, path) == NULL) {
      print_error("no refusal recorded for %s\n", path);
      fail();
    }
  }
  assert_contains(set.searched[0], TEST_PLUGINS);
  assert_contains(set.searched[0], "(--plugin-dir)");
  nbh_plugins_free(&set);
}

static void test_uninstalled_tree_layout(void **state) {
  Scratch *s = *state;
  NbhPluginSet set;
  char *good, *major, *minor, *deep, *text, *versioned, *root;
  const char *dirs[1];
  size_t i;
  root = join(s, "tree");
  good = join(s, "tree/good/.libs/good_minimal.so");
  major = join(s, "tree/.libs/broken_major.so");
  minor = join(s, "tree/broken_minor.so");
  deep = join(s, "tree/a/b/.libs/broken_small.so");
  text = join(s, "tree/notes.so.txt");
  versioned = join(s, "tree/libx.so.1");
  make_dirs(root);
  {
    char *d1 = join(s, "tree/good/.libs"), *d2 = join(s, "tree/.libs"),
         *d3 = join(s, "tree/a/b/.libs");
    make_dirs(d1), make_dirs(d2), make_dirs(d3);
    free(d1), free(d2), free(d3);
  }
  copy_file(MODULE("good_minimal"), good);
  copy_file(MODULE("broken_major"), major);
  copy_file(MODULE("broken_minor"), minor);
  copy_file(MODULE("broken_small"), deep);
  write_text(text, "not a module\n");
  copy_file(MODULE("broken_small"), versioned);
  dirs[0] = root;
  assert_int_equal(nbh_plugins_load(dirs, 1, &set), 0);
  assert_non_null(nbh_plugins_find(&set, "testgood"));
  assert_string_equal(nbh_plugins_find(&set, "testgood")->path, good);
  assert_non_null(error_for(&set, major));
  assert_non_null(error_for(&set, minor));
  /* Two levels down, other suffixes: not considered at all. */
  for (i = 0; i < set.n_errors; i++) {
    assert_null(strstr(set.errors[i].path, "/a/b/"));
    assert_null(strstr(set.errors[i].path, "libx.so.1"));
    assert_null(strstr(set.errors[i].path, "notes"));
  }
  nbh_plugins_free(&set);
  free(root), free(good), free(major), free(minor), free(deep), free(text), free(versioned);
}

/* --plugin-dir before NEBULA_PLUGIN_PATH, and that in its own order. */
/* A named search loads the files named NAME.so and nothing else; a name no
 * such file provides makes it load every file.  The loading slot is NULL
 * again afterwards. */
static void test_named_search_loads_only_what_it_needs(void **state) {
  Scratch *s = *state;
  NbhPluginSet set;
  const char *loading = "untouched";
  char *dir = join(s, "named");
  char *good = join(s, "named/testgood.so"), *minor = join(s, "named/broken_minor.so");
  const char *dirs[1];
  const char *names[1];
  make_dirs(dir);
  copy_file(MODULE("good_minimal"), good);
  copy_file(MODULE("broken_minor"), minor);
  dirs[0] = dir;

  names[0] = "testgood";
  nbh_plugins_init(&set);
  set.loading = &loading;
  assert_int_equal(nbh_plugins_search(&set, dirs, 1, names, 1), 0);
  assert_non_null(nbh_plugins_find(&set, "testgood"));
  assert_int_equal(set.n_plugins, 1);
  assert_int_equal(set.n_errors, 0); /* broken_minor.so was never opened */
  assert_null(loading);
  nbh_plugins_free(&set);

  /* No file is named "nosuch": every file is tried, as list does. */
  names[0] = "nosuch";
  nbh_plugins_init(&set);
  assert_int_equal(nbh_plugins_search(&set, dirs, 1, names, 1), 0);
  assert_non_null(nbh_plugins_find(&set, "testgood"));
  assert_non_null(error_for(&set, minor));
  nbh_plugins_free(&set);
  free(dir), free(good), free(minor);
}

static void test_search_order(void **state) {
  Scratch *s = *state;
  NbhPluginSet set;
  char *a = join(s, "a"), *b = join(s, "b"), *c = join(s, "c");
  char *in_a = join(s, "a/good_minimal.so"), *in_b = join(s, "b/good_minimal.so"),
       *in_c = join(s, "c/good_minimal.so");
  char env[3 * PATH_MAX];
  const char *dirs[1];
  make_dirs(a), make_dirs(b), make_dirs(c);
  copy_file(MODULE("good_minimal"), in_a);
  copy_file(MODULE("good_minimal"), in_b);
  copy_file(MODULE("good_minimal"), in_c);

  /* NEBULA_PLUGIN_PATH alone: its first directory wins; empty entries are
   * skipped. */
  snprintf(env, sizeof env, "%s::%s", b, a);
  setenv("NEBULA_PLUGIN_PATH", env, 1);
  assert_int_equal(nbh_plugins_load(NULL, 0, &set), 0);
  assert_string_equal(nbh_plugins_find(&set, "testgood")->path, in_b);
  assert_non_null(error_for(&set, in_a));
  assert_contains(error_for(&set, in_a)->detail, in_b);
  assert_contains(set.searched[0], "(NEBULA_PLUGIN_PATH)");
  nbh_plugins_free(&set);

  /* --plugin-dir comes before it. */
  dirs[0] = c;
  assert_int_equal(nbh_plugins_load(dirs, 1, &set), 0);
  assert_string_equal(nbh_plugins_find(&set, "testgood")->path, in_c);
  assert_non_null(error_for(&set, in_b));
  assert_non_null(error_for(&set, in_a));
  nbh_plugins_free(&set);
  free(a), free(b), free(c), free(in_a), free(in_b), free(in_c);
}

static void test_same_directory_twice_is_deduplicated(void **state) {
  NbhPluginSet set;
  const char *dirs[] = {TEST_PLUGINS, TEST_PLUGINS "/../connectors"};
  size_t i;
  (void)state;
  assert_int_equal(nbh_plugins_load(dirs, 2, &set), 0);
  /* The second directory is the first one again: nothing new, and in
   * particular no "already loaded" refusal but the deliberate one. */
  for (i = 0; i < set.n_errors; i++)
    if (strstr(set.errors[i].message, "already loaded") != NULL)
      assert_non_null(strstr(set.errors[i].path, "zz_broken_duplicate"));
  assert_int_equal(set.n_errors, 8);
  nbh_plugins_free(&set);
}

static void test_relative_plugin_dir(void **state) {
  Scratch *s = *state;
  NbhPluginSet set;
  char cwd[PATH_MAX], *dir = join(s, "rel/x");
  const char *dirs[] = {"rel"};
  char *module = join(s, "rel/x/good_minimal.so");
  make_dirs(dir);
  copy_file(MODULE("good_minimal"), module);
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(s->root), 0);
  assert_int_equal(nbh_plugins_load(dirs, 1, &set), 0);
  assert_int_equal(chdir(cwd), 0);
  assert_non_null(nbh_plugins_find(&set, "testgood"));
  /* Absolute, whatever was given. */
  assert_int_equal(nbh_plugins_find(&set, "testgood")->path[0], '/');
  nbh_plugins_free(&set);
  free(dir), free(module);
}

static void test_missing_plugin_dir_reported(void **state) {
  Scratch *s = *state;
  NbhPluginSet set;
  char *missing = join(s, "does-not-exist");
  const char *dirs[1];
  char expected[PATH_MAX + 128];
  dirs[0] = missing;
  assert_int_equal(nbh_plugins_load(dirs, 1, &set), 0);
  assert_int_equal(set.n_plugins, 0);
  snprintf(expected, sizeof expected,
           "could not access connector directory \"%s\": No such file or directory", missing);
  assert_non_null(error_for(&set, missing));
  assert_string_equal(error_for(&set, missing)->message, expected);
  assert_contains(error_for(&set, missing)->detail, "--plugin-dir");
  nbh_plugins_free(&set);
  free(missing);
}

static void test_abi_version_text(void **state) {
  char buf[16];
  (void)state;
  assert_string_equal(nbh_abi_version_text(NB_ABI_VERSION(2, 1), buf, sizeof buf), "2.1");
  assert_string_equal(nbh_abi_version_text(NB_ABI_VERSION(1, 0), buf, sizeof buf), "1.0");
  assert_string_equal(nbh_abi_version_text(NB_ABI_VERSION(1, 12), buf, sizeof buf), "1.12");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_good_loads_and_is_resident, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_major_mismatch, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_newer_minor, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_no_entry_symbol, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_entry_error_is_copied, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_missing_required_slot, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_invalid_settings_declaration, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_vtable_too_small, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_name_first_wins, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_relative_path_refused, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_empty_path_refused, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_not_a_library, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_directory_refusals_do_not_stop_others, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_uninstalled_tree_layout, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_search_order, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_named_search_loads_only_what_it_needs, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_same_directory_twice_is_deduplicated, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test_setup_teardown(test_relative_plugin_dir, scratch_setup, scratch_teardown),
      cmocka_unit_test_setup_teardown(test_missing_plugin_dir_reported, scratch_setup,
                                      scratch_teardown),
      cmocka_unit_test(test_abi_version_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
