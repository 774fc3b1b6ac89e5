/*
 * test_io.c - unit tests of the host's file layer (host/io.c, codec_*.c,
 * crc32c.c): plain files, stdin, resume and commit, error messages, and for
 * every codec round trips, tiny reads and writes, empty files, concatenated
 * frames, commit/resume, and corruption and truncation at every byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "crc32c.h"
#include "io.h"
#include "nebula/sdk.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

typedef struct Buf {
  uint8_t *data;
  size_t len;
} Buf;

typedef struct Codec {
  const char *compression; /* as in NbWriteOptions */
  const char *ext;
  size_t magic_len;        /* shorter files are plain */
} Codec;

static const Codec codec_gzip = {"gzip", ".gz", 2};
static const Codec codec_zstd = {"zstd", ".zst", 4};
static const Codec codec_lz4 = {"lz4", ".lz4", 4};
static const Codec codec_snappy = {"snappy", ".sz", 10};
static const Codec codec_none = {"none", ".txt", 0};

static char tmpdir[256];

static char *tmp_path(const char *name) {
  char *p = NULL;
  assert_true(asprintf(&p, "%s/%s", tmpdir, name) > 0);
  return p;
}

/* Deterministic data: text-like lines or incompressible bytes. */
static Buf make_text(size_t len) {
  Buf b = {malloc(len ? len : 1), len};
  assert_non_null(b.data);
  uint64_t x = 42;
  size_t i = 0;
  while (i < len) {
    char line[96];
    x = x * 6364136223846793005u + 1442695040888963407u;
    int n = snprintf(line, sizeof line, "%zu,user%u,%05u,\"city %u\",%u.%02u\n", i,
                     (unsigned)(x >> 40) % 1000, (unsigned)(x >> 20) % 100000,
                     (unsigned)(x >> 50) % 50, (unsigned)(x >> 33) % 1000, (unsigned)x % 100);
    for (int k = 0; k < n && i < len; k++) b.data[i++] = (uint8_t)line[k];
  }
  return b;
}

static Buf make_random(size_t len, uint64_t seed) {
  Buf b = {malloc(len ? len : 1), len};
  assert_non_null(b.data);
  uint64_t x = seed;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b.data[i] = (uint8_t)(x >> 24);
  }
  return b;
}

static Buf concat(Buf a, Buf b) {
  Buf c = {malloc(a.len + b.len + 1), a.len + b.len};
  assert_non_null(c.data);
  memcpy(c.data, a.data, a.len);
  memcpy(c.data + a.len, b.data, b.len);
  return c;
}

static Buf slurp(const char *path) {
  Buf b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  rewind(f);
  b.data = malloc((size_t)n + 1);
  assert_non_null(b.data);
  b.len = fread(b.data, 1, (size_t)n, f);
  assert_int_equal(b.len, (size_t)n);
  fclose(f);
  return b;
}

static void spit(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static NbWriteOptions wopts(const char *compression, int64_t resume) {
  NbWriteOptions o = {.struct_size = sizeof o, .compression = compression,
                      .resume_length = resume};
  return o;
}

/* Write data through the layer in pieces of `piece` bytes; returns the
 * committed length. */
static uint64_t write_file(const char *path, const char *compression, int threading,
                           Buf data, size_t piece) {
  NbError err;
  nb_error_init(&err);
  NbWriteOptions o = wopts(compression, -1);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_write_ex(path, &o, threading, &f, &err), NB_OK);
  for (size_t at = 0; at < data.len; at += piece) {
    size_t n = data.len - at < piece ? data.len - at : piece;
    assert_int_equal(nbh_file_write(f, data.data + at, n, &err), NB_OK);
  }
  uint64_t length = 0;
  assert_int_equal(nbh_file_commit(f, &length, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  return length;
}

/* Read a whole file in pieces of `piece` bytes.  Returns the status of the
 * read that stopped it; *out gets everything read before. */
static int read_file(const char *path, size_t piece, Buf *out, NbError *err) {
  NbFile *f = NULL;
  out->data = NULL;
  out->len = 0;
  int rc = nbh_file_open_read(NULL, path, &f, err);
  if (rc != NB_OK) return rc;
  size_t cap = 1 << 16;
  out->data = malloc(cap);
  assert_non_null(out->data);
  uint8_t *chunk = malloc(piece);
  assert_non_null(chunk);
  for (;;) {
    size_t n = 0;
    rc = nbh_file_read(f, chunk, piece, &n, err);
    if (rc != NB_OK || n == 0) break;
    assert_true(n <= piece);
    if (out->len + n > cap) {
      while (out->len + n > cap) cap *= 2;
      out->data = realloc(out->data, cap);
      assert_non_null(out->data);
    }
    memcpy(out->data + out->len, chunk, n);
    out->len += n;
  }
  free(chunk);
  nbh_file_close(f, NULL);
  return rc;
}

static void assert_reads_back(const char *path, Buf expected, size_t piece) {
  NbError err;
  nb_error_init(&err);
  Buf got;
  int rc = read_file(path, piece, &got, &err);
  if (rc != NB_OK) fail_msg("reading %s: %s", path, err.message);
  assert_int_equal(got.len, expected.len);
  assert_memory_equal(got.data, expected.data, expected.len);
  free(got.data);
}

static bool same(Buf a, Buf b) {
  return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static int setup_dir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "%s/test_io.XXXXXX", P_tmpdir);
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char *cmd = NULL;
  if (asprintf(&cmd, "rm -rf '%s'", tmpdir) < 0) return -1;
  int rc = system(cmd);
  free(cmd);
  return rc == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------
 * Plain files
 * ------------------------------------------------------------------------ */

static void test_plain_round_trip(void **state) {
  (void)state;
  char *path = tmp_path("plain.csv");
  Buf data = make_text(3 * 1024 * 1024 + 17);
  uint64_t length = write_file(path, NULL, NBH_THREAD_AUTO, data, 100000);
  assert_int_equal(length, data.len);
  Buf disk = slurp(path);
  assert_true(same(disk, data));
  assert_reads_back(path, data, 1 << 20);
  assert_reads_back(path, data, 3 * 1024 * 1024); /* reads larger than the buffer */
  assert_reads_back(path, data, 4095);
  free(disk.data);
  free(data.data);
  free(path);
}

static void test_plain_threaded_same_bytes(void **state) {
  (void)state;
  char *path = tmp_path("plain_thread.csv");
  Buf data = make_text(2 * 1024 * 1024 + 5);
  assert_int_equal(write_file(path, "none", NBH_THREAD_ALWAYS, data, 7777), data.len);
  assert_reads_back(path, data, 1 << 16);
  free(data.data);
  free(path);
}

static void test_open_missing(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  NbFile *f = (NbFile *)1;
  char *path = tmp_path("no/such.csv");
  assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_NOT_FOUND);
  assert_null(f);
  char *want = NULL;
  assert_true(asprintf(&want, "could not open file \"%s\": No such file or directory", path) > 0);
  assert_string_equal(err.message, want);
  nb_error_release(&err);
  NbWriteOptions o = wopts(NULL, -1);
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_NOT_FOUND);
  assert_string_equal(err.message, want);
  nb_error_release(&err);
  free(want);
  free(path);
}

