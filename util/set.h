/* set.h - a set of byte strings (digests, chunk ids), open addressing.
 * Keys are copied; lookups are O(1) on average. Supports truncating back
 * to an earlier size (rv_set_truncate), which the backup engine uses to
 * forget what a rolled-back blob added. */
#ifndef RV_SET_H
#define RV_SET_H

#include <stddef.h>

struct rv_set {
	unsigned char **keys; /* insertion order */
	size_t *lens;
	size_t n, cap_keys;
	size_t *slots; /* index+1 into keys, 0 = empty */
	size_t n_slots;
};

#define RV_SET_INIT                                                            \
	{                                                                      \
		NULL, NULL, 0, 0, NULL, 0                                      \
	}

/* 1 if added, 0 if already present, RV_NOMEM. */
int rv_set_add(struct rv_set *s, const void *key, size_t len);
int rv_set_has(const struct rv_set *s, const void *key, size_t len);
/* The insertion index of key (0-based), or -1 when absent. */
long rv_set_index(const struct rv_set *s, const void *key, size_t len);
/* Forget every key added after the first n. */
void rv_set_truncate(struct rv_set *s, size_t n);
void rv_set_clear(struct rv_set *s);
void rv_set_release(struct rv_set *s);

#endif
