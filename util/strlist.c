#include "strlist.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

int rv_strlist_take(struct rv_strlist *l, char *s)
{
	if (!s)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->items, ncap * sizeof(*p));
		if (!p) {
			free(s);
			return rv_err_set(RV_NOMEM, "out of memory");
		}
		l->items = p;
		l->cap = ncap;
	}
	l->items[l->n++] = s;
	return 0;
}

int rv_strlist_add(struct rv_strlist *l, const char *s)
{
	return rv_strlist_take(l, strdup(s));
}

int rv_strlist_has(const struct rv_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i], s))
			return 1;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void rv_strlist_sort(struct rv_strlist *l)
{
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), cmp_str);
}

void rv_strlist_release(struct rv_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}