static void test_open_directory(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_read(NULL, tmpdir, &f, &err), NB_IO);
  assert_non_null(strstr(err.message, "Is a directory"));
  nb_error_release(&err);
}

static void test_empty_and_short_files_are_plain(void **state) {
  (void)state;
  char *path = tmp_path("short.bin");
  const char *shorts[] = {"", "\x1f", "\x28\xb5\x2f", "\xff\x06\x00\x00sNaP"};
  const size_t lens[] = {0, 1, 3, 9};
  for (size_t i = 0; i < 4; i++) {
    spit(path, shorts[i], lens[i]);
    NbError err;
    nb_error_init(&err);
    NbFile *f = NULL;
    assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
    assert_string_equal(nbh_file_codec(f), "none");
    nbh_file_close(f, NULL);
    Buf want = {(uint8_t *)shorts[i], lens[i]};
    assert_reads_back(path, want, 1);
  }
  free(path);
}

static void test_resume_truncates_and_appends(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  char *path = tmp_path("resume.txt");
  NbWriteOptions o = wopts("none", -1);
  NbFile *f = NULL;
  uint64_t length = 0;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_OK);
  assert_int_equal(nbh_file_write(f, "hello ", 6, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &length, &err), NB_OK);
  assert_int_equal(length, 6);
  assert_int_equal(nbh_file_write(f, "uncommitted", 11, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);

  o.resume_length = 6;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_OK);
  assert_int_equal(nbh_file_write(f, "world", 5, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &length, &err), NB_OK);
  assert_int_equal(length, 11);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  Buf want = {(uint8_t *)"hello world", 11};
  assert_reads_back(path, want, 3);

  /* Resume at 0 creates a missing file. */
  char *fresh = tmp_path("resume0.txt");
  o.resume_length = 0;
  assert_int_equal(nbh_file_open_write(NULL, fresh, &o, &f, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  Buf empty = {(uint8_t *)"", 0};
  assert_reads_back(fresh, empty, 10);
  free(fresh);
  free(path);
}

static void test_resume_beyond_end(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  char *path = tmp_path("short_resume.txt");
  spit(path, "abc", 3);
  NbWriteOptions o = wopts("none", 10);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_INVALID);
  assert_null(f);
  char *want = NULL;
  assert_true(asprintf(&want, "cannot resume writing file \"%s\" at byte 10: the file has "
                              "only 3 bytes", path) > 0);
  assert_string_equal(err.message, want);
  assert_non_null(err.hint);
  nb_error_release(&err);
  /* The file is left alone. */
  Buf still = {(uint8_t *)"abc", 3};
  assert_reads_back(path, still, 10);
  free(want);
  free(path);
}

static void test_skip_plain(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  char *path = tmp_path("skip.txt");
  Buf data = make_text(3 * 1024 * 1024);
  spit(path, data.data, data.len);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
  uint8_t buf[100];
  size_t n = 0;
  assert_int_equal(nbh_file_skip(f, 10, &err), NB_OK);
  assert_int_equal(nbh_file_read(f, buf, sizeof buf, &n, &err), NB_OK);
  assert_memory_equal(buf, data.data + 10, n);
  assert_int_equal(nbh_file_skip(f, 2 * 1024 * 1024, &err), NB_OK);
  assert_int_equal(nbh_file_read(f, buf, sizeof buf, &n, &err), NB_OK);
  assert_memory_equal(buf, data.data + 110 + 2 * 1024 * 1024, n);
  assert_int_equal(nbh_file_skip(f, data.len, &err), NB_END);
  assert_non_null(strstr(err.message, "could not skip"));
  nb_error_release(&err);
  assert_int_equal(nbh_file_read(f, buf, sizeof buf, &n, &err), NB_OK);
  assert_int_equal(n, 0);
  assert_int_equal(nbh_file_raw_offset(f), data.len);
  nbh_file_close(f, NULL);
  free(data.data);
  free(path);
}

