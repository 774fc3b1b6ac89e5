/*
 * s3_xml.h - a small bounded scanner for the few elements of S3's XML
 * replies that the module needs (ListObjectsV2 and error documents).  It
 * never allocates beyond the value it returns and never reads outside the
 * buffer; anything it does not understand is skipped.
 */
#ifndef S3_XML_H
#define S3_XML_H

#include <stdbool.h>
#include <stddef.h>

/* A slice of the reply. */
typedef struct S3Slice {
  const char *p;
  size_t n;
} S3Slice;

/* Find the next <tag>value</tag> in in[*pos..), move *pos past it and
 * return true with the raw (still escaped) value; false when there is none.
 * Elements with attributes (<tag a="1">) and empty elements (<tag/>, an
 * empty value) are found too. */
bool s3_xml_next(S3Slice in, size_t *pos, const char *tag, S3Slice *value);

/* The first <tag> of in, value unescaped into a new string (NULL when
 * absent, or out of memory: *nomem says which). */
char *s3_xml_text(S3Slice in, const char *tag, bool *nomem);

/* Unescape an XML text value (the five entities and &#N; / &#xH;) into a
 * new NUL-terminated string.  NULL on a malformed entity or a NUL
 * character (*bad set) or out of memory. */
char *s3_xml_unescape(S3Slice value, bool *bad);

#endif
