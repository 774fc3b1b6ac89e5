/*
 * generate.c - the generate connector: a source of deterministic synthetic
 * records for tests and benchmarks.
 *
 * Every value of row r of a stream is derived from hash(stream seed, r), so
 * the same settings give byte-identical rows on every run and platform, and
 * resuming at any row is O(1): the position is just the row number.  The
 * hot path formats integers by hand (no printf): the source has to outrun
 * every destination it is used to measure.
 *
 * Schemas:
 *   taxi    15 text columns modelled on NYC taxi trips (about 128 bytes a
 *           row as CSV): nulls, negative amounts, zone names with commas,
 *           free-text notes with commas, double quotes and UTF-8.
 *   simple  id (the 0-based row number), name (a word), value (2-decimal).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"

#define GENERATE_VERSION "1.0.0"
#define MAX_STREAMS 100000
/* Buffers are sized from batch_rows; cap the hint so a huge batch_rows does
 * not allocate gigabytes up front (the builder still grows as needed). */
#define MAX_ROW_HINT 65536
#define MAX_COLUMNS 15
#define GOLDEN 0x9e3779b97f4a7c15ull

enum { SCHEMA_TAXI = 0, SCHEMA_SIMPLE = 1 };
#define SCHEMA_CHOICES "taxi|simple"

/* Position values: next row, stream seed, schema.  The last two let a seek
 * refuse a position saved with other settings instead of silently
 * producing different rows. */
enum { POS_ROW = 0, POS_SEED = 1, POS_SCHEMA = 2, POS_COUNT = 3 };

static const NbSettingSpec generate_settings[] = {
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "rows", "1000", NULL,
               "Number of rows in each stream"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "seed", "42", NULL,
               "Seed of the pseudo-random values: the same seed and rows give the same output"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "schema", "taxi",
               SCHEMA_CHOICES,
               "Shape of the rows: taxi (14 columns of NYC-taxi-like trips) or simple (id, name, value)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "streams", "1", NULL,
               "Number of streams, named generate-0 to generate-N-1, each with its own seed"),
};

/* ------------------------------------------------------------------------
 * Schemas
 * ------------------------------------------------------------------------ */

#define TEXT_COLUMN(name_, nullable_) \
  { (name_), NB_TYPE_UTF8, (nullable_), 0, 0, NULL }

static const NbField taxi_fields[] = {
    TEXT_COLUMN("vendor_id", false),
    TEXT_COLUMN("pickup_datetime", false),
    TEXT_COLUMN("dropoff_datetime", false),
    TEXT_COLUMN("passenger_count", true),
    TEXT_COLUMN("trip_distance", false),
    TEXT_COLUMN("rate_code", true),
    TEXT_COLUMN("store_and_fwd_flag", false),
    TEXT_COLUMN("pu_location_id", false),
    TEXT_COLUMN("do_location_id", false),
    TEXT_COLUMN("payment_type", false),
    TEXT_COLUMN("fare_amount", false),
    TEXT_COLUMN("tip_amount", false),
    TEXT_COLUMN("total_amount", false),
    TEXT_COLUMN("pickup_zone", false),
    TEXT_COLUMN("note", false),
};
#define TAXI_COLUMNS 15

static const NbField simple_fields[] = {
    TEXT_COLUMN("id", false),
    TEXT_COLUMN("name", false),
    TEXT_COLUMN("value", false),
};
#define SIMPLE_COLUMNS 3

/* Zone names, indexed by (location id - 1) % 20.  Six of them (indices 0,
 * 3, 6, 9, 12, 15) contain a comma: with ids 1..265 that is 80 of 265 ids,
 * about 30% of rows. */
