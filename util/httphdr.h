/* httphdr.h - split one raw HTTP response header line (as libcurl's
 * CURLOPT_HEADERFUNCTION hands it over) into a status line or a name and
 * a trimmed value. Shared by the registry client and the s3 target. */
#ifndef RV_HTTPHDR_H
#define RV_HTTPHDR_H

#include <stddef.h>

/* Limits every HTTP request of regvault's has (registry and s3 target):
 * a connection is given up when it takes longer than CONNECT_S to open, or
 * moves less than LOW_SPEED_BPS bytes a second for LOW_SPEED_S seconds (a
 * stall, or a drip that never quite stalls); a request whose answer is
 * read into memory (manifests, listings, tokens: bounded sizes) also when
 * it takes longer than SMALL_TOTAL_S in all. Each ends as a retriable
 * error: the caller retries, a blob resumes with a Range. */
#define RV_HTTP_CONNECT_S 30L
#define RV_HTTP_LOW_SPEED_BPS 1024L
#define RV_HTTP_LOW_SPEED_S 60L
#define RV_HTTP_SMALL_TOTAL_S 600L

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
