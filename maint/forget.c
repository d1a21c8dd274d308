/* forget.c - remove the snapshots a retention policy does not keep
 * (maint/prune.h). */
#include "maint/prune.h"

#include "catalog/catalog.h"
#include "maint/seals.h"
#include "store/store.h"
#include "store/target.h"
#include "util/err.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void maint_forget_release(struct forget_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i].snaps);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

static int keep_is_empty(const struct sched_keep *k)
{
	return !k->last && !k->hourly && !k->daily && !k->weekly &&
	       !k->monthly && !k->yearly && !k->within_seconds &&
	       !k->within.years && !k->within.months && !k->within.days &&
	       !k->within.hours;
}

static struct forget_group *group_get(struct forget_result *r,
				      const char *source)
{
	struct forget_group *g;

	for (size_t i = 0; i < r->n_groups; i++)
		if (!strcmp(r->groups[i].source, source))
			return &r->groups[i];
	g = realloc(r->groups, (r->n_groups + 1) * sizeof(*g));
	if (!g)
		return NULL;
	r->groups = g;
	g = &r->groups[r->n_groups++];
	memset(g, 0, sizeof(*g));
	snprintf(g->source, sizeof(g->source), "%s", source);
	return g;
}

static int newest_first(const void *a, const void *b)
{
	const struct forget_snap *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Decide for one group (its snaps filled, any order). */
static int decide(struct forget_group *g, const struct forget_opts *o)
{
	struct sched_snap *in = NULL;
	struct sched_decision *d = NULL;
	int rc = 0;

	qsort(g->snaps, g->n, sizeof(*g->snaps), newest_first);
	in = calloc(g->n ? g->n : 1, sizeof(*in));
	d = calloc(g->n ? g->n : 1, sizeof(*d));
	if (!in || !d) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < g->n; i++) {
		in[i].id = g->snaps[i].id;
		in[i].time = g->snaps[i].time;
	}
	rc = sched_retention_apply(d, in, g->n, &o->keep, o->timezone, o->now);
	for (size_t i = 0; !rc && i < g->n; i++) {
		g->snaps[i].keep = d[i].keep;
		snprintf(g->snaps[i].reasons, sizeof(g->snaps[i].reasons), "%s",
			 d[i].reasons);
	}
done:
	free(in);
	free(d);
	return rc;
}

/* Forget one snapshot: tombstone, catalog row, records. */
static int forget_one(struct forget_result *r, struct cat *c, struct store *s,
		      const char *id, int64_t now)
{
	char name[80];
	int rc = maint_seal_forget(s, id, now);

	if (rc == RV_NOTFOUND) /* an unsealed (format 1) snapshot */
		rc = 0;
	if (rc)
		return rc;
	rc = cat_begin(c);
	if (!rc)
		rc = cat_snapshot_del(c, id);
	if (rc == RV_NOTFOUND) /* gone already: nothing to undo */
		rc = 0;
	if (!rc)
		rc = cat_commit(c);
	if (rc) {
		cat_rollback(c);
		return rc;
	}
	snprintf(name, sizeof(name), "snapshots/%s", id);
	for (size_t t = 0; t < store_target_count(s); t++) {
		if (target_del(store_target(s, t), name) == 0)
			continue;
		rv_warn("could not delete %s from target '%s': %s (the "
			"snapshot is forgotten; the record is harmless and "
			"can be deleted by hand)",
			name, store_target_name(s, t), rv_err_msg());
		r->records_left++;
	}
	rv_err_clear();
	return 0;
}

int maint_forget(struct forget_result *out, struct cat *c, struct store *s,
		 const struct forget_opts *o)
{
	struct cat_snapshot *list = NULL;
	size_t n = 0;
	int rc, found = 0;

	memset(out, 0, sizeof(*out));
	if (keep_is_empty(&o->keep))
		return rv_err_set(RV_INVALID,
				  "no retention policy given: it would keep "
				  "every snapshot; give at least one --keep-* "
				  "option");
	rc = cat_snapshot_list(&list, &n, c);
	for (size_t i = 0; !rc && i < n; i++) {
		struct forget_group *g;
		struct forget_snap *sn;

		if (o->source && strcmp(o->source, list[i].source))
			continue;
		found = 1;
		g = group_get(out, list[i].source);
		sn = g ? realloc(g->snaps, (g->n + 1) * sizeof(*sn)) : NULL;
		if (!sn) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			break;
		}
		g->snaps = sn;
		sn = &g->snaps[g->n++];
		memset(sn, 0, sizeof(*sn));
		memcpy(sn->id, list[i].id, sizeof(sn->id));
		sn->time = list[i].time;
	}
	free(list);
	if (!rc && o->source && !found)
		rc = rv_err_set(RV_INVALID,
				"no snapshot of source '%s' is in the catalog",
				o->source);
	for (size_t i = 0; !rc && i < out->n_groups; i++)
		rc = decide(&out->groups[i], o);
	for (size_t i = 0; !rc && i < out->n_groups; i++) {
		struct forget_group *g = &out->groups[i];

		for (size_t j = 0; !rc && j < g->n; j++) {
			if (g->snaps[j].keep) {
				out->kept++;
				continue;
			}
			if (!o->dry_run)
				rc = forget_one(out, c, s, g->snaps[j].id,
						o->now);
			if (!rc)
				out->forgotten++;
		}
	}
	return rc;
}