static void test_stdin(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  char *path = tmp_path("stdin.zst");
  Buf data = make_text(200000);
  write_file(path, NULL, NBH_THREAD_AUTO, data, 1 << 20);
  int saved = dup(STDIN_FILENO);
  int fd = open(path, O_RDONLY);
  assert_true(saved >= 0 && fd >= 0);
  assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
  close(fd);
  Buf got;
  assert_int_equal(read_file("-", 1000, &got, &err), NB_OK);
  assert_true(same(got, data));
  assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
  close(saved);
  free(got.data);
  free(data.data);
  free(path);
}

static void test_write_errors_are_reported(void **state) {
  (void)state;
  if (access("/dev/full", W_OK) != 0) fail_msg("/dev/full is needed by this test");
  const char *codecs[] = {"none", "zstd", "gzip"};
  const int threading[] = {NBH_THREAD_NEVER, NBH_THREAD_ALWAYS};
  Buf data = make_random(3 * 1024 * 1024, 7);
  for (size_t c = 0; c < 3; c++) {
    for (size_t t = 0; t < 2; t++) {
      NbError err;
      nb_error_init(&err);
      NbWriteOptions o = wopts(codecs[c], -1);
      NbFile *f = NULL;
      assert_int_equal(nbh_file_open_write_ex("/dev/full", &o, threading[t], &f, &err), NB_OK);
      int rc = nbh_file_write(f, data.data, data.len, &err);
      if (rc == NB_OK) {
        uint64_t length;
        rc = nbh_file_commit(f, &length, &err);
      }
      assert_int_equal(rc, NB_IO);
      assert_string_equal(err.message,
                          "could not write to file \"/dev/full\": No space left on device");
      nb_error_release(&err);
      /* Sticky: later calls fail too, close reports it and frees. */
      assert_int_equal(nbh_file_write(f, "x", 1, &err), NB_IO);
      nb_error_release(&err);
      assert_int_equal(nbh_file_close(f, &err), NB_IO);
      nb_error_release(&err);
    }
  }
  free(data.data);
}

static void test_bad_options(void **state) {
  (void)state;
  NbError err;
  nb_error_init(&err);
  char *path = tmp_path("opts.out");
  NbFile *f = NULL;
  NbWriteOptions o = wopts("brotli", -1);
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "unknown compression \"brotli\""));
  nb_error_release(&err);
  o = wopts("gzip", -1);
  o.level = 10;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "compression level 10 is out of range for gzip"));
  assert_string_equal(err.detail, "Levels of gzip go from 1 to 9; 0 means the default.");
  nb_error_release(&err);
  o = wopts("snappy", -1);
  o.level = 3;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_INVALID);
  nb_error_release(&err);
  o = wopts("auto", -1);
  o.level = 3;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "not compressed"));
  nb_error_release(&err);
  /* Nothing was created by the refused opens. */
  assert_int_equal(access(path, F_OK), -1);
  free(path);
}

static void test_auto_by_extension(void **state) {
  (void)state;
  const char *names[] = {"a.csv.gz", "a.csv.zst", "a.csv.lz4", "a.csv.sz", "a.csv"};
  const char *want[] = {"gzip", "zstd", "lz4", "snappy", "none"};
  Buf data = make_text(1000);
  for (size_t i = 0; i < 5; i++) {
    char *path = tmp_path(names[i]);
    write_file(path, "auto", NBH_THREAD_AUTO, data, 1000);
    NbError err;
    nb_error_init(&err);
    NbFile *f = NULL;
    assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
    assert_string_equal(nbh_file_codec(f), want[i]);
    nbh_file_close(f, NULL);
    assert_reads_back(path, data, 100);
    free(path);
  }
  free(data.data);
}

static void test_crc32c(void **state) {
  (void)state;
  assert_int_equal(nbh_crc32c(0, "123456789", 9), 0xE3069283u);
  assert_int_equal(nbh_crc32c_portable(0, "123456789", 9), 0xE3069283u);
  Buf data = make_random(5000, 3);
  for (size_t len = 0; len < 300; len++) {
    for (size_t off = 0; off < 9; off++) {
      uint32_t a = nbh_crc32c(0, data.data + off, len);
      assert_int_equal(a, nbh_crc32c_portable(0, data.data + off, len));
      /* Extending in two steps gives the same value. */
      uint32_t b = nbh_crc32c(nbh_crc32c(0, data.data + off, len / 3), data.data + off + len / 3,
                              len - len / 3);
      assert_int_equal(a, b);
    }
  }
  free(data.data);
}

/* ------------------------------------------------------------------------
 * Every codec
 * ------------------------------------------------------------------------ */

static char *codec_path(const Codec *c, const char *base) {
  char *name = NULL;
  assert_true(asprintf(&name, "%s_%s%s", base, c->compression, c->ext) > 0);
  char *path = tmp_path(name);
  free(name);
  return path;
}

static void test_codec_round_trip(void **state) {
  const Codec *c = *state;
  char *path = codec_path(c, "round");
  Buf text = make_text(2 * 1024 * 1024 + 333);
  Buf rnd = make_random(1024 * 1024 + 77, 11);
  const int threading[] = {NBH_THREAD_NEVER, NBH_THREAD_ALWAYS};
  for (size_t t = 0; t < 2; t++) {
    write_file(path, c->compression, threading[t], text, 65536 + 3);
    NbError err;
    nb_error_init(&err);
    NbFile *f = NULL;
    assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
    assert_string_equal(nbh_file_codec(f), c->compression);
    nbh_file_close(f, NULL);
    assert_reads_back(path, text, 1 << 20);
    assert_reads_back(path, text, 1000);
    write_file(path, c->compression, threading[t], rnd, 1 << 20);
    assert_reads_back(path, rnd, 3 << 20);
  }
  free(text.data);
  free(rnd.data);
  free(path);
}

