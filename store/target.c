/* target.c - the target_* wrappers: dispatch to the back end's table. */
#include "store/target.h"

#include "util/err.h"

int target_put_file(struct target *t, const char *name, const char *src)
{
	return t->ops->put_file(t, name, src);
}

int target_put_buf(struct target *t, const char *name, const void *data,
		   size_t len)
{
	return t->ops->put_buf(t, name, data, len);
}

int target_get_range(struct target *t, const char *name, uint64_t off,
		     uint64_t len, struct rv_buf *out)
{
	return t->ops->get_range(t, name, off, len, out);
}

int target_get(struct target *t, const char *name, struct rv_buf *out)
{
	return t->ops->get_range(t, name, 0, 0, out);
}

int target_stat(struct target *t, const char *name, uint64_t *size)
{
	return t->ops->stat(t, name, size);
}

int target_list(struct target *t, const char *prefix, struct rv_strlist *names)
{
	return t->ops->list(t, prefix, names);
}

int target_del(struct target *t, const char *name)
{
	return t->ops->del(t, name);
}

void target_free(struct target *t)
{
	if (t)
		t->ops->free(t);
}
