/*
 * generate.c - the generate connector: a source of deterministic synthetic
 * records for tests and benchmarks.
 *
 * Every value of row r of a stream is derived from hash(stream seed, r), so
 * the same settings give byte-identical rows on every run and platform, and
 * resuming at any row is O(1): the position is just the row number.  The
 * source has to outrun every destination it is used to measure, so the hot
 * path formats by hand (no printf) with tables built at open (dates,
 * numbers below 1000), makes rows 64 at a time into a chunk and hands them
 * to the batch builder one column at a time
 * (nb_column_append_nullable_strings).
 *
 * Schemas:
 *   taxi    14 text columns modelled on NYC taxi trips (about 128 bytes a
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

/* The choices of setting "schema", in the order of its declaration. */
enum { SCHEMA_TAXI = 0, SCHEMA_SIMPLE = 1 };

/* Position values: next row, stream seed, schema.  The last two let a seek
 * refuse a position saved with other settings instead of silently
 * producing different rows. */
enum { POS_ROW = 0, POS_SEED = 1, POS_SCHEMA = 2, POS_COUNT = 3 };

/* The one place of each setting's default and choices: read_settings
 * takes them from here (nb_declared_*). */
static const NbSettingSpec generate_settings[] = {
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "rows", "1000", NULL,
               "Number of rows in each stream"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "seed", "42", NULL,
               "Seed of the pseudo-random values: the same seed and rows give the same output"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_SOURCE, "schema", "taxi", "taxi|simple",
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
    TEXT_COLUMN("pu_location_id", false),
    TEXT_COLUMN("do_location_id", false),
    TEXT_COLUMN("payment_type", false),
    TEXT_COLUMN("fare_amount", false),
    TEXT_COLUMN("tip_amount", false),
    TEXT_COLUMN("total_amount", false),
    TEXT_COLUMN("pickup_zone", false),
    TEXT_COLUMN("note", false),
};
#define TAXI_COLUMNS 14

static const NbField simple_fields[] = {
    TEXT_COLUMN("id", false),
    TEXT_COLUMN("name", false),
    TEXT_COLUMN("value", false),
};
#define SIMPLE_COLUMNS 3
_Static_assert(sizeof taxi_fields / sizeof taxi_fields[0] == TAXI_COLUMNS &&
                   TAXI_COLUMNS <= MAX_COLUMNS,
               "taxi column count");
_Static_assert(sizeof simple_fields / sizeof simple_fields[0] == SIMPLE_COLUMNS,
               "simple column count");

/* Static text with its length, so the hot path never calls strlen. */
typedef struct Text {
  const char *s;
  uint32_t len;
} Text;
#define TEXT(literal) { (literal), (uint32_t)(sizeof(literal) - 1) }

/* Zone names, indexed by (location id - 1) % 20.  Six of them (indices 0,
 * 3, 6, 9, 12, 15) contain a comma: with ids 1..265 that is 80 of 265 ids,
 * about 30% of rows. */
static const Text zones[20] = {
    TEXT("Upper East Side, North"),
    TEXT("Penn Station/Madison Sq West"),
    TEXT("JFK Airport"),
    TEXT("Upper East Side, South"),
    TEXT("Times Sq/Theatre District"),
    TEXT("Long Island City/Hunters Point"),
    TEXT("Upper West Side, North"),
    TEXT("Stuy Town/Peter Cooper Village"),
    TEXT("Sutton Place/Turtle Bay North"),
    TEXT("Financial District, North"),
    TEXT("Meatpacking/West Village West"),
    TEXT("Midtown Center"),
    TEXT("Financial District, South"),
    TEXT("LaGuardia Airport"),
    TEXT("Lincoln Square East"),
    TEXT("Upper West Side, South"),
    TEXT("Greenwich Village North"),
    TEXT("Two Bridges/Seward Park"),
    TEXT("West Chelsea/Hudson Yards"),
    TEXT("Williamsburg (North Side)"),
};

/* Notes of the rows that have one (30% of rows): commas (4 of 10), double
 * quotes (2 of 10), UTF-8, so CSV and JSON writers meet them in every
 * batch. */