static void test_codec_tiny_reads_and_writes(void **state) {
  const Codec *c = *state;
  char *path = codec_path(c, "tiny");
  Buf text = make_text(30000);
  write_file(path, c->compression, NBH_THREAD_AUTO, text, 1);
  assert_reads_back(path, text, 1);
  assert_reads_back(path, text, 7);
  free(text.data);
  free(path);
}

static void test_codec_empty(void **state) {
  const Codec *c = *state;
  char *path = codec_path(c, "empty");
  Buf none = {(uint8_t *)"", 0};
  uint64_t length = write_file(path, c->compression, NBH_THREAD_AUTO, none, 1);
  /* An empty compressed file is a valid (empty) frame, not 0 bytes. */
  if (strcmp(c->compression, "none") == 0) assert_int_equal(length, 0);
  else assert_true(length > 0);
  Buf disk = slurp(path);
  assert_int_equal(disk.len, length);
  free(disk.data);
  assert_reads_back(path, none, 100);
  free(path);
}

static void test_codec_concatenated(void **state) {
  const Codec *c = *state;
  char *a_path = codec_path(c, "cat_a");
  char *b_path = codec_path(c, "cat_b");
  char *ab_path = codec_path(c, "cat_ab");
  Buf a = make_text(100000), b = make_random(70000, 5);
  write_file(a_path, c->compression, NBH_THREAD_AUTO, a, 4096);
  write_file(b_path, c->compression, NBH_THREAD_AUTO, b, 4096);
  Buf da = slurp(a_path), db = slurp(b_path);
  Buf dab = concat(da, db);
  spit(ab_path, dab.data, dab.len);
  Buf ab = concat(a, b);
  assert_reads_back(ab_path, ab, 5000);
  /* And frames made by commits inside one file. */
  NbError err;
  nb_error_init(&err);
  NbWriteOptions o = wopts(c->compression, -1);
  NbFile *f = NULL;
  uint64_t l1 = 0, l2 = 0, l3 = 0;
  assert_int_equal(nbh_file_open_write(NULL, ab_path, &o, &f, &err), NB_OK);
  assert_int_equal(nbh_file_write(f, a.data, a.len, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &l1, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &l2, &err), NB_OK);
  assert_int_equal(l1, l2); /* nothing new: no empty frame */
  assert_int_equal(nbh_file_write(f, b.data, b.len, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &l3, &err), NB_OK);
  assert_true(l3 > l2);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  assert_reads_back(ab_path, ab, 1 << 20);
  free(a.data);
  free(b.data);
  free(ab.data);
  free(da.data);
  free(db.data);
  free(dab.data);
  free(a_path);
  free(b_path);
  free(ab_path);
}

