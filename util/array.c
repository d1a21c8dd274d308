#include "array.h"

#include "err.h"

#include <stdint.h>
#include <stdlib.h>

int rv_array_grow(void **items, size_t *cap, size_t need, size_t size)
{
	void *p;
	size_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return rv_err_set(RV_NOMEM, "out of memory");
	p = realloc(*items, ncap * size);
	if (!p)
		return rv_err_set(RV_NOMEM, "out of memory");
	*items = p;
	*cap = ncap;
	return 0;
}
