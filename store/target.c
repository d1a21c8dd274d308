/* target.c - the target_* wrappers: dispatch to the back end's table. */
#include "store/target.h"

#include "util/err.h"

void target_base_init(struct target *t, const struct target_ops *ops)
{
	t->ops = ops;
	pthread_mutex_init(&t->mu, NULL);
}

/* Each wrapper holds the handle's mutex for the whole call. */
#define TARGET_CALL(t, call)                                                   \
	do {                                                                   \
		int rc_;                                                       \
		pthread_mutex_lock(&(t)->mu);                                  \
		rc_ = (t)->ops->call;                                          \
		pthread_mutex_unlock(&(t)->mu);                                \
		return rc_;                                                    \
	} while (0)

int target_put_file(struct target *t, const char *name, const char *src)
{
	TARGET_CALL(t, put_file(t, name, src));
}

int target_move_file(struct target *t, const char *name, const char *src)
{
	if (!t->ops->move_file)
		return target_put_file(t, name, src);
	TARGET_CALL(t, move_file(t, name, src));
}

int target_put_buf(struct target *t, const char *name, const void *data,
		   size_t len)
{
	TARGET_CALL(t, put_buf(t, name, data, len));
}

int target_get_range(struct target *t, const char *name, uint64_t off,
		     uint64_t len, struct rv_buf *out)
{
	TARGET_CALL(t, get_range(t, name, off, len, out));
}

int target_get(struct target *t, const char *name, struct rv_buf *out)
{
	TARGET_CALL(t, get_range(t, name, 0, 0, out));
}

int target_stat(struct target *t, const char *name, uint64_t *size)
{
	TARGET_CALL(t, stat(t, name, size));
}

int target_list(struct target *t, const char *prefix, struct rv_strlist *names)
{
	TARGET_CALL(t, list(t, prefix, names));
}

int target_del(struct target *t, const char *name)
{
	TARGET_CALL(t, del(t, name));
}

void target_free(struct target *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	t->ops->free(t);
}