static void test_codec_commit_resume(void **state) {
  const Codec *c = *state;
  char *path = codec_path(c, "resume");
  Buf a = make_text(300000), junk = make_random(50000, 9), b = make_text(123457);
  NbError err;
  nb_error_init(&err);
  NbWriteOptions o = wopts(c->compression, -1);
  NbFile *f = NULL;
  uint64_t committed = 0, end = 0;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_OK);
  assert_int_equal(nbh_file_write(f, a.data, a.len, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &committed, &err), NB_OK);
  assert_int_equal(nbh_file_raw_offset(f), committed);
  /* Bytes after the commit, then a "crash" (close without commit). */
  assert_int_equal(nbh_file_write(f, junk.data, junk.len, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  Buf disk = slurp(path);
  assert_true(disk.len > committed);
  free(disk.data);

  o.resume_length = (int64_t)committed;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_OK);
  assert_int_equal(nbh_file_write(f, b.data, b.len, &err), NB_OK);
  assert_int_equal(nbh_file_commit(f, &end, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  disk = slurp(path);
  assert_int_equal(disk.len, end);
  free(disk.data);
  Buf ab = concat(a, b);
  assert_reads_back(path, ab, 65536);
  free(a.data);
  free(junk.data);
  free(b.data);
  free(ab.data);
  free(path);
}

static void test_codec_skip(void **state) {
  const Codec *c = *state;
  char *path = codec_path(c, "skip");
  Buf text = make_text(400000);
  write_file(path, c->compression, NBH_THREAD_AUTO, text, 1 << 20);
  NbError err;
  nb_error_init(&err);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
  assert_int_equal(nbh_file_skip(f, 123456, &err), NB_OK);
  uint8_t buf[1000];
  size_t n = 0;
  assert_int_equal(nbh_file_read(f, buf, sizeof buf, &n, &err), NB_OK);
  assert_int_equal(n, sizeof buf);
  assert_memory_equal(buf, text.data + 123456, n);
  assert_int_equal(nbh_file_skip(f, text.len, &err), NB_END);
  nb_error_release(&err);
  Buf disk = slurp(path);
  assert_int_equal(nbh_file_raw_offset(f), disk.len);
  free(disk.data);
  nbh_file_close(f, NULL);
  free(text.data);
  free(path);
}

/* Corrupt each byte of a small frame in turn: the read must fail with
 * NB_DATA or give back the original data (bytes no decoder depends on,
 * such as gzip's mtime), except where the format has no checksum over that
 * byte (snappy chunk headers: a data chunk can turn into a skippable one). */
static void test_codec_corruption_everywhere(void **state) {
  const Codec *c = *state;
  if (strcmp(c->compression, "none") == 0) return;
  char *path = codec_path(c, "small");
  char *bad = codec_path(c, "corrupt");
  Buf text = make_text(600);
  write_file(path, c->compression, NBH_THREAD_AUTO, text, 600);
  Buf disk = slurp(path);
  const uint8_t flips[] = {0xff, 0x01, 0x80};
  size_t unprotected = 0;
  for (size_t i = 0; i < disk.len; i++) {
    for (size_t k = 0; k < sizeof flips; k++) {
      disk.data[i] ^= flips[k];
      spit(bad, disk.data, disk.len);
      disk.data[i] ^= flips[k];
      NbError err;
      nb_error_init(&err);
      Buf got;
      int rc = read_file(bad, 4096, &got, &err);
      if (rc == NB_DATA) {
        char *prefix = NULL;
        assert_true(asprintf(&prefix, "corrupt %s data in file \"%s\" at byte ", c->compression,
                             bad) > 0);
        bool corrupt = strncmp(err.message, prefix, strlen(prefix)) == 0;
        bool truncated = strncmp(err.message, "truncated ", 10) == 0;
        if (!corrupt && !truncated) fail_msg("unexpected message: %s", err.message);
        free(prefix);
      } else if (rc == NB_OK && !same(got, text)) {
        bool snappy_header = strcmp(c->compression, "snappy") == 0 && i >= 10 && i < 14;
        bool became_plain = i < c->magic_len;
        if (!snappy_header && !became_plain)
          fail_msg("%s: byte %zu ^ 0x%02x changed the data silently", c->compression, i,
                   flips[k]);
        unprotected++;
      } else if (rc != NB_OK) {
        assert_int_equal(rc, NB_INVALID); /* legacy lz4 magic after a flip */
      }
      nb_error_release(&err);
      free(got.data);
    }
  }
  (void)unprotected;
  free(disk.data);
  free(text.data);
  free(path);
  free(bad);
}

/* Every proper prefix of a one-frame file is an error, except prefixes too
 * short for a magic (plain files) and, for snappy, a cut between chunks
 * (the framing format has no end marker). */
static void test_codec_truncation_everywhere(void **state) {
  const Codec *c = *state;
  if (strcmp(c->compression, "none") == 0) return;
  char *path = codec_path(c, "trunc_src");
  char *cut = codec_path(c, "trunc");
  Buf text = make_text(3000);
  write_file(path, c->compression, NBH_THREAD_AUTO, text, 3000);
  Buf disk = slurp(path);
  for (size_t len = 0; len < disk.len; len++) {
    spit(cut, disk.data, len);
    NbError err;
    nb_error_init(&err);
    Buf got;
    int rc = read_file(cut, 4096, &got, &err);
    if (len < c->magic_len) {
      assert_int_equal(rc, NB_OK);
      assert_int_equal(got.len, len);
    } else if (strcmp(c->compression, "snappy") == 0 && len == 10) {
      assert_int_equal(rc, NB_OK); /* the stream identifier alone: empty */
      assert_int_equal(got.len, 0);
    } else {
      if (rc != NB_DATA) fail_msg("%s cut at %zu: status %d", c->compression, len, rc);
      char *want = NULL;
      assert_true(asprintf(&want, "truncated %s data in file \"%s\": unexpected end of file "
                                  "after byte %zu", c->compression, cut, len) > 0);
      assert_string_equal(err.message, want);
      free(want);
      /* What was returned before the error is a prefix of the data. */
      assert_true(got.len <= text.len);
      assert_memory_equal(got.data, text.data, got.len);
    }
    nb_error_release(&err);
    free(got.data);
  }
  free(disk.data);
  free(text.data);
  free(path);
  free(cut);
}

/* ------------------------------------------------------------------------
 * Format details
 * ------------------------------------------------------------------------ */

static void test_zstd_threads(void **state) {
  (void)state;
  char *path = tmp_path("threads.zst");
  Buf text = make_text(3 * 1024 * 1024);
  NbError err;
  nb_error_init(&err);
  NbWriteOptions o = wopts("zstd", -1);
  o.threads = 2;
  o.level = 3;
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_write(NULL, path, &o, &f, &err), NB_OK);
  assert_int_equal(nbh_file_write(f, text.data, text.len, &err), NB_OK);
  assert_int_equal(nbh_file_close(f, &err), NB_OK);
  assert_reads_back(path, text, 1 << 20);
  free(text.data);
  free(path);
}

/* Skippable frames (shared by zstd and lz4) before the first real frame. */
static void test_skippable_frames_first(void **state) {
  (void)state;
  const Codec *codecs[] = {&codec_lz4, &codec_zstd};
  Buf text = make_text(5000);
  for (size_t i = 0; i < 2; i++) {
    char *src = codec_path(codecs[i], "skippable_src");
    char *path = codec_path(codecs[i], "skippable");
    write_file(src, codecs[i]->compression, NBH_THREAD_AUTO, text, 5000);
    Buf frame = slurp(src);
    const uint8_t skip[] = {0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'};
    Buf head = {(uint8_t *)skip, sizeof skip};
    Buf both = concat(head, frame);
    spit(path, both.data, both.len);
    NbError err;
    nb_error_init(&err);
    NbFile *f = NULL;
    assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
    assert_string_equal(nbh_file_codec(f), codecs[i]->compression);
    nbh_file_close(f, NULL);
    assert_reads_back(path, text, 999);
    free(frame.data);
    free(both.data);
    free(src);
    free(path);
  }
  free(text.data);
}

static void test_gzip_trailing_garbage(void **state) {
  (void)state;
  char *path = tmp_path("garbage.gz");
  Buf text = make_text(1000);
  uint64_t length = write_file(path, "gzip", NBH_THREAD_AUTO, text, 1000);
  Buf disk = slurp(path);
  Buf tail = {(uint8_t *)"\0\0\0\0", 4};
  Buf both = concat(disk, tail);
  spit(path, both.data, both.len);
  NbError err;
  nb_error_init(&err);
  Buf got;
  assert_int_equal(read_file(path, 1 << 16, &got, &err), NB_DATA);
  char *want = NULL;
  assert_true(asprintf(&want, "corrupt gzip data in file \"%s\" at byte ", path) > 0);
  assert_memory_equal(err.message, want, strlen(want));
  /* The offset is where the garbage was found: in the 4 bytes after the
   * member. */
  uint64_t at = strtoull(err.message + strlen(want), NULL, 10);
  assert_true(at >= length && at <= length + 4);
  /* The data before the garbage was handed over first. */
  assert_true(same(got, text));
  nb_error_release(&err);
  free(want);
  free(got.data);
  free(both.data);
  free(disk.data);
  free(text.data);
  free(path);
}

static void test_lz4_legacy_refused(void **state) {
  (void)state;
  char *path = tmp_path("legacy.lz4");
  spit(path, "\x02\x21\x4c\x18\x00\x00\x00\x00", 8);
  NbError err;
  nb_error_init(&err);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "legacy lz4 format"));
  nb_error_release(&err);
  free(path);
}

