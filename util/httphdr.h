/* httphdr.h - split one raw HTTP response header line (as libcurl's
 * CURLOPT_HEADERFUNCTION hands it over) into a status line or a name and
 * a trimmed value. Shared by the registry client and the s3 target. */
#ifndef RV_HTTPHDR_H
#define RV_HTTPHDR_H

#include <stddef.h>

struct rv_hdr {
	int is_status;	  /* 1: an "HTTP/x y ..." line */
	int status;	  /* its code (0 when unreadable) */
	const char *name; /* header name (not NUL-terminated) */
	size_t name_len;
	const char *value; /* value, spaces and CR/LF trimmed */
	size_t value_len;
};

/* 0 when the line is a status line or a "name: value" header; -1 for
 * anything else (the blank line ending the headers, garbage). */
int rv_hdr_parse(struct rv_hdr *h, const char *line, size_t len);
/* 1 when h is a header named name (case-insensitive). */
int rv_hdr_is(const struct rv_hdr *h, const char *name);

#endif