static const char *const zones[20] = {
    "Upper East Side, North",
    "Penn Station/Madison Sq West",
    "JFK Airport",
    "Upper East Side, South",
    "Times Sq/Theatre District",
    "Long Island City/Hunters Point",
    "Upper West Side, North",
    "Stuy Town/Peter Cooper Village",
    "Sutton Place/Turtle Bay North",
    "Financial District, North",
    "Meatpacking/West Village West",
    "Midtown Center",
    "Financial District, South",
    "LaGuardia Airport",
    "Lincoln Square East",
    "Upper West Side, South",
    "Greenwich Village North",
    "Two Bridges/Seward Park",
    "West Chelsea/Hudson Yards",
    "Williamsburg (North Side)",
};

/* Notes of the rows that have one (30% of rows): commas (4 of 10), double
 * quotes (2 of 10), UTF-8, so CSV and JSON writers meet them in every
 * batch. */
static const char *const notes[10] = {
    "passenger said \"hi\", then left without waiting for the receipt",
    "call dispatcher back about the fare dispute, customer waiting",
    "lost umbrella reported by the passenger after the trip ended",
    "paid in cash at the end of the trip and asked for no change",
    "airport run, two large bags and a stroller in the trunk",
    "asked for a \"quiet\" ride with no radio and the windows closed",
    "caf\xc3\xa9 stop near \xc3\x91" "and\xc3\xba Bar on the way to the hotel entrance",
    "detour: road closed for the parade on Fifth Avenue today",
    "receipt requested by email afterwards for a business expense",
    "child seat, booster needed for a small kid on the return trip",
};

static const char *const words[16] = {
    "alpha", "bravo",   "charlie", "delta", "echo",  "foxtrot",
    "golf",  "hotel",   "india",   "juliet", "kilo", "lima",
    "mike",  "november", "oscar",  "papa",
};

static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Day of the year at which each month starts, for a leap and a common
 * year; entry 12 is the year's length. */
static const uint16_t month_start_leap[13] = {0,   31,  60,  91,  121, 152, 182,
                                              213, 244, 274, 305, 335, 366};
static const uint16_t month_start_common[13] = {0,   31,  59,  90,  120, 151, 181,
                                                212, 243, 273, 304, 334, 365};

/* ------------------------------------------------------------------------
 * Pseudo-random values: splitmix64, one independent sequence per row.
 * ------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

typedef struct Rng {
  uint64_t state;
  uint64_t pool;   /* unused 16-bit chunks of the last draw */
  unsigned left;   /* chunks left in pool */
} Rng;

/* The generator of row `row` of the stream whose key is `key`.  The row
 * number goes through the mixer first so that neighbouring rows start
 * their sequences at unrelated points. */
static inline void rng_for_row(Rng *rng, uint64_t key, uint64_t row) {
  rng->state = mix64(key ^ mix64(row * GOLDEN + 1));
  rng->pool = 0;
  rng->left = 0;
}

static inline uint64_t rng_next64(Rng *rng) {
  rng->state += GOLDEN;
  return mix64(rng->state);
}

static inline uint32_t rng_next16(Rng *rng) {
  uint32_t v;
  if (rng->left == 0) {
    rng->pool = rng_next64(rng);
    rng->left = 4;
  }
  v = (uint32_t)(rng->pool & 0xffffu);
  rng->pool >>= 16;
  rng->left--;
  return v;
}

/* Uniform in [0, n) for n <= 65536, by multiply-shift (no division). */
static inline uint32_t rng_below16(Rng *rng, uint32_t n) {
  return (rng_next16(rng) * n) >> 16;
}

/* Uniform in [0, n) for any 32-bit n. */
static inline uint32_t rng_below32(Rng *rng, uint32_t n) {
  return (uint32_t)(((rng_next64(rng) & 0xffffffffull) * n) >> 32);
}

/* True with probability per_mille / 1000. */
static inline int rng_chance(Rng *rng, uint32_t per_mille) {
  return rng_next16(rng) < per_mille * 65536u / 1000u;
}

/* ------------------------------------------------------------------------
 * Text formatting without printf
 * ------------------------------------------------------------------------ */

static inline char *put_2digits(char *p, uint32_t v) {
  memcpy(p, digit_pairs + 2 * v, 2);
  return p + 2;
}

