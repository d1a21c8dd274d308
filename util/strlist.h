/* strlist.h - a growable list of owned C strings. */
#ifndef RV_STRLIST_H
#define RV_STRLIST_H

#include <stddef.h>

struct rv_strlist {
	char **items;
	size_t n;
	size_t cap;
};

#define RV_STRLIST_INIT                                                        \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Append a copy of s. RV_NOMEM. */
int rv_strlist_add(struct rv_strlist *l, const char *s);
/* Append s itself, taking ownership (freed on failure too). */
int rv_strlist_take(struct rv_strlist *l, char *s);
/* 1 if an item equals s, else 0. */
int rv_strlist_has(const struct rv_strlist *l, const char *s);
void rv_strlist_sort(struct rv_strlist *l);
void rv_strlist_release(struct rv_strlist *l);

#endif
