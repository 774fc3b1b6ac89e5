/*
 * validate.c - checking an Arrow schema + array pair against the rules of
 * the C Data Interface for the types Nebula exchanges: not released, buffer
 * counts, non-NULL buffers where data exists, offsets non-decreasing and
 * non-negative, null counts matching the validity bitmap, children long
 * enough.  Used by the conformance kit and the host's debug checks.
 *
 * The interface does not carry buffer sizes, so a data buffer shorter than
 * its offsets claim cannot be detected here (valgrind or ASan can).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sdk_internal.h"

/* Where a problem is: "column \"x\"" or "the batch". */
typedef struct Where {
  char text[160];
} Where;

static void where_of(Where *w, const struct ArrowSchema *s, bool top) {
  if (top)
    snprintf(w->text, sizeof w->text, "the batch");
  else
    snprintf(w->text, sizeof w->text, "column \"%s\"",
             s->name != NULL ? s->name : "");
}

static int fail(NbError *err, const Where *w, const char *fmt, ...)
    NB_PRINTF(3, 4);

static int fail(NbError *err, const Where *w, const char *fmt, ...) {
  char reason[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  return nb_error_set(err, NB_INVALID, "invalid Arrow data in %s: %s", w->text,
                      reason);
}

static int64_t count_nulls(const uint8_t *bits, int64_t offset, int64_t length) {
  int64_t nulls = 0;
  for (int64_t i = offset; i < offset + length; i++)
    nulls += !((bits[i >> 3] >> (i & 7)) & 1);
  return nulls;
}

static int check_offsets(const struct ArrowArray *a, bool large,
                         const Where *w, NbError *err) {
  int64_t prev = 0;
  if (a->length == 0 && a->buffers[1] == NULL) return NB_OK;
  if (a->buffers[1] == NULL)
    return fail(err, w, "the offsets buffer is NULL");
  for (int64_t i = a->offset; i <= a->offset + a->length; i++) {
    int64_t o = large ? ((const int64_t *)a->buffers[1])[i]
                      : ((const int32_t *)a->buffers[1])[i];
    if (o < 0)
      return fail(err, w, "offset %" PRId64 " of row %" PRId64 " is negative",
                  o, i - a->offset);
    if (i > a->offset && o < prev)
      return fail(err, w,
                  "offsets decrease at row %" PRId64 " (%" PRId64
                  " after %" PRId64 ")",
                  i - a->offset - 1, o, prev);
    prev = o;
  }
  if (a->buffers[2] == NULL) {
    int64_t first = large ? ((const int64_t *)a->buffers[1])[a->offset]
                          : ((const int32_t *)a->buffers[1])[a->offset];
    if (prev > first)
      return fail(err, w, "the data buffer is NULL but values have bytes");
  }
  return NB_OK;
}

static int validate_node(const struct ArrowSchema *s,
                         const struct ArrowArray *a, bool top,
                         int64_t min_length, NbError *err) {
  Where w;
  NbField field;
  char why[200];
  int64_t want_buffers;
  bool is_struct;
  where_of(&w, s, top);
  if (s->release == NULL) return fail(err, &w, "the schema is released");
  if (a->release == NULL) return fail(err, &w, "the array is released");
  if (s->format == NULL) return fail(err, &w, "the schema has no format");
  if (s->dictionary != NULL || a->dictionary != NULL)
    return fail(err, &w, "dictionary encoding is not supported");
  is_struct = strcmp(s->format, "+s") == 0;
  if (!is_struct && !nbsdk_field_from_schema(s, &field, why, sizeof why))
    return fail(err, &w, "%s", why);
  want_buffers = is_struct ? 1
                 : (field.type == NB_TYPE_UTF8 ||
                    field.type == NB_TYPE_LARGE_UTF8 ||
                    field.type == NB_TYPE_NUMBER || field.type == NB_TYPE_JSON)
                     ? 3
                     : 2;
  if (a->length < 0 || a->offset < 0)
    return fail(err, &w, "negative length or offset");
  if (a->length > INT64_MAX - a->offset)
    return fail(err, &w, "length plus offset overflows");
  if (a->length + a->offset < min_length)
    return fail(err, &w,
                "the array has %" PRId64 " rows (length %" PRId64
                " + offset %" PRId64 "), its parent needs %" PRId64,
                a->length + a->offset, a->length, a->offset, min_length);
  if (a->null_count < -1 || a->null_count > a->length)
    return fail(err, &w, "null_count %" PRId64 " is out of range for length %" PRId64,
                a->null_count, a->length);
  if (a->n_buffers != want_buffers)
    return fail(err, &w, "format \"%s\" needs %" PRId64 " buffers, the array has %" PRId64,
                s->format, want_buffers, a->n_buffers);
  if (a->buffers == NULL) return fail(err, &w, "the buffers array is NULL");
  if (a->n_children != s->n_children)
    return fail(err, &w, "the array has %" PRId64 " children, the schema %" PRId64,
                a->n_children, s->n_children);
  if (a->n_children > 0 && (a->children == NULL || s->children == NULL))
    return fail(err, &w, "the children array is NULL");
  if (!is_struct && s->n_children != 0)
    return fail(err, &w, "a column of format \"%s\" has children", s->format);

  if (a->buffers[0] == NULL) {
    if (a->null_count > 0)
      return fail(err, &w, "null_count is %" PRId64 " but there is no validity bitmap",
                  a->null_count);
  } else if (a->null_count >= 0) {
    int64_t nulls = count_nulls(a->buffers[0], a->offset, a->length);
    if (nulls != a->null_count)
      return fail(err, &w, "null_count is %" PRId64 " but the validity bitmap has %" PRId64 " nulls",
                  a->null_count, nulls);
  }

  if (is_struct) {
    for (int64_t i = 0; i < a->n_children; i++) {
      int rc;
      if (a->children[i] == NULL || s->children[i] == NULL)
        return fail(err, &w, "child %" PRId64 " is NULL", i);
      rc = validate_node(s->children[i], a->children[i], false,
                         a->offset + a->length, err);
      if (rc != NB_OK) return rc;
    }
    return NB_OK;
  }
  switch (field.type) {
    case NB_TYPE_UTF8:
    case NB_TYPE_NUMBER:
    case NB_TYPE_JSON: return check_offsets(a, false, &w, err);
    case NB_TYPE_LARGE_UTF8: return check_offsets(a, true, &w, err);
    default:
      if (a->length > 0 && a->buffers[1] == NULL)
        return fail(err, &w, "the values buffer is NULL");
      return NB_OK;
  }
}

int nb_arrow_validate(const struct ArrowSchema *schema,
                      const struct ArrowArray *array, NbError *err) {
  if (schema == NULL || array == NULL)
    return nb_error_set(err, NB_INVALID, "nb_arrow_validate: missing argument");
  return validate_node(schema, array, true, 0, err);
}