/* Decimal text of v. */
static inline char *put_uint(char *p, uint64_t v) {
  char tmp[20];
  char *t = tmp + sizeof tmp;
  size_t n;
  while (v >= 100) {
    t -= 2;
    memcpy(t, digit_pairs + 2 * (v % 100), 2);
    v /= 100;
  }
  if (v >= 10) {
    t -= 2;
    memcpy(t, digit_pairs + 2 * v, 2);
  } else {
    *--t = (char)('0' + v);
  }
  n = (size_t)(tmp + sizeof tmp - t);
  memcpy(p, t, n);
  return p + n;
}

/* An amount in cents as text with exactly two decimals: -1234 -> "-12.34". */
static inline char *put_cents(char *p, int64_t cents) {
  uint64_t magnitude;
  if (cents < 0) {
    *p++ = '-';
    magnitude = (uint64_t)0 - (uint64_t)cents;
  } else {
    magnitude = (uint64_t)cents;
  }
  p = put_uint(p, magnitude / 100);
  *p++ = '.';
  return put_2digits(p, (uint32_t)(magnitude % 100));
}

/* "YYYY-MM-DD HH:MM:SS" for `secs` seconds after 2024-01-01 00:00:00, up to
 * the end of 2025. */
static char *put_datetime(char *p, uint32_t secs) {
  uint32_t day = secs / 86400, sod = secs % 86400;
  uint32_t year = 2024, month;
  const uint16_t *start = month_start_leap;
  if (day >= 366) {
    year = 2025;
    day -= 366;
    start = month_start_common;
  }
  month = day / 32; /* never past the right month: months have >= 28 days */
  while (day >= start[month + 1]) month++;
  p = put_2digits(p, year / 100);
  p = put_2digits(p, year % 100);
  *p++ = '-';
  p = put_2digits(p, month + 1);
  *p++ = '-';
  p = put_2digits(p, day - start[month] + 1);
  *p++ = ' ';
  p = put_2digits(p, sod / 3600);
  *p++ = ':';
  p = put_2digits(p, sod / 60 % 60);
  *p++ = ':';
  return put_2digits(p, sod % 60);
}

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

/* The values of one row: ptr[i] == NULL is a null; otherwise len[i] bytes,
 * pointing at static text or into scratch. */
typedef struct RowValues {
  const char *ptr[MAX_COLUMNS];
  uint32_t len[MAX_COLUMNS];
  char scratch[256];
} RowValues;

static inline void set_text(RowValues *v, int col, const char *text,
                            size_t len) {
  v->ptr[col] = text;
  v->len[col] = (uint32_t)len;
}

static inline void set_static(RowValues *v, int col, const char *text) {
  set_text(v, col, text, strlen(text));
}

/* Write formatted text at *cursor and make it column col's value. */
static inline void set_scratch(RowValues *v, int col, char **cursor,
                               char *end) {
  set_text(v, col, *cursor, (size_t)(end - *cursor));
  *cursor = end;
}

static const char *const small_ints[100] = {
    "0",  "1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",  "9",  "10", "11",
    "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23",
    "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35",
    "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47",
    "48", "49", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59",
    "60", "61", "62", "63", "64", "65", "66", "67", "68", "69", "70", "71",
    "72", "73", "74", "75", "76", "77", "78", "79", "80", "81", "82", "83",
    "84", "85", "86", "87", "88", "89", "90", "91", "92", "93", "94", "95",
    "96", "97", "98", "99",
};

/* Pick an index by cumulative thresholds out of 65536. */
static inline unsigned pick(Rng *rng, const uint16_t *thresholds,
                            unsigned n) {
  uint32_t u = rng_next16(rng);
  unsigned i = 0;
  while (i + 1 < n && u >= thresholds[i]) i++;
  return i;
}

/* passenger_count 1..6 (and rarely 0): 1% 0, 69% 1, 15% 2, 5% 3, 3% 4,
 * 4% 5, 3% 6. */
static const uint16_t passenger_thresholds[7] = {655,   45875, 55705, 58982,
                                                 60948, 63570, 65535};
