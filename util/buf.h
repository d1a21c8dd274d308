/* buf.h - the one growable byte buffer, always with a size cap.
 *
 * Every response body, file read and JSON document goes through an rv_buf.
 * Growing past `max` fails with RV_TOOBIG (message set) instead of
 * exhausting memory. The data is kept NUL-terminated (the NUL is not
 * counted in len) so text can be used as a C string directly.
 */
#ifndef RV_BUF_H
#define RV_BUF_H

#include <stddef.h>

struct rv_buf {
	unsigned char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* the most len may ever be */
};

#define RV_BUF_INIT(maxbytes)                                                  \
	{                                                                      \
		NULL, 0, 0, (maxbytes)                                         \
	}

void rv_buf_init(struct rv_buf *b, size_t max);
/* Make room for `extra` more bytes. RV_TOOBIG past max, RV_NOMEM. */
int rv_buf_reserve(struct rv_buf *b, size_t extra);
int rv_buf_add(struct rv_buf *b, const void *data, size_t len);
int rv_buf_puts(struct rv_buf *b, const char *s);
int rv_buf_printf(struct rv_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The contents as a C string ("" when empty); never NULL. */
const char *rv_buf_cstr(const struct rv_buf *b);
/* Forget the contents, keep the memory. */
void rv_buf_reset(struct rv_buf *b);
/* Free the memory; the buffer can be reused (same max). */
void rv_buf_release(struct rv_buf *b);
/* Hand the memory to the caller (NUL-terminated; free() it). */
char *rv_buf_detach(struct rv_buf *b, size_t *len);

#endif
