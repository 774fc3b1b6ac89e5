/*
 * datetime.c - conversions between proleptic Gregorian calendar dates and
 * day numbers (days since 1970-01-01), shared by the text parser of the
 * batch builder, the text formatter of column views and (exported as
 * nb_days_from_civil / nb_civil_from_days) the connectors.
 *
 * Pure arithmetic on 400-year eras (146097 days each), so it works for any
 * year without the C library's time zone state.
 */
#include "sdk_internal.h"

int64_t nbsdk_days_from_civil(int64_t y, unsigned m, unsigned d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;                                         /* [0, 399] */
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;       /* [0, 365] */
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                 /* [0, 146096] */
  return era * 146097 + doe - 719468;
}

void nbsdk_civil_from_days(int64_t days, int64_t *y, unsigned *m,
                           unsigned *d) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                                /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);          /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                               /* [0, 11] */
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* The public names (sdk.h, since 1.2). */
int64_t nb_days_from_civil(int64_t y, unsigned m, unsigned d) {
  return nbsdk_days_from_civil(y, m, d);
}

void nb_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
  nbsdk_civil_from_days(days, y, m, d);
}