/* Hand-made snappy streams: padding and skippable chunks are skipped, a
 * reserved unskippable chunk is an error. */
static void test_snappy_chunk_types(void **state) {
  (void)state;
  char *path = tmp_path("chunks.sz");
  uint8_t s[64];
  size_t n = 0;
  memcpy(s, "\xff\x06\x00\x00sNaPpY", 10);
  n = 10;
  memcpy(s + n, "\xfe\x03\x00\x00\x00\x00\x00", 7); /* padding */
  n += 7;
  uint32_t crc = nbh_crc32c(0, "hi!", 3);
  uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
  uint8_t stored[] = {0x01, 7, 0, 0, (uint8_t)masked, (uint8_t)(masked >> 8),
                      (uint8_t)(masked >> 16), (uint8_t)(masked >> 24), 'h', 'i', '!'};
  memcpy(s + n, stored, sizeof stored);
  n += sizeof stored;
  memcpy(s + n, "\x90\x02\x00\x00zz", 6); /* skippable */
  n += 6;
  memcpy(s + n, "\xff\x06\x00\x00sNaPpY", 10); /* a second stream */
  n += 10;
  memcpy(s + n, stored, sizeof stored);
  n += sizeof stored;
  spit(path, s, n);
  Buf want = {(uint8_t *)"hi!hi!", 6};
  assert_reads_back(path, want, 1);

  s[n++] = 0x02; /* reserved unskippable */
  memcpy(s + n, "\x01\x00\x00x", 4);
  n += 4;
  spit(path, s, n);
  NbError err;
  nb_error_init(&err);
  Buf got;
  assert_int_equal(read_file(path, 100, &got, &err), NB_DATA);
  assert_non_null(strstr(err.message, "reserved unskippable chunk type 0x02"));
  assert_true(same(got, want));
  nb_error_release(&err);
  free(got.data);
  free(path);
}


/* Read a whole file through the layer with the given buffer sizes. */
static int read_file_sized(const char *path, const NbhIoSizes *sizes, size_t piece, Buf *out,
                           NbError *err) {
  NbFile *f = NULL;
  out->data = malloc(1);
  out->len = 0;
  assert_non_null(out->data);
  int rc = nbh_file_open_read_ex(path, sizes, &f, err);
  if (rc != NB_OK) return rc;
  uint8_t *chunk = malloc(piece);
  assert_non_null(chunk);
  for (;;) {
    size_t n = 0;
    rc = nbh_file_read(f, chunk, piece, &n, err);
    if (rc != NB_OK || n == 0) break;
    out->data = realloc(out->data, out->len + n);
    assert_non_null(out->data);
    memcpy(out->data + out->len, chunk, n);
    out->len += n;
  }
  free(chunk);
  nbh_file_close(f, NULL);
  return rc;
}

/* Every codec reads back through the smallest buffers the layer accepts
 * (a frame header split across reads), and writes through small ones. */
static void test_small_buffers(void **state) {
  (void)state;
  const Codec *codecs[] = {&codec_none, &codec_gzip, &codec_zstd, &codec_lz4, &codec_snappy};
  NbhIoSizes tiny = {.read_buffer = NBH_IO_MIN_BUFFER, .write_buffer = NBH_IO_MIN_BUFFER};
  Buf text = make_text(200000);
  for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
    char *path = codec_path(codecs[i], "small_buffers");
    NbError err;
    nb_error_init(&err);
    NbWriteOptions o = wopts(codecs[i]->compression, -1);
    NbFile *f = NULL;
    assert_int_equal(nbh_file_open_write_sized(path, &o, NBH_THREAD_ALWAYS, &tiny, &f, &err),
                     NB_OK);
    assert_int_equal(nbh_file_write(f, text.data, text.len, &err), NB_OK);
    assert_int_equal(nbh_file_close(f, &err), NB_OK);
    Buf got;
    if (read_file_sized(path, &tiny, 333, &got, &err) != NB_OK)
      fail_msg("%s: %s", codecs[i]->compression, err.message);
    assert_true(same(got, text));
    free(got.data);
    free(path);
  }
  NbhIoSizes too_small = {.read_buffer = NBH_IO_MIN_BUFFER - 1};
  NbError err;
  nb_error_init(&err);
  NbFile *f = NULL;
  char *path = tmp_path("too_small");
  spit(path, "x", 1);
  assert_int_equal(nbh_file_open_read_ex(path, &too_small, &f, &err), NB_INVALID);
  assert_null(f);
  nb_error_release(&err);
  free(path);
  free(text.data);
}