/* rate_code 1 (92%), 2, 3, 4, 5 (about 1.5% each) and 99 (2%). */
static const uint16_t rate_thresholds[6] = {60293, 61276, 62259, 63242, 64225,
                                            65535};
static const char *const rate_codes[6] = {"1", "2", "3", "4", "5", "99"};
/* payment_type 1 card (70%), 2 cash (25%), 3 no charge (3%), 4 dispute. */
static const uint16_t payment_thresholds[4] = {45875, 62259, 64225, 65535};

static void taxi_row(uint64_t key, uint64_t row, RowValues *v) {
  Rng rng;
  char *cur = v->scratch, *end;
  uint32_t pickup, duration, distance, pu, dropoff_loc, payment;
  int64_t fare, tip, total;
  uint32_t u;

  rng_for_row(&rng, key, row);

  u = rng_next16(&rng);
  set_text(v, 0, u < 19661 ? "1" : (u < 64881 ? "2" : "6"), 1);

  pickup = rng_below32(&rng, 366u * 86400u);
  duration = 120 + rng_below16(&rng, 2400);
  if (rng_chance(&rng, 100)) duration += rng_below16(&rng, 5400);
  end = put_datetime(cur, pickup);
  set_scratch(v, 1, &cur, end);
  end = put_datetime(cur, pickup + duration);
  set_scratch(v, 2, &cur, end);

  /* About 5% of trips lack the dispatch fields, as in the real data. */
  if (rng_chance(&rng, 50)) {
    v->ptr[3] = NULL;
    v->ptr[5] = NULL;
  } else {
    set_text(v, 3, small_ints[pick(&rng, passenger_thresholds, 7)], 1);
    set_static(v, 5, rate_codes[pick(&rng, rate_thresholds, 6)]);
  }

  distance = 30 + rng_below16(&rng, 1200);
  if (rng_chance(&rng, 100)) distance += rng_below16(&rng, 2500);
  end = put_cents(cur, distance);
  set_scratch(v, 4, &cur, end);

  set_text(v, 6, rng_chance(&rng, 10) ? "Y" : "N", 1);

  pu = 1 + rng_below16(&rng, 265);
  dropoff_loc = 1 + rng_below16(&rng, 265);
  end = put_uint(cur, pu);
  set_scratch(v, 7, &cur, end);
  end = put_uint(cur, dropoff_loc);
  set_scratch(v, 8, &cur, end);

  payment = 1 + pick(&rng, payment_thresholds, 4);
  set_text(v, 9, small_ints[payment], 1);

  fare = 300 + (int64_t)distance * 5 / 2 + duration / 6 + rng_below16(&rng, 300);
  tip = 0;
  if (payment == 1) tip = fare * rng_below16(&rng, 31) / 100;
  total = fare + tip + 350;
  if (rng_chance(&rng, 10)) { /* refunds: negative amounts */
    fare = -fare;
    tip = 0;
    total = fare - 350;
  }
  end = put_cents(cur, fare);
  set_scratch(v, 10, &cur, end);
  end = put_cents(cur, tip);
  set_scratch(v, 11, &cur, end);
  end = put_cents(cur, total);
  set_scratch(v, 12, &cur, end);

  set_static(v, 13, zones[(pu - 1) % 20]);

  if (rng_chance(&rng, 700))
    set_text(v, 14, "", 0);
  else
    set_static(v, 14, notes[rng_below16(&rng, 10)]);
}

static void simple_row(uint64_t key, uint64_t row, RowValues *v) {
  Rng rng;
  char *cur = v->scratch, *end;
  int64_t cents;

  rng_for_row(&rng, key, row);
  end = put_uint(cur, row);
  set_scratch(v, 0, &cur, end);
  set_static(v, 1, words[rng_below16(&rng, 16)]);
  cents = (int64_t)rng_below32(&rng, 2000000) - 1000000;
  end = put_cents(cur, cents);
  set_scratch(v, 2, &cur, end);
}

