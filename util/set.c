#include "set.h"

#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t set_hash(const void *key, size_t len)
{
	/* FNV-1a: keys are digests or keyed ids, already well mixed */
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static size_t set_find(const struct rv_set *s, const void *key, size_t len)
{
	size_t mask = s->n_slots - 1, i = set_hash(key, len) & mask;
	for (;;) {
		size_t k = s->slots[i];
		if (k == 0)
			return i;
		if (s->lens[k - 1] == len && !memcmp(s->keys[k - 1], key, len))
			return i;
		i = (i + 1) & mask;
	}
}

static int set_rehash(struct rv_set *s, size_t n_slots)
{
	size_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return rv_err_set(RV_NOMEM, "out of memory");
	free(s->slots);
	s->slots = slots;
	s->n_slots = n_slots;
	for (size_t k = 0; k < s->n; k++)
		s->slots[set_find(s, s->keys[k], s->lens[k])] = k + 1;
	return 0;
}

int rv_set_has(const struct rv_set *s, const void *key, size_t len)
{
	if (!s->n_slots)
		return 0;
	return s->slots[set_find(s, key, len)] != 0;
}

long rv_set_index(const struct rv_set *s, const void *key, size_t len)
{
	size_t k;
	if (!s->n_slots)
		return -1;
	k = s->slots[set_find(s, key, len)];
	return k ? (long)(k - 1) : -1;
}

int rv_set_add(struct rv_set *s, const void *key, size_t len)
{
	unsigned char *copy;
	int rc;

	if (rv_set_has(s, key, len))
		return 0;
	if ((s->n + 1) * 2 > s->n_slots) {
		rc = set_rehash(s, s->n_slots ? s->n_slots * 2 : 64);
		if (rc)
			return rc;
	}
	if (s->n == s->cap_keys) {
		size_t ncap = s->cap_keys ? s->cap_keys * 2 : 32;
		unsigned char **keys = realloc(s->keys, ncap * sizeof(*keys));
		if (!keys)
			return rv_err_set(RV_NOMEM, "out of memory");
		s->keys = keys;
		size_t *lens = realloc(s->lens, ncap * sizeof(*lens));
		if (!lens)
			return rv_err_set(RV_NOMEM, "out of memory");
		s->lens = lens;
		s->cap_keys = ncap;
	}
	copy = malloc(len ? len : 1);
	if (!copy)
		return rv_err_set(RV_NOMEM, "out of memory");
	memcpy(copy, key, len);
	s->keys[s->n] = copy;
	s->lens[s->n] = len;
	s->n++;
	s->slots[set_find(s, key, len)] = s->n;
	return 1;
}

void rv_set_truncate(struct rv_set *s, size_t n)
{
	if (n >= s->n)
		return;
	for (size_t k = n; k < s->n; k++)
		free(s->keys[k]);
	s->n = n;
	/* rebuild the slots in place: no allocation, so no failure */
	if (s->n_slots) {
		memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
		for (size_t k = 0; k < s->n; k++)
			s->slots[set_find(s, s->keys[k], s->lens[k])] = k + 1;
	}
}

void rv_set_clear(struct rv_set *s)
{
	rv_set_truncate(s, 0);
}

void rv_set_release(struct rv_set *s)
{
	for (size_t k = 0; k < s->n; k++)
		free(s->keys[k]);
	free(s->keys);
	free(s->lens);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}