/* A skippable frame larger than the read buffer before an lz4 frame: the
 * codec is decided by the frame after it, wherever it is. */
static void test_skippable_frame_larger_than_buffer(void **state) {
  (void)state;
  Buf text = make_text(5000);
  char *src = codec_path(&codec_lz4, "big_skip_src");
  char *path = codec_path(&codec_lz4, "big_skip");
  write_file(src, "lz4", NBH_THREAD_AUTO, text, 5000);
  Buf frame = slurp(src);
  size_t skip_len = NBH_IO_DEFAULT_BUFFER + 100;
  Buf head = {calloc(1, 8 + skip_len), 8 + skip_len};
  assert_non_null(head.data);
  memcpy(head.data, "\x5a\x2a\x4d\x18", 4);
  head.data[4] = (uint8_t)skip_len;
  head.data[5] = (uint8_t)(skip_len >> 8);
  head.data[6] = (uint8_t)(skip_len >> 16);
  Buf both = concat(head, frame);
  spit(path, both.data, both.len);
  NbError err;
  nb_error_init(&err);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
  assert_string_equal(nbh_file_codec(f), "lz4");
  nbh_file_close(f, NULL);
  assert_reads_back(path, text, 4096);
  NbhIoSizes tiny = {.read_buffer = NBH_IO_MIN_BUFFER};
  Buf got;
  assert_int_equal(read_file_sized(path, &tiny, 100, &got, &err), NB_OK);
  assert_true(same(got, text));
  free(got.data);
  free(head.data);
  free(both.data);
  free(frame.data);
  free(text.data);
  free(src);
  free(path);
}

/* Skippable frames only: no data, and not called zstd; cut short: a
 * truncated skippable frame, not truncated zstd data; followed by neither
 * a zstd nor an lz4 frame: said so. */
static void test_skippable_frames_only(void **state) {
  (void)state;
  char *path = tmp_path("only_skippable.lz4");
  static const uint8_t two[] = {0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 'a', 'b',
                                0x5f, 0x2a, 0x4d, 0x18, 0, 0, 0, 0};
  spit(path, two, sizeof two);
  NbError err;
  nb_error_init(&err);
  NbFile *f = NULL;
  assert_int_equal(nbh_file_open_read(NULL, path, &f, &err), NB_OK);
  assert_string_equal(nbh_file_codec(f), "skippable");
  nbh_file_close(f, NULL);
  Buf got;
  assert_int_equal(read_file(path, 100, &got, &err), NB_OK);
  assert_int_equal(got.len, 0);
  free(got.data);

  static const struct {
    size_t len;
    const char *want;
  } cuts[] = {
      {6, "truncated skippable frame (zstd or lz4) in file \"%s\": unexpected end of file after "
          "byte 6, inside the frame header at byte 0"},
      {9, "truncated skippable frame (zstd or lz4) in file \"%s\": unexpected end of file after "
          "byte 9; the frame at byte 0 declares 2 bytes of content"},
      {12, "truncated zstd or lz4 data in file \"%s\": unexpected end of file after byte 12, "
           "inside the magic number of the frame at byte 10"},
      {16, "truncated skippable frame (zstd or lz4) in file \"%s\": unexpected end of file after "
           "byte 16, inside the frame header at byte 10"},
  };
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    spit(path, two, cuts[i].len);
    assert_int_equal(read_file(path, 100, &got, &err), NB_DATA);
    char *want = NULL;
    assert_true(asprintf(&want, cuts[i].want, path) > 0);
    assert_string_equal(err.message, want);
    free(want);
    free(got.data);
    nb_error_release(&err);
  }
  uint8_t other[14];
  memcpy(other, two, 10);
  memcpy(other + 10, "PK\x03\x04", 4);
  spit(path, other, sizeof other);
  assert_int_equal(read_file(path, 100, &got, &err), NB_DATA);
  char *want = NULL;
  assert_true(asprintf(&want, "corrupt data in file \"%s\" at byte 10: after skippable frames "
                              "(zstd or lz4), neither a zstd nor an lz4 frame begins (magic "
                              "number 0x04034b50)", path) > 0);
  assert_string_equal(err.message, want);
  free(want);
  free(got.data);
  nb_error_release(&err);
  free(path);
}

/* A bad lz4 frame header names the bad byte (not the frame's first byte),
 * in the first frame and in a later one, whether or not the header is
 * split across reads. */