/* ------------------------------------------------------------------------
 * The source handle
 * ------------------------------------------------------------------------ */

typedef struct GenStream {
  uint64_t seed;     /* this stream's seed */
  uint64_t key;      /* mix64(seed): the hash key of its rows */
  uint64_t next_row; /* rows produced so far */
  char name[32];     /* "generate-<i>" */
} GenStream;

typedef struct GenSource {
  const NbHostApi *host;
  uint64_t rows;
  int schema;
  const NbField *fields;
  size_t n_fields;
  void (*make_row)(uint64_t key, uint64_t row, RowValues *v);
  uint64_t batch_rows;
  uint64_t batch_bytes;
  uint32_t n_streams;
  GenStream *streams;
  NbBatchBuilder *builder;
  NbColumnBuilder *columns[MAX_COLUMNS];
  RowValues values;
  unsigned char position[NB_POSITION_MAX_BYTES];
} GenSource;

/* True when a struct of declared size `size` has room for `field`. */
#define HAS_FIELD(size, type, field) \
  ((size) >= offsetof(type, field) + sizeof(((type *)0)->field))

static int read_settings(const NbSettings *settings, int64_t *rows,
                         int64_t *seed, int *schema, int64_t *streams,
                         NbError *err) {
  int rc = nb_setting_int(settings, "rows", 1000, rows, err);
  if (rc == NB_OK) rc = nb_setting_int(settings, "seed", 42, seed, err);
  if (rc == NB_OK)
    rc = nb_setting_enum(settings, "schema", SCHEMA_CHOICES, SCHEMA_TAXI,
                         schema, err);
  if (rc == NB_OK) rc = nb_setting_int(settings, "streams", 1, streams, err);
  if (rc != NB_OK) return rc;
  if (*rows < 0) {
    nb_error_set(err, NB_INVALID, "invalid value for setting \"rows\": %" PRId64,
                 *rows);
    nb_error_detail(err, "The number of rows per stream must be zero or more.");
    return NB_INVALID;
  }
  if (*streams < 1 || *streams > MAX_STREAMS) {
    nb_error_set(err, NB_INVALID,
                 "invalid value for setting \"streams\": %" PRId64, *streams);
    nb_error_detail(err, "The number of streams must be between 1 and %d.",
                    MAX_STREAMS);
    return NB_INVALID;
  }
  return NB_OK;
}

static void source_close(void *handle) {
  GenSource *src = handle;
  if (src == NULL) return;
  nb_batch_builder_free(src->builder);
  free(src->streams);
  free(src);
}

/* Stream i's seed is seed + i * GOLDEN: stream 0 has exactly the configured
 * seed, so one stream of seed s equals stream 0 of any multi-stream run. */
static void init_streams(GenSource *src, uint64_t seed) {
  for (uint32_t i = 0; i < src->n_streams; i++) {
    GenStream *s = &src->streams[i];
    char *end;
    s->seed = seed + (uint64_t)i * GOLDEN;
    s->key = mix64(s->seed);
    s->next_row = 0;
    memcpy(s->name, "generate-", 9);
    end = put_uint(s->name + 9, i);
    *end = '\0';
  }
}