static const Text notes[10] = {
    TEXT("passenger said \"hi\", then left without waiting for the receipt"),
    TEXT("call dispatcher back about the fare dispute, customer waiting"),
    TEXT("lost umbrella reported by the passenger after the trip ended"),
    TEXT("paid in cash at the end of the trip and asked for no change"),
    TEXT("airport run, two large bags and a stroller in the trunk"),
    TEXT("asked for a \"quiet\" ride with no radio and the windows closed"),
    TEXT("caf\xc3\xa9 stop near \xc3\x91" "and\xc3\xba Bar on the way to the hotel entrance"),
    TEXT("detour: road closed for the parade on Fifth Avenue today"),
    TEXT("receipt requested by email afterwards for a business expense"),
    TEXT("child seat, booster needed for a small kid on the return trip"),
};

static const Text words[16] = {
    TEXT("alpha"),
    TEXT("bravo"),
    TEXT("charlie"),
    TEXT("delta"),
    TEXT("echo"),
    TEXT("foxtrot"),
    TEXT("golf"),
    TEXT("hotel"),
    TEXT("india"),
    TEXT("juliet"),
    TEXT("kilo"),
    TEXT("lima"),
    TEXT("mike"),
    TEXT("november"),
    TEXT("oscar"),
    TEXT("papa"),
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

#define MAX_DRAWS 6

/* The random numbers of one row: MAX_DRAWS 64-bit draws, read as 16-bit
 * chunks.  Every field uses fixed chunks, drawn whether or not it needs
 * them, so the hot path has no branches on how much randomness is left. */
typedef struct RowRandom {
  uint64_t draw[MAX_DRAWS];
} RowRandom;

/* The draws of row `row` of the stream whose key is `key`: splitmix64
 * seeded from the mixed row number, so that neighbouring rows start their
 * sequences at unrelated points. */
static inline void row_random(RowRandom *r, uint64_t key, uint64_t row,
                              unsigned draws) {
  uint64_t state = mix64(key ^ mix64(row * GOLDEN + 1));
  for (unsigned i = 0; i < draws; i++) {
    state += GOLDEN;
    r->draw[i] = mix64(state);
  }
}

/* Chunk i (0 .. 4 * MAX_DRAWS - 1), uniform in [0, 65536). */
static inline uint32_t chunk16(const RowRandom *r, unsigned i) {
  return (uint32_t)(r->draw[i >> 2] >> (16 * (i & 3))) & 0xffffu;
}

/* Chunks i and i + 1 as one 32-bit number. */
static inline uint32_t chunk32(const RowRandom *r, unsigned i) {
  return chunk16(r, i) << 16 | chunk16(r, i + 1);
}

/* Uniform in [0, n) from a 16-bit chunk, n <= 65536 (multiply-shift, no
 * division). */
static inline uint32_t below16(uint32_t u, uint32_t n) { return (u * n) >> 16; }

/* Uniform in [0, n) from a 32-bit number. */
static inline uint32_t below32(uint32_t u, uint32_t n) {
  return (uint32_t)(((uint64_t)u * n) >> 32);
}

/* True with probability per_mille / 1000. */
static inline int chance(uint32_t u, uint32_t per_mille) {
  return u < per_mille * 65536u / 1000u;
}

/* ------------------------------------------------------------------------
 * Text formatting without printf
 * ------------------------------------------------------------------------ */

static inline char *put_2digits(char *p, uint32_t v) {
  memcpy(p, digit_pairs + 2 * v, 2);
  return p + 2;
}

/* Decimal text of v. */
static char *put_uint(char *p, uint64_t v) {
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

/* Decimal text of v, quicker for the small values of the hot path. */
static inline char *put_small_uint(char *p, uint64_t v) {
  if (v < 10) {
    *p = (char)('0' + v);
    return p + 1;
  }
  if (v < 100) return put_2digits(p, (uint32_t)v);
  if (v < 1000) {
    *p = (char)('0' + v / 100);
    return put_2digits(p + 1, (uint32_t)(v % 100));
  }
  if (v < 10000) {
    p = put_2digits(p, (uint32_t)(v / 100));
    return put_2digits(p, (uint32_t)(v % 100));
  }
  return put_uint(p, v);
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
  p = put_small_uint(p, magnitude / 100);
  *p++ = '.';
  return put_2digits(p, (uint32_t)(magnitude % 100));
}

/* Text tables built once per source, so the hot path formats a datetime
 * with one table copy and three pairs of digits, and a number below 1000
 * with one copy:
 *   day[d]     "YYYY-MM-DD " of day d of 2024 and 2025 (from 2024-01-01);
 *   number[n]  the digits of n (< 1000) then '.', and in byte 7 the length
 *              of both. */
#define CALENDAR_DAYS (366 + 365)
#define SMALL_NUMBERS 1000
typedef struct TextTables {
  char day[CALENDAR_DAYS][16];
  char number[SMALL_NUMBERS][8];
} TextTables;

static void text_tables_init(TextTables *t) {
  uint32_t d = 0;
  memset(t, 0, sizeof *t);
  for (uint32_t year = 2024; year <= 2025; year++) {
    const uint16_t *start = year == 2024 ? month_start_leap : month_start_common;
    for (uint32_t month = 0; month < 12; month++) {
      for (uint32_t mday = 1; mday <= (uint32_t)(start[month + 1] - start[month]); mday++) {
        char *p = t->day[d++];
        p = put_2digits(p, year / 100);
        p = put_2digits(p, year % 100);
        *p++ = '-';
        p = put_2digits(p, month + 1);
        *p++ = '-';
        p = put_2digits(p, mday);
        *p = ' ';
      }
    }
  }
  for (uint32_t n = 0; n < SMALL_NUMBERS; n++) {
    char *end = put_small_uint(t->number[n], n);
    *end++ = '.';
    t->number[n][7] = (char)(end - t->number[n]);
  }
}

/* "YYYY-MM-DD HH:MM:SS" for `secs` seconds after 2024-01-01 00:00:00, up to
 * the end of 2025.  Writes 16 bytes at p before the time: p needs room for
 * 19 bytes and stays within a buffer with at least 16 bytes after p. */
static inline char *put_datetime(char *p, const TextTables *t, uint32_t secs) {
  uint32_t day = secs / 86400, sod = secs - day * 86400;
  uint32_t hour = sod / 3600, rest = sod - hour * 3600;
  uint32_t minute = rest / 60, second = rest - minute * 60;
  memcpy(p, t->day[day], 16);
  put_2digits(p + 11, hour);
  p[13] = ':';
  put_2digits(p + 14, minute);
  p[16] = ':';
  put_2digits(p + 17, second);
  return p + 19;
}

/* Decimal text of v, as put_small_uint; writes up to 8 bytes at p. */
static inline char *put_id(char *p, const TextTables *t, uint32_t v) {
  if (v >= SMALL_NUMBERS) return put_small_uint(p, v);
  memcpy(p, t->number[v], 8);
  return p + t->number[v][7] - 1;
}

/* An amount in cents as put_cents writes it; writes up to 8 bytes past
 * the sign and the integer part. */
static inline char *put_amount(char *p, const TextTables *t, int64_t cents) {
  uint64_t magnitude, units;
  uint32_t hundredths;
  if (cents < 0) {
    *p++ = '-';
    magnitude = (uint64_t)0 - (uint64_t)cents;
  } else {
    magnitude = (uint64_t)cents;
  }
  units = magnitude / 100;
  hundredths = (uint32_t)(magnitude - units * 100);
  if (units >= SMALL_NUMBERS) {
    p = put_uint(p, units);
    *p++ = '.';
  } else {
    memcpy(p, t->number[units], 8);
    p += t->number[units][7];
  }
  return put_2digits(p, hundredths);
}

/* ------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------ */

/* Rows are made CHUNK_ROWS at a time into a Chunk, then appended column
 * by column (nb_column_append_nullable_strings): the builder then walks
 * each column's buffers in a tight loop instead of switching columns at
 * every value.  Formatted values point into the chunk's text, static ones
 * at their constant; a NULL data is a null.  A chunk stays well within L1
 * and L2. */
#define CHUNK_ROWS 64
/* Room for one row's formatted text: the taxi schema formats fewer than
 * 100 bytes (the simple one fewer than 50), plus the 16 bytes the
 * formatters' block copies may store past a value. */
#define ROW_TEXT_BYTES 128
typedef struct Chunk {
  NbStringRef values[MAX_COLUMNS][CHUNK_ROWS];
  char text[CHUNK_ROWS * ROW_TEXT_BYTES];
} Chunk;

/* Where one row goes: value col at values[col * CHUNK_ROWS], its text at
 * text; bytes sums the values' lengths for batch_bytes. */
typedef struct RowOut {
  NbStringRef *values;
  char *text;
  size_t bytes;
} RowOut;

static inline void set_value(RowOut *out, int col, const char *text, size_t len) {
  out->values[col * CHUNK_ROWS].data = text;
  out->values[col * CHUNK_ROWS].len = len;
  out->bytes += len;
}

static inline void set_static(RowOut *out, int col, Text text) {
  set_value(out, col, text.s, text.len);
}

static inline void set_null(RowOut *out, int col) {
  out->values[col * CHUNK_ROWS].data = NULL;
  out->values[col * CHUNK_ROWS].len = 0;
}

/* Set column col to the text formatted in [start, end). */
static inline void set_formatted(RowOut *out, int col, const char *start,
                                 const char *end) {
  set_value(out, col, start, (size_t)(end - start));
}

/* One-digit values point into this. */
static const char single_digits[] = "0123456789";


/* Pick an index by cumulative thresholds out of 65536. */
static inline unsigned pick(uint32_t u, const uint16_t *thresholds,
                            unsigned n) {
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
static const Text rate_codes[6] = {
    TEXT("1"),
    TEXT("2"),
    TEXT("3"),
    TEXT("4"),
    TEXT("5"),
    TEXT("99"),
};
/* payment_type 1 card (70%), 2 cash (25%), 3 no charge (3%), 4 dispute. */
static const uint16_t payment_thresholds[4] = {45875, 62259, 64225, 65535};

/* The 16-bit chunks each taxi field draws from. */
enum {
  R_PICKUP = 0, /* and 1: 32 bits */
  R_VENDOR = 2,
  R_DURATION,
  R_LONG_TRIP,
  R_LONG_TRIP_EXTRA,
  R_NO_DISPATCH,
  R_PASSENGERS,
  R_RATE,
  R_DISTANCE,
  R_LONG_DISTANCE,
  R_LONG_DISTANCE_EXTRA,
  R_FLAG,
  R_PICKUP_LOCATION,
  R_DROPOFF_LOCATION,
  R_PAYMENT,
  R_FARE_EXTRA,
  R_TIP,
  R_REFUND,
  R_HAS_NOTE,
  R_NOTE,
  R_TAXI_CHUNKS
};

/* Row `row` of a taxi stream.  Formatted values are written one after the
 * other into out->text. */
static void taxi_row(const TextTables *t, uint64_t key, uint64_t row, RowOut *row_out) {
  /* A local copy: stores of values through row_out->values could alias
   * row_out->bytes, which would then be reloaded after each value. */
  RowOut local = *row_out, *out = &local;
  RowRandom r;
  char *p = out->text, *start;
  uint32_t pickup, duration, distance, pu, dropoff_loc, payment, u;
  int64_t fare, tip, total;

  row_random(&r, key, row, (R_TAXI_CHUNKS + 3) / 4);

  u = chunk16(&r, R_VENDOR);
  set_value(out, 0, single_digits + (u < 19661 ? 1 : (u < 64881 ? 2 : 6)), 1);

  pickup = below32(chunk32(&r, R_PICKUP), 366u * 86400u);
  duration = 120 + below16(chunk16(&r, R_DURATION), 2400);
  if (chance(chunk16(&r, R_LONG_TRIP), 100))
    duration += below16(chunk16(&r, R_LONG_TRIP_EXTRA), 5400);
  start = p;
  p = put_datetime(p, t, pickup);
  set_formatted(out, 1, start, p);
  start = p;
  p = put_datetime(p, t, pickup + duration);
  set_formatted(out, 2, start, p);

  /* About 5% of trips lack the dispatch fields, as in the real data. */
  if (chance(chunk16(&r, R_NO_DISPATCH), 50)) {
    set_null(out, 3);
    set_null(out, 5);
  } else {
    set_value(out, 3,
              single_digits + pick(chunk16(&r, R_PASSENGERS), passenger_thresholds, 7),
              1);
    set_static(out, 5, rate_codes[pick(chunk16(&r, R_RATE), rate_thresholds, 6)]);
  }

  distance = 30 + below16(chunk16(&r, R_DISTANCE), 1200);
  if (chance(chunk16(&r, R_LONG_DISTANCE), 100))
    distance += below16(chunk16(&r, R_LONG_DISTANCE_EXTRA), 2500);
  start = p;
  p = put_amount(p, t, distance);
  set_formatted(out, 4, start, p);

  pu = 1 + below16(chunk16(&r, R_PICKUP_LOCATION), 265);
  dropoff_loc = 1 + below16(chunk16(&r, R_DROPOFF_LOCATION), 265);
  start = p;
  p = put_id(p, t, pu);
  set_formatted(out, 6, start, p);
  start = p;
  p = put_id(p, t, dropoff_loc);
  set_formatted(out, 7, start, p);

  payment = 1 + pick(chunk16(&r, R_PAYMENT), payment_thresholds, 4);
  set_value(out, 8, single_digits + payment, 1);

  fare = 300 + (int64_t)distance * 5 / 2 + duration / 6 +
         below16(chunk16(&r, R_FARE_EXTRA), 300);
  tip = payment == 1 ? fare * below16(chunk16(&r, R_TIP), 31) / 100 : 0;
  total = fare + tip + 350;
  if (chance(chunk16(&r, R_REFUND), 10)) { /* refunds: negative amounts */
    fare = -fare;
    tip = 0;
    total = fare - 350;
  }
  start = p;
  p = put_amount(p, t, fare);
  set_formatted(out, 9, start, p);
  start = p;
  p = put_amount(p, t, tip);
  set_formatted(out, 10, start, p);
  start = p;
  p = put_amount(p, t, total);
  set_formatted(out, 11, start, p);

  set_static(out, 12, zones[(pu - 1) % 20]);

  if (chance(chunk16(&r, R_HAS_NOTE), 300))
    set_static(out, 13, notes[below16(chunk16(&r, R_NOTE), 10)]);
  else
    set_value(out, 13, "", 0);
  row_out->bytes = local.bytes;
}

static void simple_row(const TextTables *t, uint64_t key, uint64_t row, RowOut *row_out) {
  RowOut local = *row_out, *out = &local;
  RowRandom r;
  char *p = out->text, *start;
  int64_t cents;

  row_random(&r, key, row, 1);
  p = put_small_uint(p, row);
  set_formatted(out, 0, out->text, p);
  set_static(out, 1, words[below16(chunk16(&r, 0), 16)]);
  cents = (int64_t)below32(chunk32(&r, 2), 2000000) - 1000000;
  start = p;
  p = put_amount(p, t, cents);
  set_formatted(out, 2, start, p);
  row_out->bytes = local.bytes;
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
  void (*make_row)(const TextTables *t, uint64_t key, uint64_t row, RowOut *out);
  uint64_t batch_rows;
  uint64_t batch_bytes;
  uint32_t n_streams;
  GenStream *streams;
  NbBatchBuilder *builder;
  NbColumnBuilder *columns[MAX_COLUMNS];
  unsigned char position[NB_POSITION_MAX_BYTES];
  TextTables tables;
  Chunk chunk;
} GenSource;

static int read_settings(const NbSettings *settings, int64_t *rows,
                         int64_t *seed, int *schema, int64_t *streams,
                         NbError *err) {
  NbDeclaredSettings set = NB_DECLARED_SETTINGS(
      settings, generate_settings, NB_COUNT(generate_settings), NB_SETTING_SOURCE);
  int rc = nb_declared_int(&set, "rows", rows, err);
  if (rc == NB_OK) rc = nb_declared_int(&set, "seed", seed, err);
  if (rc == NB_OK) rc = nb_declared_enum(&set, "schema", schema, err);
  if (rc == NB_OK) rc = nb_declared_int(&set, "streams", streams, err);
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
    end = put_small_uint(s->name + 9, i);
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
  text_tables_init(&src->tables);
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
  if (NB_STRUCT_HAS(NbStreamInfo, out, name))
    out->name = src->streams[index].name;
  /* Unknown on purpose: the stream has no bytes, and a row count is not
   * what size_bytes means. */
  if (NB_STRUCT_HAS(NbStreamInfo, out, size_bytes))
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

static void report_position(GenSource *src, const GenStream *s,
                            NbBatchInfo *info) {
  uint64_t v[POS_COUNT];
  size_t len;
  if (info == NULL) return;
  v[POS_ROW] = s->next_row;
  v[POS_SEED] = s->seed;
  v[POS_SCHEMA] = (uint64_t)src->schema;
  len = nb_position_encode(src->position, sizeof src->position, v, POS_COUNT);
  if (NB_STRUCT_HAS(NbBatchInfo, info, position))
    info->position = src->position;
  if (NB_STRUCT_HAS(NbBatchInfo, info, position_len))
    info->position_len = len;
  if (NB_STRUCT_HAS(NbBatchInfo, info, bytes_read))
    info->bytes_read = -1;
}

static int source_next(void *handle, uint32_t index, struct ArrowArray *out,
                       NbBatchInfo *info, NbError *err) {
  GenSource *src = handle;
  GenStream *s;
  Chunk *chunk = &src->chunk;
  uint64_t limit, end, row, bytes = 0, row_overhead;
  int rc = check_index(src, index, err);
  if (rc != NB_OK) return rc;
  s = &src->streams[index];
  if (s->next_row >= src->rows) return NB_END;
  if (NB_HOST_HAS(src->host, is_cancelled) &&
      src->host->is_cancelled(src->host->host_data))
    return nb_error_set(err, NB_CANCELLED, "generate source cancelled");

  limit = src->rows - s->next_row;
  if (limit > src->batch_rows) limit = src->batch_rows;
  end = s->next_row + limit;
  row = s->next_row;
  /* batch_bytes counts string bytes plus a 4-byte offset per value. */
  row_overhead = 4 * src->n_fields;
  while (row < end && bytes < src->batch_bytes) {
    uint64_t first = row;
    size_t k;
    for (k = 0; k < CHUNK_ROWS && row < end && bytes < src->batch_bytes; k++, row++) {
      RowOut o = {&chunk->values[0][k], chunk->text + k * ROW_TEXT_BYTES, 0};
      src->make_row(&src->tables, s->key, row, &o);
      bytes += o.bytes + row_overhead;
    }
    for (size_t c = 0; c < src->n_fields; c++) {
      rc = nb_column_append_nullable_strings(src->columns[c], chunk->values[c], k);
      if (rc != NB_OK) {
        nb_batch_builder_reset(src->builder);
        return nb_error_set(err, NB_NOMEM,
                            "out of memory while generating rows %" PRIu64 " to %" PRIu64
                            " of stream \"%s\"",
                            first, row - 1, s->name);
      }
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

static const NbConnector generate_connector = {
    .name = "generate",
    .version = GENERATE_VERSION,
    .description = "Deterministic synthetic records (NYC-taxi-like or simple) for tests and benchmarks",
    .capabilities = NB_CAP_SOURCE | NB_CAP_RESUMABLE,
    .settings = generate_settings,
    .n_settings = NB_COUNT(generate_settings),
    .source_open = source_open,
    .source_stream_count = source_stream_count,
    .source_stream_info = source_stream_info,
    .source_schema = source_schema,
    .source_seek = source_seek,
    .source_next = source_next,
    .source_close = source_close,
};

/* The entry, with an open that checks settings first (nebula/sdk.h). */
NB_CONNECTOR_EXPORT(generate_connector)
