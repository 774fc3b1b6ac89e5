/*
 * fuzz_s3xml.c - the s3 module's bounded XML scanner (plugins/s3/s3_xml.c)
 * on arbitrary replies, as ListObjectsV2 pages and error documents are
 * read.
 * fuzz-requires: plugins/s3/s3_xml.c
 *
 * Invariants: every value found lies inside the input; scanning always
 * moves forward and ends; an unescaped value is never longer than its
 * escaped text and holds no NUL.
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <string.h>

#include "s3_xml.h"

static void check_value(S3Slice in, S3Slice v) {
  bool bad = false;
  char *text;
  if (v.p < in.p || v.p + v.n > in.p + in.n) fuzz_fail("value outside the input");
  text = s3_xml_unescape(v, &bad);
  if (text != NULL) {
    if (strlen(text) > v.n) fuzz_fail("unescaped %zu bytes from %zu", strlen(text), v.n);
    free(text);
  }
}

static void scan(S3Slice in, const char *tag) {
  size_t pos = 0, last = 0, rounds = 0;
  S3Slice v;
  while (s3_xml_next(in, &pos, tag, &v)) {
    if (pos <= last && rounds > 0) fuzz_fail("no progress at %zu", pos);
    if (pos > in.n) fuzz_fail("position %zu past %zu", pos, in.n);
    last = pos;
    rounds++;
    check_value(in, v);
    {
      size_t inner = 0;
      S3Slice k;
      while (s3_xml_next(v, &inner, "Key", &k)) check_value(v, k);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  S3Slice in = {(const char *)data, size};
  bool nomem;
  char *s;
  scan(in, "Contents");
  scan(in, "NextContinuationToken");
  s = s3_xml_text(in, "Message", &nomem);
  free(s);
  return 0;
}
