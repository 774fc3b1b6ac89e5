/*
 * gen_driver.c - drives the generate connector without nebula-host, for the
 * benchmark: measures the source alone (batches produced and released,
 * nothing written), or writes its rows as CSV when the host cannot yet.
 *
 *   gen_driver GENERATE_SO --rows N [--seed S] [--schema taxi|simple]
 *              [--batch-rows R] (--null | --csv)
 *
 * --null prints "rows seconds rows_per_second" on stdout.  --csv writes
 * RFC 4180 CSV with a header on stdout: fields holding a comma, a double
 * quote, CR or LF are quoted (quotes doubled), an empty string is written
 * as "" and a null as an empty field.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nebula/abi.h"

typedef struct Options {
  const char *so_path;
  const char *rows;
  const char *seed;
  const char *schema;
  uint64_t batch_rows;
  int csv;
} Options;

static void usage(void) {
  fprintf(stderr,
          "usage: gen_driver GENERATE_SO --rows N [--seed S] [--schema taxi|simple] "
          "[--batch-rows R] (--null | --csv)\n");
  exit(2);
}

static void parse_args(int argc, char **argv, Options *o) {
  memset(o, 0, sizeof *o);
  o->rows = "1000";
  o->seed = "42";
  o->schema = "taxi";
  o->batch_rows = 65536;
  o->csv = -1;
  if (argc < 2) usage();
  o->so_path = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--null") == 0) {
      o->csv = 0;
    } else if (strcmp(a, "--csv") == 0) {
      o->csv = 1;
    } else if (next == NULL) {
      usage();
    } else if (strcmp(a, "--rows") == 0) {
      o->rows = argv[++i];
    } else if (strcmp(a, "--seed") == 0) {
      o->seed = argv[++i];
    } else if (strcmp(a, "--schema") == 0) {
      o->schema = argv[++i];
    } else if (strcmp(a, "--batch-rows") == 0) {
      o->batch_rows = strtoull(argv[++i], NULL, 10);
    } else {
      usage();
    }
  }
  if (o->csv < 0 || o->batch_rows == 0) usage();
}

static void die(const char *what, int rc, const NbError *err) {
  fprintf(stderr, "gen_driver: %s failed (%d): %s\n", what, rc,
          err->message ? err->message : "(no message)");
  exit(1);
}

static int never_cancelled(void *host_data) {
  (void)host_data;
  return 0;
}

static void no_log(void *host_data, int level, const char *message) {
  (void)host_data;
  (void)level;
  (void)message;
}

/* CSV output through a large stdio buffer. */
static void put_field(FILE *out, const char *s, size_t len) {
  if (len == 0) {
    fputs("\"\"", out);
    return;
  }
  if (memchr(s, ',', len) == NULL && memchr(s, '"', len) == NULL &&
      memchr(s, '\n', len) == NULL && memchr(s, '\r', len) == NULL) {
    fwrite(s, 1, len, out);
    return;
  }
  putc('"', out);
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"') putc('"', out);
    putc(s[i], out);
  }
  putc('"', out);
}

static void write_batch_csv(FILE *out, const struct ArrowArray *batch) {
  for (int64_t r = 0; r < batch->length; r++) {
    for (int64_t c = 0; c < batch->n_children; c++) {
      const struct ArrowArray *col = batch->children[c];
      const uint8_t *validity = col->buffers[0];
      const int32_t *offsets = col->buffers[1];
      const char *data = col->buffers[2];
      int64_t i = r + col->offset;
      if (c > 0) putc(',', out);
      if (validity != NULL && !((validity[i >> 3] >> (i & 7)) & 1)) continue;
      put_field(out, data + offsets[i], (size_t)(offsets[i + 1] - offsets[i]));
    }
    putc('\n', out);
  }
}

int main(int argc, char **argv) {
  Options o;
  NbConnector c;
  NbError err;
  NbHostApi host;
  NbOpenArgs args;
  NbSettings settings;
  const char *names[3] = {"rows", "seed", "schema"};
  const char *values[3];
  struct ArrowSchema schema;
  struct timespec t0, t1;
  uint64_t rows = 0;
  void *so, *src = NULL;
  NbConnectorEntryFn entry;
  static char outbuf[1 << 20];
  int rc;

  parse_args(argc, argv, &o);
  so = dlopen(o.so_path, RTLD_NOW | RTLD_LOCAL);
  if (so == NULL) {
    fprintf(stderr, "gen_driver: %s\n", dlerror());
    return 1;
  }
  *(void **)&entry = dlsym(so, NB_CONNECTOR_ENTRY_SYMBOL);
  if (entry == NULL) {
    fprintf(stderr, "gen_driver: no %s in \"%s\"\n", NB_CONNECTOR_ENTRY_SYMBOL,
            o.so_path);
    return 1;
  }
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  memset(&err, 0, sizeof err);
  err.struct_size = sizeof err;
  if ((rc = entry(NB_ABI_CURRENT, &c, &err)) != NB_OK) die("entry", rc, &err);

  memset(&host, 0, sizeof host);
  host.struct_size = (uint32_t)offsetof(NbHostApi, counter_add);
  host.abi_version = NB_ABI_CURRENT;
  host.log = no_log;
  host.is_cancelled = never_cancelled;
  values[0] = o.rows;
  values[1] = o.seed;
  values[2] = o.schema;
  memset(&settings, 0, sizeof settings);
  settings.struct_size = sizeof settings;
  settings.count = 3;
  settings.names = names;
  settings.values = values;
  memset(&args, 0, sizeof args);
  args.struct_size = sizeof args;
  args.settings = &settings;
  args.batch_rows = o.batch_rows;
  args.batch_bytes = 8u << 20;
  if ((rc = c.source_open(&host, &args, &src, &err)) != NB_OK)
    die("source_open", rc, &err);
  memset(&schema, 0, sizeof schema);
  if ((rc = c.source_schema(src, 0, &schema, &err)) != NB_OK)
    die("source_schema", rc, &err);
  if (o.csv) {
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    for (int64_t i = 0; i < schema.n_children; i++) {
      if (i > 0) putchar(',');
      fputs(schema.children[i]->name, stdout);
    }
    putchar('\n');
  }

  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct ArrowArray batch;
    NbBatchInfo info;
    memset(&batch, 0, sizeof batch);
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    rc = c.source_next(src, 0, &batch, &info, &err);
    if (rc == NB_END) break;
    if (rc != NB_OK) die("source_next", rc, &err);
    rows += (uint64_t)batch.length;
    if (o.csv) write_batch_csv(stdout, &batch);
    batch.release(&batch);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  schema.release(&schema);
  c.source_close(src);
  if (o.csv) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
      perror("gen_driver: write");
      return 1;
    }
  } else {
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu %.6f %.0f\n", (unsigned long long)rows, s, (double)rows / s);
  }
  return 0;
}