static void test_lz4_header_error_offsets(void **state) {
  (void)state;
  char *src = codec_path(&codec_lz4, "header_src");
  char *path = codec_path(&codec_lz4, "header_bad");
  Buf text = make_text(700);
  write_file(src, "lz4", NBH_THREAD_AUTO, text, 700);
  Buf frame = slurp(src);
  Buf two = concat(frame, frame);
  /* FLG at 4 (its version bits), BD at 5 (a reserved bit), the header
   * checksum at 6 (the encoder writes no content size or dictionary id). */
  static const struct {
    size_t at;
    uint8_t flip;
    const char *why;
  } cases[] = {{4, 0xc0, "unsupported version"}, {5, 0x80, "reserved bit"},
               {6, 0x01, "header checksum"}, {4, 0x02, "reserved bit"}};
  const size_t frame_starts[] = {0, frame.len};
  NbhIoSizes sizes[] = {{0, 0}, {.read_buffer = NBH_IO_MIN_BUFFER}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    for (size_t s = 0; s < 2; s++) {
      for (size_t z = 0; z < 2; z++) {
        size_t at = frame_starts[s] + cases[c].at;
        two.data[at] ^= cases[c].flip;
        spit(path, two.data, two.len);
        two.data[at] ^= cases[c].flip;
        NbError err;
        nb_error_init(&err);
        Buf got;
        assert_int_equal(read_file_sized(path, &sizes[z], 64, &got, &err), NB_DATA);
        char *want = NULL;
        assert_true(asprintf(&want, "corrupt lz4 data in file \"%s\" at byte %zu: frame header: ",
                             path, at) > 0);
        if (strncmp(err.message, want, strlen(want)) != 0)
          fail_msg("flip 0x%02x at %zu: %s", cases[c].flip, at, err.message);
        assert_non_null(strstr(err.message, cases[c].why));
        assert_int_equal(got.len, s == 0 ? 0 : text.len);
        free(want);
        free(got.data);
        nb_error_release(&err);
      }
    }
  }
  free(two.data);
  free(frame.data);
  free(text.data);
  free(src);
  free(path);
}

/* A sink that counts and drops what it is given. */
static int counting_flush(NbhSink *sink) {
  *(size_t *)sink->owner += sink->len;
  sink->len = 0;
  return 0;
}

/* Every decoder accepts an empty input given as NULL (to drain), and every
 * encoder finishes a frame with no input, without arithmetic on the NULL
 * pointer (undefined; clang's UBSan reported it at every gzip member end). */
static void test_codec_null_input(void **state) {
  (void)state;
  const NbhDecoderOps *decoders[] = {&nbh_gzip_decoder, &nbh_zstd_decoder, &nbh_lz4_decoder,
                                     &nbh_snappy_decoder};
  for (size_t i = 0; i < 4; i++) {
    void *dec = decoders[i]->create();
    assert_non_null(dec);
    uint8_t out[16];
    size_t used = 7, made = 7;
    char msg[NBH_CODEC_MSG_SIZE] = "";
    assert_int_equal(decoders[i]->decode(dec, NULL, 0, &used, out, sizeof out, &made, msg),
                     NBH_CODEC_OK);
    assert_int_equal(used, 0);
    assert_int_equal(made, 0);
    assert_true(decoders[i]->at_frame_end(dec));
    decoders[i]->destroy(dec);
  }
  const NbhEncoderOps *encoders[] = {&nbh_gzip_encoder, &nbh_zstd_encoder, &nbh_lz4_encoder,
                                     &nbh_snappy_encoder};
  for (size_t i = 0; i < 4; i++) {
    char msg[NBH_CODEC_MSG_SIZE] = "";
    void *enc = encoders[i]->create(0, 0, msg);
    assert_non_null(enc);
    uint8_t buf[4096];
    size_t flushed = 0;
    NbhSink sink = {.buf = buf, .cap = sizeof buf, .flush = counting_flush, .owner = &flushed};
    assert_int_equal(encoders[i]->write(enc, NULL, 0, &sink, msg), NBH_CODEC_OK);
    assert_int_equal(encoders[i]->end_frame(enc, true, &sink, msg), NBH_CODEC_OK);
    /* A complete empty frame, except snappy's (its stream identifier,
     * written by io.c, is the whole of an empty file). */
    if (encoders[i]->file_header == NULL) assert_true(flushed + sink.len > 0);
    encoders[i]->destroy(enc);
  }
}

#define CODEC_TESTS(codec)                                                   \
  cmocka_unit_test_prestate(test_codec_round_trip, (void *)&codec),          \
      cmocka_unit_test_prestate(test_codec_tiny_reads_and_writes, (void *)&codec), \
      cmocka_unit_test_prestate(test_codec_empty, (void *)&codec),           \
      cmocka_unit_test_prestate(test_codec_concatenated, (void *)&codec),    \
      cmocka_unit_test_prestate(test_codec_commit_resume, (void *)&codec),   \
      cmocka_unit_test_prestate(test_codec_skip, (void *)&codec),            \
      cmocka_unit_test_prestate(test_codec_corruption_everywhere, (void *)&codec), \
      cmocka_unit_test_prestate(test_codec_truncation_everywhere, (void *)&codec)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_round_trip),
      cmocka_unit_test(test_plain_threaded_same_bytes),
      cmocka_unit_test(test_open_missing),
      cmocka_unit_test(test_open_directory),
      cmocka_unit_test(test_empty_and_short_files_are_plain),
      cmocka_unit_test(test_resume_truncates_and_appends),
      cmocka_unit_test(test_resume_beyond_end),
      cmocka_unit_test(test_skip_plain),
      cmocka_unit_test(test_stdin),
      cmocka_unit_test(test_write_errors_are_reported),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_auto_by_extension),
      cmocka_unit_test(test_crc32c),
      CODEC_TESTS(codec_none),
      CODEC_TESTS(codec_gzip),
      CODEC_TESTS(codec_zstd),
      CODEC_TESTS(codec_lz4),
      CODEC_TESTS(codec_snappy),
      cmocka_unit_test(test_zstd_threads),
      cmocka_unit_test(test_skippable_frames_first),
      cmocka_unit_test(test_gzip_trailing_garbage),
      cmocka_unit_test(test_lz4_legacy_refused),
      cmocka_unit_test(test_snappy_chunk_types),
      cmocka_unit_test(test_small_buffers),
      cmocka_unit_test(test_skippable_frame_larger_than_buffer),
      cmocka_unit_test(test_skippable_frames_only),
      cmocka_unit_test(test_lz4_header_error_offsets),
      cmocka_unit_test(test_codec_null_input),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
