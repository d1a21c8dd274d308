#include "buf.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rv_buf_init(struct rv_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

int rv_buf_reserve(struct rv_buf *b, size_t extra)
{
	size_t need, ncap;
	unsigned char *p;

	if (extra > b->max || b->len > b->max - extra)
		return rv_err_set(RV_TOOBIG,
				  "data exceeds its size limit of %zu bytes",
				  b->max);
	need = b->len + extra + 1; /* room for the NUL */
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (ncap < need)
		ncap = need;
	p = realloc(b->data, ncap);
	if (!p)
		return rv_err_set(RV_NOMEM, "out of memory (%zu bytes)", ncap);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int rv_buf_add(struct rv_buf *b, const void *data, size_t len)
{
	int rc = rv_buf_reserve(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int rv_buf_puts(struct rv_buf *b, const char *s)
{
	return rv_buf_add(b, s, strlen(s));
}

int rv_buf_printf(struct rv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return rv_err_set(RV_INVALID, "bad format string");
	rc = rv_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *rv_buf_cstr(const struct rv_buf *b)
{
	return b->data ? (const char *)b->data : "";
}

void rv_buf_reset(struct rv_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void rv_buf_release(struct rv_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *rv_buf_detach(struct rv_buf *b, size_t *len)
{
	char *p = (char *)b->data;
	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}
