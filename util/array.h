/* array.h - growing a malloc'd array of fixed-size items.
 * The caller keeps the pointer, the count and the capacity; this only
 * makes room, so the usual pattern is
 *	rc = rv_array_grow((void **)&list, &cap, n + 1, sizeof(*list));
 *	if (rc)
 *		return rc;
 *	list[n++] = item; */
#ifndef RV_ARRAY_H
#define RV_ARRAY_H

#include <stddef.h>

/* Make *items hold at least `need` items of `size` bytes each: when *cap
 * is smaller, realloc to the larger of `need` and double *cap (from 16),
 * overflow-checked. *items and *cap are left alone on failure (the old
 * array stays valid and owned by the caller). 0, or RV_NOMEM with the
 * message set. */
int rv_array_grow(void **items, size_t *cap, size_t need, size_t size);

#endif