static int source_open(const NbHostApi *host, const NbOpenArgs *args,
                       void **out, NbError *err) {
  GenSource *src;
  int64_t rows, seed, streams;
  int schema, rc;
  size_t hint;

  if (out == NULL || args == NULL || args->settings == NULL)
    return nb_error_set(err, NB_INVALID, "generate source opened without arguments");
  *out = NULL;
  rc = read_settings(args->settings, &rows, &seed, &schema, &streams, err);
  if (rc != NB_OK) return rc;

  src = calloc(1, sizeof *src);
  if (src == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  src->host = host;
  src->rows = (uint64_t)rows;
  src->schema = schema;
  src->fields = schema == SCHEMA_TAXI ? taxi_fields : simple_fields;
  src->n_fields = schema == SCHEMA_TAXI ? TAXI_COLUMNS : SIMPLE_COLUMNS;
  src->make_row = schema == SCHEMA_TAXI ? taxi_row : simple_row;
  src->batch_rows = args->batch_rows > 0 ? args->batch_rows : 65536;
  src->batch_bytes = args->batch_bytes > 0 ? args->batch_bytes : UINT64_MAX;
  src->n_streams = (uint32_t)streams;
  src->streams = calloc(src->n_streams, sizeof *src->streams);
  if (src->streams == NULL) {
    source_close(src);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  init_streams(src, (uint64_t)seed);

  hint = src->batch_rows < MAX_ROW_HINT ? (size_t)src->batch_rows : MAX_ROW_HINT;
  rc = nb_batch_builder_new(src->fields, src->n_fields, hint, &src->builder,
                            err);
  if (rc != NB_OK) {
    source_close(src);
    return rc;
  }
  for (size_t c = 0; c < src->n_fields; c++)
    src->columns[c] = nb_batch_builder_column(src->builder, c);
  *out = src;
  return NB_OK;
}

static int check_index(const GenSource *src, uint32_t index, NbError *err) {
  if (index < src->n_streams) return NB_OK;
  nb_error_set(err, NB_NOT_FOUND, "stream index %" PRIu32 " is out of range",
               index);
  nb_error_detail(err, "The generate source has %" PRIu32 " stream%s.",
                  src->n_streams, src->n_streams == 1 ? "" : "s");
  return NB_NOT_FOUND;
}

static int source_stream_count(void *handle, uint32_t *count, NbError *err) {
  GenSource *src = handle;
  (void)err;
  *count = src->n_streams;
  return NB_OK;
}

static int source_stream_info(void *handle, uint32_t index, NbStreamInfo *out,
                              NbError *err) {
  GenSource *src = handle;
  int rc = check_index(src, index, err);
  if (rc != NB_OK) return rc;
  if (HAS_FIELD(out->struct_size, NbStreamInfo, name))
    out->name = src->streams[index].name;
  /* Unknown on purpose: the stream has no bytes, and a row count is not
   * what size_bytes means. */
  if (HAS_FIELD(out->struct_size, NbStreamInfo, size_bytes))
    out->size_bytes = -1;
  return NB_OK;
}

static int source_schema(void *handle, uint32_t index, struct ArrowSchema *out,
                         NbError *err) {
  GenSource *src = handle;
  int rc = check_index(src, index, err);
  if (rc != NB_OK) return rc;
  return nb_schema_export(src->fields, src->n_fields, out, err);
}

static int source_seek(void *handle, uint32_t index, const void *position,
                       size_t position_len, NbError *err) {
  GenSource *src = handle;
  GenStream *s;
  uint64_t v[POS_COUNT];
  int rc = check_index(src, index, err);
  if (rc != NB_OK) return rc;
  s = &src->streams[index];
  rc = nb_position_decode(position, position_len, v, POS_COUNT, err);
  if (rc != NB_OK) return rc;
  if (v[POS_SEED] != s->seed || v[POS_SCHEMA] != (uint64_t)src->schema) {
    nb_error_set(err, NB_INVALID,
                 "position of stream \"%s\" was saved with other settings",
                 s->name);
    nb_error_detail(err,
                    "The position was saved with stream seed %" PRIu64
                    " and schema %s; this source has stream seed %" PRIu64
                    " and schema %s.",
                    v[POS_SEED], v[POS_SCHEMA] == SCHEMA_TAXI ? "taxi" : "simple",
                    s->seed, src->schema == SCHEMA_TAXI ? "taxi" : "simple");
    nb_error_hint(err, "Resume with the settings of the interrupted run, or "
                       "start again without the state file.");
    return NB_INVALID;
  }
  if (v[POS_ROW] > src->rows) {
    nb_error_set(err, NB_INVALID,
                 "position of stream \"%s\" is beyond its end", s->name);
    nb_error_detail(err,
                    "The position is after row %" PRIu64
                    " but the stream has %" PRIu64 " rows.",
                    v[POS_ROW], src->rows);
    nb_error_hint(err, "Resume with the \"rows\" setting of the interrupted run.");
    return NB_INVALID;
  }
  s->next_row = v[POS_ROW];
  return NB_OK;
}

/* Append one row to the builder.  Returns NB_OK or the first failure. */
static int append_row(NbColumnBuilder *const *columns, const RowValues *v,
                      size_t n_fields, size_t *bytes) {
  int rc = NB_OK;
  size_t row_bytes = 4 * n_fields;
  for (size_t c = 0; c < n_fields; c++) {
    NbColumnBuilder *col = columns[c];
    if (v->ptr[c] == NULL) {
      rc |= nb_column_append_null(col);
    } else {
      rc |= nb_column_append_utf8(col, v->ptr[c], v->len[c]);
      row_bytes += v->len[c];
    }
  }
  *bytes += row_bytes;
  return rc;
}

static void report_position(GenSource *src, const GenStream *s,
                            NbBatchInfo *info) {
  uint64_t v[POS_COUNT];
  size_t len;
  if (info == NULL) return;
  v[POS_ROW] = s->next_row;
  v[POS_SEED] = s->seed;
  v[POS_SCHEMA] = (uint64_t)src->schema;
  len = nb_position_encode(src->position, sizeof src->position, v, POS_COUNT);
  if (HAS_FIELD(info->struct_size, NbBatchInfo, position))
    info->position = src->position;
  if (HAS_FIELD(info->struct_size, NbBatchInfo, position_len))
    info->position_len = len;
  if (HAS_FIELD(info->struct_size, NbBatchInfo, bytes_read))
    info->bytes_read = -1;
}

static int source_next(void *handle, uint32_t index, struct ArrowArray *out,
                       NbBatchInfo *info, NbError *err) {
  GenSource *src = handle;
  GenStream *s;
  uint64_t limit, row;
  size_t bytes = 0;
  int rc = check_index(src, index, err);
  if (rc != NB_OK) return rc;
  s = &src->streams[index];
  if (s->next_row >= src->rows) return NB_END;
  if (src->host != NULL && HAS_FIELD(src->host->struct_size, NbHostApi, is_cancelled) &&
      src->host->is_cancelled != NULL &&
      src->host->is_cancelled(src->host->host_data))
    return nb_error_set(err, NB_CANCELLED, "generate source cancelled");

  limit = src->rows - s->next_row;
  if (limit > src->batch_rows) limit = src->batch_rows;
  row = s->next_row;
  for (uint64_t n = 0; n < limit && bytes < src->batch_bytes; n++, row++) {
    src->make_row(s->key, row, &src->values);
    if (append_row(src->columns, &src->values, src->n_fields, &bytes) != NB_OK) {
      nb_batch_builder_reset(src->builder);
      return nb_error_set(err, NB_NOMEM,
                          "out of memory while generating row %" PRIu64
                          " of stream \"%s\"",
                          row, s->name);
    }
  }
  rc = nb_batch_builder_finish(src->builder, out, err);
  if (rc != NB_OK) {
    nb_batch_builder_reset(src->builder);
    return rc;
  }
  s->next_row = row;
  report_position(src, s, info);
  return NB_OK;
}

static void generate_describe(NbConnector *c) {
  c->name = "generate";
  c->version = GENERATE_VERSION;
  c->description = "Deterministic synthetic records (NYC-taxi-like or simple) for tests and benchmarks";
  c->capabilities = NB_CAP_SOURCE | NB_CAP_RESUMABLE;
  c->settings = generate_settings;
  c->n_settings = (uint32_t)(sizeof generate_settings / sizeof generate_settings[0]);
  c->source_open = source_open;
  c->source_stream_count = source_stream_count;
  c->source_stream_info = source_stream_info;
  c->source_schema = source_schema;
  c->source_seek = source_seek;
  c->source_next = source_next;
  c->source_close = source_close;
}

NB_CONNECTOR_ENTRY(generate_describe)
