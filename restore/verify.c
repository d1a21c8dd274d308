/* verify.c - the verify engine: which packs and seals to check, checking
 * them per target, and working out what damage puts at risk.
 *
 * The run, in order: the snapshots and the packs they need (from the
 * catalog, or keyless from the seals); every selected snapshot's seal and
 * record on every target; the packs of each selected target (all, or the
 * least recently verified --sample percent), at the chosen depth; then for
 * each damaged pack the other targets' copies (is it repairable?) and what
 * it takes with it. Verification times go to the catalog per target in
 * one short transaction, never held while reading.
 */
#include "restore/verify.h"

#include "catalog/catalog.h"
#include "store/sealtext.h"
#include "store/store.h"
#include "store/target.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/set.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEAL_FILE_MAX ((size_t)64 << 20)
#define RECORD_FILE_MAX ((size_t)257 << 20)
/* Long lists in the text and Markdown reports stop here. */
#define REPORT_LIST_MAX 50

/* The state of one copy: 0 = not checked, else enum store_copy. */
struct vpack {
	char id[65];
	uint64_t size;
	unsigned char *state;	/* per target */
	int64_t *verified_at;	/* per target, from the catalog (0: never) */
	unsigned char *located; /* per target, from the catalog */
	struct rv_strlist sealed_by;
};

struct vsnap {
	char id[65];
	int seal_good;	    /* a copy verified */
	long long sequence; /* from the seal */
	int64_t time;
	char previous[65];
	char self[65];	 /* sha256 of the seal text */
	char record[65]; /* the record's hash the seal names ("" when
			    forgotten) */
	int lost;	 /* no good seal or record anywhere */
	int forgotten;	 /* the seal is a tombstone (regvault forget) */
	int64_t forgotten_at;
	char (*former)[65]; /* earlier texts' hashes, also chain links */
	size_t n_former;
};

struct verify {
	struct verify_result *r;
	struct cat *c;
	struct store *s;
	const struct verify_opts *o;
	size_t n_targets;
	unsigned char *selected; /* per target */
	struct vpack *packs;
	size_t n_packs, cap_packs;
	struct rv_set pack_ids;
	struct vsnap *snaps;
	size_t n_snaps, cap_snaps;
	/* seals that are links in the chain but not snapshots to check:
	 * tombstones, and (catalog mode) seals the catalog does not list */
	struct vsnap *links;
	size_t n_links, cap_links;
	int64_t now;
	/* The progress line: copies checked of those to check and their
	 * bytes (quick reads none). Deep counts each copy twice, its hash
	 * and then its chunks. With --sample the bytes of a target not
	 * reached yet are its share of every pack's. */
	struct rv_meter meter;
	uint64_t target_est; /* bytes to check on one target, estimated */
	int passes;	     /* 1, or 2 for deep */
};

/* The packs to check on each target: all, or the --sample share. */
static size_t n_to_pick(const struct verify *v)
{
	if (!v->o->sample)
		return v->n_packs;
	return (v->n_packs * v->o->sample + 99) / 100;
}

static void meter_start(struct verify *v)
{
	uint64_t sum = 0, copies = 0;
	size_t n_sel = 0;

	for (size_t t = 0; t < v->n_targets; t++)
		n_sel += v->selected[t] != 0;
	for (size_t i = 0; i < v->n_packs; i++)
		sum += v->packs[i].size;
	v->passes = v->o->level == VERIFY_DEEP ? 2 : 1;
	copies = (uint64_t)n_sel * n_to_pick(v) * (uint64_t)v->passes;
	if (v->o->sample)
		sum = sum / 100 * v->o->sample;
	if (v->o->level != VERIFY_QUICK)
		v->target_est = sum * (uint64_t)v->passes;
	rv_meter_start(&v->meter, "verify",
		       v->o->level == VERIFY_DEEP ? "checks" : "packs", copies,
		       v->target_est * n_sel);
}

/* One copy checked (one pass of it). */
static void meter_copy(struct verify *v, const struct vpack *p)
{
	v->meter.done++;
	if (v->o->level != VERIFY_QUICK)
		v->meter.bytes += p->size;
	rv_meter_show(&v->meter);
}

/* ---- small helpers ---------------------------------------------------- */

const char *verify_level_name(enum verify_level level)
{
	return level == VERIFY_QUICK  ? "quick"
	       : level == VERIFY_DEEP ? "deep"
				      : "hash";
}

int verify_level_parse(const char *name)
{
	if (!strcmp(name, "quick"))
		return VERIFY_QUICK;
	if (!strcmp(name, "hash"))
		return VERIFY_HASH;
	if (!strcmp(name, "deep"))
		return VERIFY_DEEP;
	return -1;
}

const char *verify_outcome_name(enum verify_outcome o)
{
	switch (o) {
	case VERIFY_OK:
		return "ok";
	case VERIFY_REPAIRABLE:
		return "repairable";
	case VERIFY_FAILED:
		return "failed";
	default:
		return "damaged";
	}
}

static int list_add(struct verify_list *l, const char *what, const char *target,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int list_add(struct verify_list *l, const char *what, const char *target,
		    const char *fmt, ...)
{
	struct verify_item *it;
	char why[1024];
	va_list ap;
	int rc;

	rc = rv_array_grow((void **)&l->items, &l->cap, l->n + 1,
			   sizeof(*l->items));
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	it = &l->items[l->n];
	it->what = strdup(what);
	it->target = target ? strdup(target) : NULL;
	it->why = strdup(why);
	if (!it->what || !it->why || (target && !it->target)) {
		free(it->what);
		free(it->target);
		free(it->why);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	l->n++;
	return 0;
}

static void list_release(struct verify_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].what);
		free(l->items[i].target);
		free(l->items[i].why);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static const char *tname(struct verify *v, size_t t)
{
	return store_target_name(v->s, t);
}

static void pack_name(char *out, size_t size, const char *pack_id)
{
	snprintf(out, size, "packs/%.2s/%s", pack_id, pack_id);
}

static int hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The pack entry for id, added (with size) when absent. */
static int pack_get(struct vpack **out, struct verify *v, const char *id,
		    uint64_t size)
{
	long idx = rv_set_index(&v->pack_ids, id, 64);
	struct vpack *p;
	int rc;

	if (idx >= 0) {
		*out = &v->packs[idx];
		return 0;
	}
	rc = rv_array_grow((void **)&v->packs, &v->cap_packs, v->n_packs + 1,
			   sizeof(*v->packs));
	if (rc)
		return rc;
	p = &v->packs[v->n_packs];
	memset(p, 0, sizeof(*p));
	memcpy(p->id, id, 64);
	p->size = size;
	p->state = calloc(v->n_targets, 1);
	p->located = calloc(v->n_targets, 1);
	p->verified_at = calloc(v->n_targets, sizeof(*p->verified_at));
	if (!p->state || !p->located || !p->verified_at) {
		free(p->state);
		free(p->located);
		free(p->verified_at);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	rc = rv_set_add(&v->pack_ids, id, 64);
	if (rc < 0) {
		free(p->state);
		free(p->located);
		free(p->verified_at);
		return rc;
	}
	v->n_packs++;
	*out = p;
	return 0;
}

static struct vsnap *vsnap_push(struct vsnap **arr, size_t *n, size_t *cap,
				const char *id)
{
	struct vsnap *sn;

	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 16;
		void *p = realloc(*arr, ncap * sizeof(**arr));

		if (!p) {
			rv_err_set(RV_NOMEM, "out of memory");
			return NULL;
		}
		*arr = p;
		*cap = ncap;
	}
	sn = &(*arr)[(*n)++];
	memset(sn, 0, sizeof(*sn));
	snprintf(sn->id, sizeof(sn->id), "%s", id);
	return sn;
}

static struct vsnap *snap_add(struct verify *v, const char *id)
{
	return vsnap_push(&v->snaps, &v->n_snaps, &v->cap_snaps, id);
}

static void vsnap_release(struct vsnap *sn)
{
	free(sn->former);
	sn->former = NULL;
	sn->n_former = 0;
}

/* 1 when hash is one of sn's chain hashes: its text's or a former one. */
static int vsnap_has_hash(const struct vsnap *sn, const char *hash)
{
	if (!*hash)
		return 0;
	if (!strcmp(sn->self, hash))
		return 1;
	for (size_t i = 0; i < sn->n_former; i++)
		if (!strcmp(sn->former[i], hash))
			return 1;
	return 0;
}

static void iso_date(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, size, "%lld", (long long)t);
}

/* ---- seals and records ------------------------------------------------ */

enum small_state {
	SMALL_UNCHECKED = 0,
	SMALL_ABSENT,
	SMALL_BAD,
	SMALL_GOOD,
	SMALL_FAILED,
};

/* Parse a verified seal text into sn (and, keyless, its packs). Fails
 * (message set) when the text is malformed or names another snapshot or
 * store. */
static int seal_parse(struct verify *v, struct vsnap *sn, const char *text,
		      size_t len, int take_packs)
{
	struct seal_text seal;
	int rc = seal_text_parse(&seal, text, len);

	if (!rc && (strcmp(seal.store_id, store_id(v->s)) ||
		    strcmp(seal.snapshot, sn->id)))
		rc = rv_err_set(RV_CORRUPT,
				"the seal names snapshot %.12s of store %s",
				seal.snapshot, seal.store_id);
	for (size_t i = 0; !rc && take_packs && i < seal.n_packs; i++) {
		struct vpack *vp = NULL;

		rc = pack_get(&vp, v, seal.packs[i].id, seal.packs[i].size);
		if (!rc && !rv_strlist_has(&vp->sealed_by, sn->id))
			rc = rv_strlist_add(&vp->sealed_by, sn->id);
	}
	if (!rc && seal.n_former) {
		sn->former = malloc(seal.n_former * sizeof(*sn->former));
		if (!sn->former)
			rc = rv_err_set(RV_NOMEM, "out of memory");
		else
			memcpy(sn->former, seal.former,
			       seal.n_former * sizeof(*sn->former));
		sn->n_former = sn->former ? seal.n_former : 0;
	}
	if (rc)
		goto done;
	sn->sequence = seal.sequence;
	sn->time = seal.time;
	sn->forgotten = seal.forgotten;
	sn->forgotten_at = seal.forgotten_at;
	memcpy(sn->previous, seal.previous, sizeof(sn->previous));
	memcpy(sn->record, seal.record, sizeof(sn->record));
	memcpy(sn->self, seal.self, sizeof(sn->self));
	sn->seal_good = 1;
done:
	seal_text_release(&seal);
	return rc;
}

/* Read every target's copy of seals/<id>; the first good one fills sn. */
static int check_seal(struct verify *v, struct vsnap *sn, int take_packs,
		      enum small_state *st)
{
	struct rv_buf file = RV_BUF_INIT(SEAL_FILE_MAX);
	struct rv_buf text = RV_BUF_INIT(SEAL_FILE_MAX);
	char name[96];
	int rc = 0;

	snprintf(name, sizeof(name), "seals/%s", sn->id);
	for (size_t t = 0; !rc && t < v->n_targets; t++) {
		rv_buf_reset(&file);
		rv_buf_reset(&text);
		st[t] = SMALL_UNCHECKED;
		rc = target_get(store_target(v->s, t), name, &file);
		if (rc == RV_NOTFOUND) {
			st[t] = SMALL_ABSENT;
			rc = 0;
			continue;
		}
		if (rc == RV_NOMEM)
			break;
		if (rc == RV_TOOBIG) {
			st[t] = SMALL_BAD;
			rc = 0;
			continue;
		}
		if (rc) {
			st[t] = SMALL_FAILED;
			rc = v->selected[t]
				 ? list_add(&v->r->failed, name, tname(v, t),
					    "cannot read: %s", rv_err_msg())
				 : 0;
			continue;
		}
		v->r->seals_checked += v->selected[t];
		rc = store_seal_verify(&text, store_public_key(v->s), file.data,
				       file.len);
		if (rc == RV_NOMEM)
			break;
		if (!rc && !sn->seal_good)
			rc = seal_parse(v, sn, (const char *)text.data,
					text.len, take_packs);
		else if (!rc) {
			/* another good copy: it must be the same seal */
			unsigned char sha[32];
			char hex[65];

			rc = rv_sha256_buf(sha, text.data, text.len);
			if (rc)
				break;
			rv_hex_encode(hex, sha, 32);
			if (strcmp(hex, sn->self))
				rc = v->selected[t]
					 ? list_add(&v->r->notes, name,
						    tname(v, t),
						    "a good seal that differs "
						    "from the one on another "
						    "target")
					 : 0;
			if (rc)
				break;
		}
		if (rc == RV_NOMEM)
			break;
		if (rc == RV_UNSUPPORTED) {
			/* a newer regvault's seal: not damage, not checked */
			st[t] = SMALL_FAILED;
			rc = v->selected[t]
				 ? list_add(&v->r->failed, name, tname(v, t),
					    "cannot check: %s", rv_err_msg())
				 : 0;
			continue;
		}
		st[t] = rc ? SMALL_BAD : SMALL_GOOD;
		rc = 0;
	}
	rv_buf_release(&file);
	rv_buf_release(&text);
	return rc;
}

/* Hash every target's copy of snapshots/<id> against the seal. */
static int check_record(struct verify *v, struct vsnap *sn,
			enum small_state *st)
{
	struct rv_buf file = RV_BUF_INIT(RECORD_FILE_MAX);
	unsigned char sha[32];
	char name[96], hex[65];
	int rc = 0;

	snprintf(name, sizeof(name), "snapshots/%s", sn->id);
	for (size_t t = 0; !rc && t < v->n_targets; t++) {
		rv_buf_reset(&file);
		st[t] = SMALL_UNCHECKED;
		rc = target_get(store_target(v->s, t), name, &file);
		if (rc == RV_NOTFOUND || rc == RV_TOOBIG) {
			st[t] = rc == RV_NOTFOUND ? SMALL_ABSENT : SMALL_BAD;
			rc = 0;
			continue;
		}
		if (rc == RV_NOMEM)
			break;
		if (rc) {
			st[t] = SMALL_FAILED;
			rc = v->selected[t]
				 ? list_add(&v->r->failed, name, tname(v, t),
					    "cannot read: %s", rv_err_msg())
				 : 0;
			continue;
		}
		v->r->records_checked += v->selected[t];
		rc = rv_sha256_buf(sha, file.data, file.len);
		if (rc)
			break;
		rv_hex_encode(hex, sha, 32);
		st[t] = strcmp(hex, sn->record) ? SMALL_BAD : SMALL_GOOD;
	}
	rv_buf_release(&file);
	return rc;
}

/* Report the selected targets' bad copies of a seal or record; *lost when
 * no target holds a good one. */
static int report_small(struct verify *v, const char *name,
			const enum small_state *st, const char *bad_why,
			int *lost)
{
	size_t good = v->n_targets, failed = 0;
	int rc = 0;

	for (size_t t = 0; t < v->n_targets; t++) {
		if (st[t] == SMALL_GOOD && good == v->n_targets)
			good = t;
		failed += st[t] == SMALL_FAILED;
	}
	*lost = good == v->n_targets && !failed;
	for (size_t t = 0; !rc && t < v->n_targets; t++) {
		if (!v->selected[t] ||
		    (st[t] != SMALL_ABSENT && st[t] != SMALL_BAD))
			continue;
		if (good < v->n_targets)
			rc = list_add(&v->r->damaged, name, tname(v, t),
				      "%s; a good copy is on '%s' (run "
				      "'regvault repair')",
				      st[t] == SMALL_ABSENT ? "missing"
							    : bad_why,
				      tname(v, good));
		else
			rc = list_add(&v->r->damaged, name, tname(v, t),
				      "%s; no good copy on any target",
				      st[t] == SMALL_ABSENT ? "missing"
							    : bad_why);
	}
	return rc;
}

static int lost_snapshot(struct verify *v, struct vsnap *sn, const char *why)
{
	int rc = 0;

	if (!sn->lost) {
		char name[96];

		sn->lost = 1;
		v->r->lost_other = 1;
		snprintf(name, sizeof(name), "snapshot %s", sn->id);
		rc = list_add(&v->r->problems, name, NULL, "%s", why);
	}
	if (!rc && !rv_strlist_has(&v->r->lost_snapshots, sn->id))
		rc = rv_strlist_add(&v->r->lost_snapshots, sn->id);
	return rc;
}

static int check_snapshot_files(struct verify *v, struct vsnap *sn,
				int take_packs)
{
	enum small_state *st = calloc(v->n_targets, sizeof(*st));
	char name[96];
	int rc, lost = 0;

	if (!st)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = check_seal(v, sn, take_packs, st);
	snprintf(name, sizeof(name), "seals/%s", sn->id);
	if (!rc)
		rc = report_small(v, name, st,
				  "its signature does not verify with the "
				  "store's public key (or it names another "
				  "snapshot)",
				  &lost);
	if (!rc && !sn->seal_good)
		rc = lost_snapshot(v, sn,
				   lost ? "no target holds a seal that "
					  "verifies: the snapshot cannot be "
					  "trusted or restored"
					: "no readable seal");
	if (!rc && sn->seal_good && !sn->forgotten) {
		rc = check_record(v, sn, st);
		snprintf(name, sizeof(name), "snapshots/%s", sn->id);
		if (!rc)
			rc = report_small(v, name, st,
					  "its bytes differ from what its seal "
					  "names",
					  &lost);
		if (!rc && lost)
			rc = lost_snapshot(v, sn,
					   "no target holds its record as "
					   "sealed: the snapshot cannot be "
					   "restored");
	}
	free(st);
	return rc;
}

static int snap_by_sequence(const void *a, const void *b)
{
	const struct vsnap *x = a, *y = b;

	if (x->sequence != y->sequence)
		return x->sequence < y->sequence ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The chain of good seals (the snapshots' and the links'): sequences 1,
 * 2, ... each naming one of the previous seal's hashes (its text's, or one
 * its text replaced: forget and prune re-sign seals and keep the old
 * hashes in "former"). A gap or a wrong link means a seal was deleted,
 * rolled back or forged. Two seals with one number (an interrupted backup
 * whose seal was put but whose catalog commit failed, or two hosts with
 * catalogs of their own writing to one store: the chain forks) are noted
 * only; a seal may link to any seal of the number before it. */
static int check_chain(struct verify *v)
{
	struct vsnap *sorted = NULL;
	size_t n = 0;
	long long newest = 0;
	char *meta = NULL;
	int rc = 0;

	sorted =
	    malloc((v->n_snaps + v->n_links ? v->n_snaps + v->n_links : 1) *
		   sizeof(*sorted));
	if (!sorted)
		return rv_err_set(RV_NOMEM, "out of memory");
	/* shallow copies: sorted owns nothing */
	for (size_t i = 0; i < v->n_snaps; i++)
		if (v->snaps[i].seal_good)
			sorted[n++] = v->snaps[i];
	for (size_t i = 0; i < v->n_links; i++)
		if (v->links[i].seal_good)
			sorted[n++] = v->links[i];
	qsort(sorted, n, sizeof(*sorted), snap_by_sequence);
	for (size_t i = 0; !rc && i < n; i++) {
		const struct vsnap *cur = &sorted[i],
				   *prev = i ? &sorted[i - 1] : NULL;
		char what[96];

		snprintf(what, sizeof(what), "seals/%s", cur->id);
		if (!prev) {
			if (cur->sequence != 1 || *cur->previous)
				rc = list_add(&v->r->notes, what, NULL,
					      "the oldest seal is number %lld: "
					      "earlier snapshots are gone",
					      cur->sequence);
			continue;
		}
		if (cur->sequence == prev->sequence) {
			rc = list_add(&v->r->notes, what, NULL,
				      "seal number %lld also names snapshot "
				      "%.12s (an interrupted backup?)",
				      cur->sequence, prev->id);
			continue;
		}
		if (cur->sequence != prev->sequence + 1) {
			v->r->lost_other = 1;
			rc = list_add(&v->r->problems, what, NULL,
				      "the chain of seals is broken: number "
				      "%lld follows %lld (a snapshot was "
				      "deleted or rolled back)",
				      cur->sequence, prev->sequence);
		} else {
			/* any seal of the number before will do: numbers
			 * repeat where chains fork (an interrupted backup,
			 * or two hosts, each with its catalog, backing up
			 * into one store) */
			int linked = 0;

			for (size_t k = i; !linked && k-- > 0 &&
					   sorted[k].sequence >= prev->sequence;)
				linked = sorted[k].sequence == prev->sequence &&
					 vsnap_has_hash(&sorted[k],
							cur->previous);
			if (!linked) {
				v->r->lost_other = 1;
				rc = list_add(&v->r->problems, what, NULL,
					      "the chain of seals is broken: "
					      "seal %lld does not name seal "
					      "%lld as its previous",
					      cur->sequence, prev->sequence);
			}
		}
	}
	if (!rc && n)
		newest = sorted[n - 1].sequence;
	if (!rc && v->c && cat_meta_get(&meta, v->c, "seal_sequence") == 0) {
		long long want = strtoll(meta, NULL, 10);

		if (want > newest) {
			v->r->lost_other = 1;
			rc =
			    list_add(&v->r->problems, "seals/", NULL,
				     "the newest seal on the targets is number "
				     "%lld but the catalog has recorded %lld: "
				     "newer snapshots were deleted or rolled "
				     "back",
				     newest, want);
		}
	}
	rv_err_clear();
	free(meta);
	free(sorted);
	return rc;
}

/* ---- what to check ------------------------------------------------------ */

static int add_catalog_pack(void *arg, const char *pack_id, uint64_t size)
{
	struct vpack *p;

	return pack_get(&p, arg, pack_id, size);
}

static int seal_name_ok(const char *name)
{
	return !strncmp(name, "seals/", 6) && hex64(name + 6);
}

/* The snapshot ids of every seal any target lists, sorted; a target that
 * cannot be listed goes to the failed list. *listed counts the others. */
static int list_seal_names(struct verify *v, struct rv_strlist *names,
			   size_t *listed)
{
	struct rv_strlist here = RV_STRLIST_INIT;
	struct rv_set seen = RV_SET_INIT;
	int rc = 0;

	*listed = 0;
	for (size_t t = 0; !rc && t < v->n_targets; t++) {
		rv_strlist_release(&here);
		rc = target_list(store_target(v->s, t), "seals/", &here);
		if (rc == RV_NOMEM)
			break;
		if (rc) {
			rc = list_add(&v->r->failed, "seals/", tname(v, t),
				      "cannot list: %s", rv_err_msg());
			continue;
		}
		(*listed)++;
		for (size_t i = 0; !rc && i < here.n; i++) {
			if (!seal_name_ok(here.items[i]))
				continue;
			rc = rv_set_add(&seen, here.items[i] + 6, 64);
			if (rc == 1)
				rc = rv_strlist_add(names, here.items[i] + 6);
		}
	}
	rv_strlist_release(&here);
	rv_set_release(&seen);
	rv_strlist_sort(names);
	return rc;
}

/* Catalog mode: seals on the targets that the catalog does not list still
 * hold their places in the chain: tombstones of forgotten snapshots, and
 * snapshots another host backed up (or whose backup stopped after its
 * seal). Each is verified on every target and becomes a chain link. */
static int add_chain_links(struct verify *v)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	struct rv_set known = RV_SET_INIT;
	enum small_state *st =
	    calloc(v->n_targets ? v->n_targets : 1, sizeof(*st));
	size_t listed = 0;
	int rc = 0;

	if (!st)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; rc >= 0 && i < v->n_snaps; i++)
		rc = rv_set_add(&known, v->snaps[i].id, 64);
	if (rc >= 0)
		rc = list_seal_names(v, &names, &listed);
	for (size_t i = 0; !rc && i < names.n; i++) {
		struct vsnap *sn;
		char name[96], what[96];
		int lost = 0;

		if (rv_set_has(&known, names.items[i], 64))
			continue;
		sn = vsnap_push(&v->links, &v->n_links, &v->cap_links,
				names.items[i]);
		if (!sn) {
			rc = RV_NOMEM;
			break;
		}
		rc = check_seal(v, sn, 0, st);
		snprintf(name, sizeof(name), "seals/%s", sn->id);
		if (!rc)
			rc = report_small(v, name, st,
					  "its signature does not verify with "
					  "the store's public key (or it names "
					  "another snapshot)",
					  &lost);
		if (rc || !sn->seal_good) {
			vsnap_release(sn);
			v->n_links--;
			continue;
		}
		snprintf(what, sizeof(what), "snapshot %s", sn->id);
		if (!sn->forgotten)
			rc = list_add(&v->r->notes, what, NULL,
				      "snapshot on the targets but not in the "
				      "catalog: run 'regvault catalog "
				      "rebuild', or it is another host's "
				      "backup");
	}
	free(st);
	rv_set_release(&known);
	rv_strlist_release(&names);
	return rc;
}

static int plan_from_catalog(struct verify *v)
{
	struct cat_snapshot *list = NULL;
	size_t n = 0;
	int rc = 0;

	if (v->o->snapshot) {
		struct cat_snapshot one;

		rc = cat_snapshot_find(&one, v->c, v->o->snapshot);
		if (rc == RV_NOTFOUND)
			rc = RV_INVALID; /* a usage error; message kept */
		if (!rc && !snap_add(v, one.id))
			rc = RV_NOMEM;
		if (!rc)
			snprintf(v->r->scope, sizeof(v->r->scope),
				 "snapshot %s", one.id);
	} else {
		rc = cat_snapshot_list(&list, &n, v->c);
		for (size_t i = 0; !rc && i < n; i++)
			if (!snap_add(v, list[i].id))
				rc = RV_NOMEM;
		snprintf(v->r->scope, sizeof(v->r->scope), "all snapshots");
	}
	free(list);
	for (size_t i = 0; !rc && i < v->n_snaps; i++)
		rc = cat_snapshot_packs(v->c, v->snaps[i].id, add_catalog_pack,
					v);
	for (size_t i = 0; !rc && store_signs(v->s) && i < v->n_snaps; i++) {
		struct vsnap *sn = &v->snaps[i];
		char what[96], when[40];

		rc = check_snapshot_files(v, sn, 0);
		if (rc || !sn->forgotten)
			continue;
		/* forget signs the tombstone, then drops the catalog rows */
		iso_date(when, sizeof(when), sn->forgotten_at);
		snprintf(what, sizeof(what), "snapshot %s", sn->id);
		rc = list_add(&v->r->notes, what, NULL,
			      "forgotten on %s but still in the catalog (an "
			      "interrupted 'regvault forget'?): run 'regvault "
			      "forget' again, or 'regvault catalog rebuild'",
			      when);
	}
	if (!rc && store_signs(v->s) && !v->o->snapshot)
		rc = add_chain_links(v);
	if (!rc && store_signs(v->s) && !v->o->snapshot)
		rc = check_chain(v);
	return rc;
}

/* Move the tombstones among the snapshots to the chain links: a forgotten
 * snapshot has no record or packs to check. */
static int snaps_to_links(struct verify *v)
{
	size_t kept = 0;

	for (size_t i = 0; i < v->n_snaps; i++) {
		struct vsnap *sn;

		if (!v->snaps[i].forgotten) {
			v->snaps[kept++] = v->snaps[i];
			continue;
		}
		sn = vsnap_push(&v->links, &v->n_links, &v->cap_links,
				v->snaps[i].id);
		if (!sn) {
			/* what is left in snaps[i..] is released with it */
			memmove(&v->snaps[kept], &v->snaps[i],
				(v->n_snaps - i) * sizeof(*v->snaps));
			v->n_snaps = kept + (v->n_snaps - i);
			return RV_NOMEM;
		}
		*sn = v->snaps[i]; /* takes over its former hashes */
	}
	v->n_snaps = kept;
	return 0;
}

/* Keyless: the seals on the targets are the list of snapshots (and the
 * tombstones, links of the chain). */
static int plan_from_seals(struct verify *v)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	const char *ref = v->o->snapshot;
	size_t listed = 0;
	char when[40];
	int rc = list_seal_names(v, &names, &listed);

	if (!rc && !listed)
		rc = rv_err_set(RV_IO, "no target could be listed");
	/* which snapshots: every one, or the one ref names */
	if (!rc && ref && strcmp(ref, "latest")) {
		size_t len = strlen(ref), match = 0, at = 0;

		for (size_t i = 0; len >= 4 && i < names.n; i++)
			if (!strncmp(names.items[i], ref, len)) {
				match++;
				at = i;
			}
		if (len < 4 || len > 64)
			rc = rv_err_set(RV_INVALID,
					"snapshot '%.80s': give 'latest' or at "
					"least 4 hex digits of its id",
					ref);
		else if (!match)
			rc = rv_err_set(RV_INVALID,
					"no seal on any target names snapshot "
					"'%s'",
					ref);
		else if (match > 1)
			rc =
			    rv_err_set(RV_INVALID,
				       "snapshot prefix '%s' is ambiguous: %zu "
				       "seals match (give more of the id)",
				       ref, match);
		else if (!snap_add(v, names.items[at]))
			rc = RV_NOMEM;
		if (!rc)
			rc = check_snapshot_files(v, &v->snaps[0], 1);
		if (!rc && v->snaps[0].forgotten) {
			iso_date(when, sizeof(when), v->snaps[0].forgotten_at);
			rc = rv_err_set(RV_INVALID,
					"snapshot %s was forgotten on %s "
					"('regvault forget'): there is nothing "
					"to verify",
					v->snaps[0].id, when);
		}
	} else if (!rc && ref) {
		/* latest: the good seal of a snapshot (not a tombstone) with
		 * the highest sequence */
		struct vsnap best;
		size_t found = 0;

		memset(&best, 0, sizeof(best));
		for (size_t i = 0; !rc && i < names.n; i++) {
			struct vsnap *sn = snap_add(v, names.items[i]);
			enum small_state *st;

			if (!sn) {
				rc = RV_NOMEM;
				break;
			}
			st = calloc(v->n_targets, sizeof(*st));
			rc = st ? check_seal(v, sn, 0, st)
				: rv_err_set(RV_NOMEM, "out of memory");
			free(st);
			if (!rc && sn->seal_good && !sn->forgotten &&
			    (!found || sn->sequence > best.sequence)) {
				memcpy(best.id, sn->id, sizeof(best.id));
				best.sequence = sn->sequence;
				found = 1;
			}
		}
		for (size_t i = 0; i < v->n_snaps; i++)
			vsnap_release(&v->snaps[i]);
		v->n_snaps = 0;
		/* the seal checks above counted nothing as reported */
		v->r->seals_checked = 0;
		if (!rc && !found)
			rc = rv_err_set(RV_INVALID,
					"no seal on any target verifies: there "
					"is no latest snapshot");
		if (!rc && !snap_add(v, best.id))
			rc = RV_NOMEM;
		if (!rc)
			rc = check_snapshot_files(v, &v->snaps[0], 1);
	} else {
		for (size_t i = 0; !rc && i < names.n; i++)
			if (!snap_add(v, names.items[i]))
				rc = RV_NOMEM;
		for (size_t i = 0; !rc && i < v->n_snaps; i++)
			rc = check_snapshot_files(v, &v->snaps[i], 1);
		if (!rc)
			rc = snaps_to_links(v);
		if (!rc)
			rc = check_chain(v);
	}
	if (!rc && ref)
		snprintf(v->r->scope, sizeof(v->r->scope), "snapshot %s",
			 v->snaps[0].id);
	else if (!rc)
		snprintf(v->r->scope, sizeof(v->r->scope),
			 "all snapshots (from their seals)");
	rv_strlist_release(&names);
	return rc;
}

/* ---- checking copies ------------------------------------------------------
 */

/* Check target t's copy of p at the pack level: stat (quick) or hash. */
static int check_copy(struct verify *v, struct vpack *p, size_t t)
{
	char name[96];
	enum store_copy state = STORE_COPY_FAILED;
	uint64_t size = 0;
	int rc;

	pack_name(name, sizeof(name), p->id);
	if (v->o->level == VERIFY_QUICK) {
		rc = target_stat(store_target(v->s, t), name, &size);
		if (rc == RV_NOTFOUND)
			state = STORE_COPY_ABSENT;
		else if (rc == RV_NOMEM)
			return rc;
		else if (!rc)
			state =
			    size == p->size ? STORE_COPY_GOOD : STORE_COPY_BAD;
	} else {
		rc = store_pack_hash(&state, &size, v->s, t, p->id, -1);
		if (rc)
			return rc;
		if (state == STORE_COPY_GOOD || state == STORE_COPY_BAD)
			v->r->bytes_checked += size;
	}
	p->state[t] = (unsigned char)state;
	if (state == STORE_COPY_FAILED)
		return list_add(&v->r->failed, name, tname(v, t),
				"cannot read: %s", rv_err_msg());
	return 0;
}

/* Mark p damaged on t for a reason found after its pack-level check. */
static int mark_bad(struct verify *v, struct vpack *p, size_t t,
		    const char *why)
{
	char name[96];

	if (p->state[t] == STORE_COPY_BAD || p->state[t] == STORE_COPY_ABSENT)
		return 0;
	pack_name(name, sizeof(name), p->id);
	p->state[t] = STORE_COPY_BAD;
	return list_add(&v->r->notes, name, tname(v, t), "%s", why);
}

/* Deep: reassemble one blob (or manifest) from target t. */
static int deep_blob(struct verify *v, size_t t, const char *digest,
		     struct rv_set *authenticated)
{
	struct cat_chunk_loc *locs = NULL;
	struct rv_buf plain = RV_BUF_INIT((size_t)1 << 30);
	struct rv_sha256 h;
	unsigned char sha[32];
	char got[RV_DIGEST_MAX];
	uint64_t total = 0;
	int64_t size = 0;
	size_t n = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	rc = cat_blob_chunks(&locs, &n, &size, v->c, digest);
	if (rc == RV_NOTFOUND) {
		rv_err_clear();
		return 0; /* a blob of a pack that never completed */
	}
	if (!rc)
		rc = rv_sha256_init(&h);
	for (size_t i = 0; !rc && i < n; i++) {
		struct vpack *q = NULL;
		long idx = rv_set_index(&v->pack_ids, locs[i].pack_id, 64);

		rv_buf_reset(&plain);
		rc = store_read_chunk_at(v->s, t, locs[i].pack_id,
					 locs[i].offset, locs[i].length,
					 locs[i].id, &plain);
		if (rc == RV_NOMEM || rc == RV_KEY || rc == RV_INVALID)
			goto done;
		if (idx >= 0)
			q = &v->packs[idx];
		if (rc == RV_CORRUPT || rc == RV_NOTFOUND) {
			char what[RV_DIGEST_MAX + 16], name[96];
			const char *why = rv_err_msg();

			snprintf(what, sizeof(what), "blob %s", digest);
			rc = list_add(&v->r->notes, what, tname(v, t),
				      "cannot be reassembled: %s", why);
			if (!rc && q) {
				rc = mark_bad(v, q, t, why);
			} else if (!rc) {
				/* a pack the selected snapshots do not need */
				pack_name(name, sizeof(name), locs[i].pack_id);
				rc = list_add(&v->r->damaged, name, tname(v, t),
					      "%s (run 'regvault verify "
					      "--level hash' to see whether "
					      "another target holds a good "
					      "copy)",
					      why);
			}
			goto done;
		}
		if (rc) {
			rc = list_add(&v->r->failed, digest, tname(v, t),
				      "cannot read: %s", rv_err_msg());
			goto done;
		}
		v->r->chunks_checked +=
		    rv_set_add(authenticated, locs[i].id, 32) == 1;
		total += plain.len;
		rc = rv_sha256_update(&h, plain.data, plain.len);
	}
	if (!rc)
		rc = rv_sha256_final(&h, sha);
	if (rc)
		goto done;
	rv_digest_format(got, sha);
	v->r->blobs_checked++;
	if (strcmp(got, digest) || total != (uint64_t)size) {
		char what[RV_DIGEST_MAX + 16];

		snprintf(what, sizeof(what), "blob %s", digest);
		v->r->lost_other = 1;
		rc = list_add(&v->r->problems, what, tname(v, t),
			      "its chunks reassemble to %s (%llu bytes): the "
			      "catalog's chunk list is wrong (rebuild the "
			      "catalog)",
			      got, (unsigned long long)total);
	}
done:
	rv_sha256_release(&h);
	rv_buf_release(&plain);
	free(locs);
	return rc;
}

/* Deep: every blob with a chunk in p, then p's remaining chunks. */
static int deep_pack(struct verify *v, struct vpack *p, size_t t,
		     struct rv_set *blobs_done, struct rv_set *authenticated)
{
	struct rv_strlist digests = RV_STRLIST_INIT;
	struct cat_chunk_loc *locs = NULL;
	struct rv_buf plain = RV_BUF_INIT((size_t)1 << 30);
	size_t n = 0;
	int rc = cat_pack_blobs(&digests, v->c, p->id);

	for (size_t i = 0; !rc && i < digests.n; i++) {
		if (p->state[t] != STORE_COPY_GOOD)
			break;
		rc = rv_set_add(blobs_done, digests.items[i],
				strlen(digests.items[i]));
		if (rc == 1)
			rc = deep_blob(v, t, digests.items[i], authenticated);
	}
	if (!rc)
		rc = cat_pack_chunks(&locs, &n, v->c, p->id);
	for (size_t i = 0; !rc && i < n && p->state[t] == STORE_COPY_GOOD;
	     i++) {
		if (rv_set_has(authenticated, locs[i].id, 32))
			continue;
		rv_buf_reset(&plain);
		rc = store_read_chunk_at(v->s, t, p->id, locs[i].offset,
					 locs[i].length, locs[i].id, &plain);
		if (rc == RV_CORRUPT || rc == RV_NOTFOUND) {
			rc = mark_bad(v, p, t, rv_err_msg());
			break;
		}
		if (rc == RV_NOMEM || rc == RV_KEY || rc == RV_INVALID)
			break;
		if (rc) {
			rc = list_add(&v->r->failed, p->id, tname(v, t),
				      "cannot read: %s", rv_err_msg());
			break;
		}
		v->r->chunks_checked++;
		rc = rv_set_add(authenticated, locs[i].id, 32);
		rc = rc < 0 ? rc : 0;
	}
	rv_buf_release(&plain);
	free(locs);
	rv_strlist_release(&digests);
	return rc;
}

/* Order for --sample: least recently verified first, ties at random. */
struct pick {
	size_t pack;
	int64_t verified_at;
	uint32_t salt;
};

static int pick_cmp(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	if (x->verified_at != y->verified_at)
		return x->verified_at < y->verified_at ? -1 : 1;
	if (x->salt != y->salt)
		return x->salt < y->salt ? -1 : 1;
	return x->pack < y->pack ? -1 : x->pack > y->pack;
}

/* Load what the catalog remembers of each pack on target t. */
static int load_times(struct verify *v, size_t t)
{
	struct cat_pack_seen *seen = NULL;
	size_t n = 0;
	int rc;

	if (!v->c)
		return 0;
	rc = cat_pack_verify_times(&seen, &n, v->c, tname(v, t));
	for (size_t i = 0; !rc && i < n; i++) {
		long idx = rv_set_index(&v->pack_ids, seen[i].pack_id, 64);

		if (idx < 0)
			continue;
		v->packs[idx].verified_at[t] = seen[i].verified_at;
		v->packs[idx].located[t] = (unsigned char)seen[i].located;
	}
	free(seen);
	return rc;
}

/* Record the good copies of this run on target t in one transaction. */
static int record_times(struct verify *v, size_t t, const size_t *checked,
			size_t n_checked)
{
	int rc;

	if (!v->c || v->o->level == VERIFY_QUICK || !n_checked)
		return 0;
	rc = cat_begin(v->c);
	for (size_t i = 0; !rc && i < n_checked; i++) {
		struct vpack *p = &v->packs[checked[i]];

		if (p->state[t] != STORE_COPY_GOOD)
			continue;
		if (!p->located[t]) {
			char name[96];

			pack_name(name, sizeof(name), p->id);
			rc = list_add(&v->r->notes, name, tname(v, t),
				      "checks out, but the catalog does not "
				      "record it on this target (run "
				      "'regvault repair')");
			continue;
		}
		rc = cat_pack_location_verified(v->c, p->id, tname(v, t),
						v->now);
	}
	if (!rc)
		rc = cat_commit(v->c);
	if (rc)
		cat_rollback(v->c);
	return rc;
}

static int check_target(struct verify *v, size_t t)
{
	struct pick *picks = NULL;
	size_t *checked = NULL, n_pick, n_checked = 0;
	struct rv_set blobs_done = RV_SET_INIT, authenticated = RV_SET_INIT;
	int rc = load_times(v, t);

	if (rc)
		return rc;
	picks = calloc(v->n_packs ? v->n_packs : 1, sizeof(*picks));
	checked = calloc(v->n_packs ? v->n_packs : 1, sizeof(*checked));
	if (!picks || !checked) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < v->n_packs; i++) {
		picks[i].pack = i;
		picks[i].verified_at = v->packs[i].verified_at[t];
		if (RAND_bytes((unsigned char *)&picks[i].salt,
			       sizeof(picks[i].salt)) != 1)
			picks[i].salt = (uint32_t)i;
	}
	n_pick = n_to_pick(v);
	if (v->o->sample) {
		uint64_t picked = 0;

		qsort(picks, v->n_packs, sizeof(*picks), pick_cmp);
		/* this target's bytes, exactly, for the estimate */
		for (size_t i = 0; i < n_pick; i++)
			picked += v->packs[picks[i].pack].size;
		if (v->o->level != VERIFY_QUICK)
			v->meter.bytes_total = v->meter.bytes_total -
					       v->target_est +
					       picked * (uint64_t)v->passes;
	}
	rv_meter_where(&v->meter, tname(v, t));
	rv_meter_show(&v->meter);
	/* the packs known now are the ones to check; deep may add others
	 * (chunks of blobs in other snapshots' packs) */
	for (size_t i = 0; !rc && i < n_pick; i++) {
		struct vpack *p = &v->packs[picks[i].pack];

		checked[n_checked++] = picks[i].pack;
		rc = check_copy(v, p, t);
		v->r->copies_checked++;
		meter_copy(v, p);
	}
	for (size_t i = 0; !rc && v->o->level == VERIFY_DEEP && i < n_checked;
	     i++) {
		struct vpack *p = &v->packs[checked[i]];

		if (p->state[t] == STORE_COPY_GOOD)
			rc = deep_pack(v, p, t, &blobs_done, &authenticated);
		meter_copy(v, p);
	}
	if (!rc)
		rc = record_times(v, t, checked, n_checked);
done:
	rv_set_release(&blobs_done);
	rv_set_release(&authenticated);
	free(picks);
	free(checked);
	return rc;
}

/* ---- what is at risk -------------------------------------------------------
 */

static int assess(struct verify *v)
{
	struct rv_strlist lost_ids = RV_STRLIST_INIT;
	int rc = 0;

	for (size_t i = 0; !rc && i < v->n_packs; i++) {
		struct vpack *p = &v->packs[i];
		struct verify_risk *rk;
		size_t bad = 0, good = 0, failed = 0, checked = 0;
		char name[96];

		for (size_t t = 0; t < v->n_targets; t++) {
			bad += p->state[t] == STORE_COPY_ABSENT ||
			       p->state[t] == STORE_COPY_BAD;
			checked += p->state[t] != 0;
		}
		if (checked)
			v->r->packs_checked++;
		if (!bad)
			continue;
		/* is there a good copy elsewhere? check what was not */
		for (size_t t = 0; !rc && t < v->n_targets; t++)
			if (!p->state[t]) {
				rc = check_copy(v, p, t);
				v->r->copies_checked++;
			}
		if (rc)
			break;
		rk = realloc(v->r->risks,
			     (v->r->n_risks + 1) * sizeof(*v->r->risks));
		if (!rk) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			break;
		}
		v->r->risks = rk;
		rk = &v->r->risks[v->r->n_risks++];
		memset(rk, 0, sizeof(*rk));
		memcpy(rk->pack_id, p->id, 65);
		rk->size = p->size;
		for (size_t t = 0; !rc && t < v->n_targets; t++) {
			if (p->state[t] == STORE_COPY_GOOD) {
				good++;
				rc = rv_strlist_add(&rk->good_on, tname(v, t));
			} else if (p->state[t] == STORE_COPY_FAILED) {
				failed++;
			} else {
				rc = rv_strlist_add(&rk->bad_on, tname(v, t));
			}
		}
		for (size_t j = 0; !rc && j < p->sealed_by.n; j++)
			rc = rv_strlist_add(&rk->sealed_by,
					    p->sealed_by.items[j]);
		rk->lost = !good && !failed;
		pack_name(name, sizeof(name), p->id);
		for (size_t t = 0; !rc && t < v->n_targets; t++) {
			const char *why =
			    p->state[t] == STORE_COPY_ABSENT ? "missing"
			    : v->o->level == VERIFY_QUICK    ? "wrong size"
							     : "damaged";

			if (!v->selected[t] ||
			    (p->state[t] != STORE_COPY_ABSENT &&
			     p->state[t] != STORE_COPY_BAD))
				continue;
			if (good)
				rc = list_add(&v->r->damaged, name, tname(v, t),
					      "%s; a good copy is on '%s' "
					      "(run 'regvault repair')",
					      why, rk->good_on.items[0]);
			else if (rk->lost)
				rc = list_add(&v->r->damaged, name, tname(v, t),
					      "%s; no good copy on any "
					      "target: lost",
					      why);
			else
				rc = list_add(&v->r->damaged, name, tname(v, t),
					      "%s; the other copies could not "
					      "be read",
					      why);
		}
		if (!rc && v->c) {
			struct rv_strlist one = RV_STRLIST_INIT;

			rc = rv_strlist_add(&one, p->id);
			if (!rc)
				rc =
				    cat_packs_needed_by(&rk->needs, v->c, &one);
			rv_strlist_release(&one);
		}
		if (!rc && rk->lost)
			rc = rv_strlist_add(&lost_ids, p->id);
		for (size_t j = 0; !rc && rk->lost && j < rk->sealed_by.n; j++)
			if (!rv_strlist_has(&v->r->lost_snapshots,
					    rk->sealed_by.items[j]))
				rc = rv_strlist_add(&v->r->lost_snapshots,
						    rk->sealed_by.items[j]);
	}
	if (!rc && v->c && lost_ids.n)
		rc = cat_packs_needed_by(&v->r->lost, v->c, &lost_ids);
	for (size_t j = 0; !rc && j < v->r->lost.snapshots.n; j++)
		if (!rv_strlist_has(&v->r->lost_snapshots,
				    v->r->lost.snapshots.items[j]))
			rc = rv_strlist_add(&v->r->lost_snapshots,
					    v->r->lost.snapshots.items[j]);
	rv_strlist_sort(&v->r->lost_snapshots);
	rv_strlist_release(&lost_ids);
	return rc;
}

/* Tags of snapshots lost whole (no seal or record) join the lost tags. */
struct tag_ctx {
	struct cat_needs *nd;
	const char *snap_id;
};

static int add_tag(void *arg, const char *repo, const char *tag,
		   const char *digest)
{
	struct tag_ctx *x = arg;
	struct cat_needs *nd = x->nd;
	struct cat_needs_tag *t;

	for (size_t i = 0; i < nd->n_tags; i++)
		if (!strcmp(nd->tags[i].snap_id, x->snap_id) &&
		    !strcmp(nd->tags[i].repo, repo) &&
		    !strcmp(nd->tags[i].tag, tag))
			return 0;
	t = realloc(nd->tags, (nd->n_tags + 1) * sizeof(*nd->tags));
	if (!t)
		return rv_err_set(RV_NOMEM, "out of memory");
	nd->tags = t;
	t = &nd->tags[nd->n_tags];
	memset(t, 0, sizeof(*t));
	snprintf(t->snap_id, sizeof(t->snap_id), "%s", x->snap_id);
	snprintf(t->manifest, sizeof(t->manifest), "%s", digest);
	t->repo = strdup(repo);
	t->tag = strdup(tag);
	nd->n_tags++;
	if (!t->repo || !t->tag)
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

static int lost_snapshot_tags(struct verify *v)
{
	int rc = 0;

	if (!v->c)
		return 0;
	for (size_t i = 0; !rc && i < v->n_snaps; i++) {
		struct tag_ctx x = {&v->r->lost, v->snaps[i].id};

		if (!v->snaps[i].lost)
			continue;
		rc = cat_snapshot_tags(v->c, v->snaps[i].id, add_tag, &x);
		if (rc == RV_NOTFOUND) {
			rv_err_clear();
			rc = 0;
		}
	}
	return rc;
}

/* ---- the run ---------------------------------------------------------------
 */

int verify_run(struct verify_result *r, struct cat *c, struct store *s,
	       const struct verify_opts *o)
{
	struct verify v;
	double t0 = now_seconds();
	int rc = 0;

	memset(r, 0, sizeof(*r));
	memset(&v, 0, sizeof(v));
	v.r = r;
	v.c = c;
	v.s = s;
	v.o = o;
	v.n_targets = store_target_count(s);
	v.now = (int64_t)time(NULL);
	r->level = o->level;
	r->keyless = o->keyless;
	r->catalog = c != NULL;
	r->sample = (int)o->sample;
	r->started = v.now;
	snprintf(r->store_id, sizeof(r->store_id), "%s", store_id(s));
	r->store_label = strdup(o->store_label ? o->store_label : "");
	v.selected = calloc(v.n_targets ? v.n_targets : 1, 1);
	if (!v.selected || !r->store_label)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t t = 0; t < v.n_targets; t++)
		v.selected[t] = !o->target || !strcmp(o->target, tname(&v, t));
	for (size_t t = 0; !rc && t < v.n_targets; t++)
		if (v.selected[t])
			rc = rv_strlist_add(&r->targets, tname(&v, t));
	if (!rc && !r->targets.n)
		rc =
		    rv_err_set(RV_INVALID, "no target named '%s' in the config",
			       o->target);
	if (!rc && !c && !o->keyless)
		rc = rv_err_set(RV_INVALID, "verify needs a catalog, or "
					    "--keyless");
	if (!rc && o->keyless && !store_signs(s))
		rc = rv_err_set(RV_UNSUPPORTED,
				"store %s (format %d) has no signing key, so "
				"it cannot be checked without its key; run "
				"verify with the catalog instead",
				store_id(s), store_format(s));
	if (!rc && o->level == VERIFY_DEEP && (o->keyless || !c))
		rc = rv_err_set(RV_INVALID,
				"--level deep decrypts every chunk: it needs "
				"the key and the catalog (not --keyless)");
	if (!rc && o->level == VERIFY_DEEP && !store_has_key(s))
		rc = rv_err_set(RV_KEY, "--level deep needs the store's key");
	if (rc)
		goto done;
	rc = o->keyless ? plan_from_seals(&v) : plan_from_catalog(&v);
	if (rc)
		goto done;
	r->snapshots = v.n_snaps;
	r->packs_needed = v.n_packs;
	meter_start(&v);
	for (size_t t = 0; !rc && t < v.n_targets; t++)
		if (v.selected[t])
			rc = check_target(&v, t);
	if (!rc)
		rc = assess(&v);
	if (!rc)
		rc = lost_snapshot_tags(&v);
	for (size_t i = 0; !rc && i < v.n_packs; i++)
		for (size_t t = 0; !rc && t < v.n_targets; t++) {
			const char *res[] = {"", "missing", "damaged", "good",
					     "failed"};

			if (!v.selected[t] || !v.packs[i].state[t])
				continue;
			rc = list_add(&r->checked, v.packs[i].id, tname(&v, t),
				      "%s", res[v.packs[i].state[t] & 7]);
		}
	if (rc)
		goto done;
	r->outcome = VERIFY_OK;
	if (r->damaged.n)
		r->outcome = VERIFY_REPAIRABLE;
	if (r->failed.n)
		r->outcome = VERIFY_FAILED;
	for (size_t i = 0; i < r->n_risks; i++)
		if (r->risks[i].lost)
			r->outcome = VERIFY_LOST;
	if (r->lost_other || r->problems.n)
		r->outcome = VERIFY_LOST;
done:
	rv_progress_done();
	r->finished = (int64_t)time(NULL);
	r->seconds = now_seconds() - t0;
	for (size_t i = 0; i < v.n_packs; i++) {
		free(v.packs[i].state);
		free(v.packs[i].located);
		free(v.packs[i].verified_at);
		rv_strlist_release(&v.packs[i].sealed_by);
	}
	free(v.packs);
	for (size_t i = 0; i < v.n_snaps; i++)
		vsnap_release(&v.snaps[i]);
	for (size_t i = 0; i < v.n_links; i++)
		vsnap_release(&v.links[i]);
	free(v.snaps);
	free(v.links);
	free(v.selected);
	rv_set_release(&v.pack_ids);
	return rc;
}

void verify_result_release(struct verify_result *r)
{
	if (!r)
		return;
	free(r->store_label);
	rv_strlist_release(&r->targets);
	list_release(&r->checked);
	list_release(&r->damaged);
	list_release(&r->problems);
	list_release(&r->failed);
	list_release(&r->notes);
	for (size_t i = 0; i < r->n_risks; i++) {
		rv_strlist_release(&r->risks[i].bad_on);
		rv_strlist_release(&r->risks[i].good_on);
		rv_strlist_release(&r->risks[i].sealed_by);
		cat_needs_release(&r->risks[i].needs);
	}
	free(r->risks);
	cat_needs_release(&r->lost);
	rv_strlist_release(&r->lost_snapshots);
	memset(r, 0, sizeof(*r));
}

/* ---- output ---------------------------------------------------------------
 */

static double mb_per_s(const struct verify_result *r)
{
	return r->seconds > 0 ? (double)r->bytes_checked / 1e6 / r->seconds : 0;
}

static void iso_time(char *buf, size_t size, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%lld", (long long)t);
}

static json_t *strlist_json(const struct rv_strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n; i++)
		if (json_array_append_new(a, json_string(l->items[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *items_json(const struct verify_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n; i++) {
		json_t *o = json_pack("{s:s, s:s}", "name", l->items[i].what,
				      "reason", l->items[i].why);

		if (o && l->items[i].target)
			json_object_set_new(o, "target",
					    json_string(l->items[i].target));
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *tags_json(const struct cat_needs *nd)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < nd->n_tags; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "snapshot",
				      nd->tags[i].snap_id, "repo",
				      nd->tags[i].repo, "tag", nd->tags[i].tag,
				      "digest", nd->tags[i].manifest);

		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *checked_json(const struct verify_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < l->n; i++) {
		json_t *o = json_pack(
		    "{s:s, s:s, s:s}", "pack", l->items[i].what, "target",
		    l->items[i].target, "result", l->items[i].why);

		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *risks_json(const struct verify_result *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < r->n_risks; i++) {
		const struct verify_risk *k = &r->risks[i];
		json_t *o = json_pack(
		    "{s:s, s:I, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		    "pack", k->pack_id, "size", (json_int_t)k->size,
		    "repairable", !k->lost && k->good_on.n > 0, "lost", k->lost,
		    "damaged_on", strlist_json(&k->bad_on), "good_on",
		    strlist_json(&k->good_on), "sealed_by",
		    strlist_json(&k->sealed_by), "snapshots",
		    strlist_json(&k->needs.snapshots), "blobs",
		    strlist_json(&k->needs.blobs), "manifests",
		    strlist_json(&k->needs.manifests), "tags",
		    tags_json(&k->needs));

		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int verify_result_json(char **out, const struct verify_result *r, int exit_code,
		       int pretty)
{
	char started[32], finished[32];
	json_t *doc;

	*out = NULL;
	iso_time(started, sizeof(started), r->started);
	iso_time(finished, sizeof(finished), r->finished);
	doc = json_pack(
	    "{s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:s, s:f, s:i, s:o, s:I, "
	    "s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I}",
	    "level", verify_level_name(r->level), "keyless", r->keyless,
	    "catalog", r->catalog, "store_id", r->store_id, "store",
	    r->store_label ? r->store_label : "", "scope", r->scope, "started",
	    started, "finished", finished, "duration_s", r->seconds, "sample",
	    r->sample, "targets", strlist_json(&r->targets), "snapshots",
	    (json_int_t)r->snapshots, "packs_needed",
	    (json_int_t)r->packs_needed, "packs_checked",
	    (json_int_t)r->packs_checked, "copies_checked",
	    (json_int_t)r->copies_checked, "bytes_checked",
	    (json_int_t)r->bytes_checked, "mb_per_s", mb_per_s(r),
	    "chunks_checked", (json_int_t)r->chunks_checked, "blobs_checked",
	    (json_int_t)r->blobs_checked, "seals_checked",
	    (json_int_t)r->seals_checked, "records_checked",
	    (json_int_t)r->records_checked);
	if (!doc)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (json_object_set_new(doc, "checked", checked_json(&r->checked)) ||
	    json_object_set_new(doc, "damaged", items_json(&r->damaged)) ||
	    json_object_set_new(doc, "problems", items_json(&r->problems)) ||
	    json_object_set_new(doc, "failed", items_json(&r->failed)) ||
	    json_object_set_new(doc, "notes", items_json(&r->notes)) ||
	    json_object_set_new(doc, "at_risk", risks_json(r)) ||
	    json_object_set_new(doc, "lost_snapshots",
				strlist_json(&r->lost_snapshots)) ||
	    json_object_set_new(doc, "lost_tags", tags_json(&r->lost)) ||
	    json_object_set_new(doc, "lost_blobs",
				strlist_json(&r->lost.blobs)) ||
	    json_object_set_new(doc, "lost_manifests",
				strlist_json(&r->lost.manifests)) ||
	    json_object_set_new(doc, "outcome",
				json_string(verify_outcome_name(r->outcome))) ||
	    json_object_set_new(doc, "exit_code", json_integer(exit_code))) {
		json_decref(doc);
		return rv_err_set(RV_NOMEM, "out of memory");
	}
	*out = json_dumps(doc, pretty ? JSON_INDENT(2) : JSON_COMPACT);
	json_decref(doc);
	return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

static void human(char *buf, size_t size, uint64_t n)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double x = (double)n;
	size_t u = 0;

	while (x >= 1024 && u < 4) {
		x /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", x, unit[u]);
}

static void print_tags(FILE *f, const char *indent, const struct cat_needs *nd)
{
	for (size_t i = 0; i < nd->n_tags && i < REPORT_LIST_MAX; i++)
		fprintf(f, "%s%s:%s (snapshot %.12s)\n", indent,
			nd->tags[i].repo, nd->tags[i].tag, nd->tags[i].snap_id);
	if (nd->n_tags > REPORT_LIST_MAX)
		fprintf(f, "%s... and %zu more\n", indent,
			nd->n_tags - REPORT_LIST_MAX);
}

void verify_print_text(FILE *f, const struct verify_result *r)
{
	char bytes[32];

	for (size_t i = 0; i < r->damaged.n; i++)
		fprintf(f, "damaged: %s on '%s': %s\n",
			r->damaged.items[i].what, r->damaged.items[i].target,
			r->damaged.items[i].why);
	for (size_t i = 0; i < r->problems.n; i++)
		fprintf(f, "problem: %s%s%s%s: %s\n", r->problems.items[i].what,
			r->problems.items[i].target ? " on '" : "",
			r->problems.items[i].target
			    ? r->problems.items[i].target
			    : "",
			r->problems.items[i].target ? "'" : "",
			r->problems.items[i].why);
	for (size_t i = 0; i < r->failed.n; i++)
		fprintf(f, "failed: %s on '%s': %s\n", r->failed.items[i].what,
			r->failed.items[i].target, r->failed.items[i].why);
	for (size_t i = 0; i < r->notes.n; i++)
		fprintf(
		    f, "note: %s%s%s%s: %s\n", r->notes.items[i].what,
		    r->notes.items[i].target ? " on '" : "",
		    r->notes.items[i].target ? r->notes.items[i].target : "",
		    r->notes.items[i].target ? "'" : "", r->notes.items[i].why);
	for (size_t i = 0; i < r->n_risks; i++) {
		const struct verify_risk *k = &r->risks[i];

		fprintf(f, "at risk: pack %s: %s\n", k->pack_id,
			k->lost	       ? "LOST (no good copy on any target)"
			: k->good_on.n ? "repairable"
				       : "unknown (other copies unreadable)");
		if (k->good_on.n)
			fprintf(f, "  good copy on: %s%s\n",
				k->good_on.items[0],
				k->good_on.n > 1 ? " (and others)" : "");
		if (k->needs.n_tags) {
			fprintf(f, "  tags that need it:\n");
			print_tags(f, "    ", &k->needs);
		} else if (k->sealed_by.n) {
			fprintf(f, "  snapshots whose seals list it:");
			for (size_t j = 0; j < k->sealed_by.n; j++)
				fprintf(f, " %.12s", k->sealed_by.items[j]);
			fprintf(f, "\n");
		}
	}
	if (r->lost.n_tags) {
		fprintf(f, "can no longer be restored (%zu tag(s)):\n",
			r->lost.n_tags);
		print_tags(f, "  ", &r->lost);
	} else if (r->lost_snapshots.n) {
		fprintf(f, "snapshots that can no longer be restored whole:");
		for (size_t j = 0; j < r->lost_snapshots.n; j++)
			fprintf(f, " %.12s", r->lost_snapshots.items[j]);
		fprintf(f, "\n");
	}
	human(bytes, sizeof(bytes), r->bytes_checked);
	fprintf(f,
		"verify %s%s: %s; %llu snapshot(s), %llu of %llu pack(s) "
		"checked (%llu copies, %s, %.1f MB/s) on %zu target(s)%s%s "
		"in %.1f s: %s\n",
		verify_level_name(r->level), r->keyless ? " (keyless)" : "",
		r->scope, (unsigned long long)r->snapshots,
		(unsigned long long)r->packs_checked,
		(unsigned long long)r->packs_needed,
		(unsigned long long)r->copies_checked, bytes, mb_per_s(r),
		r->targets.n, r->sample ? ", sample " : "",
		r->sample ? "%" : "", r->seconds,
		verify_outcome_name(r->outcome));
	if (r->level == VERIFY_DEEP)
		fprintf(f,
			"deep: %llu chunk(s) authenticated, %llu blob(s) "
			"and manifest(s) reassembled\n",
			(unsigned long long)r->chunks_checked,
			(unsigned long long)r->blobs_checked);
}

static int md_items(struct rv_buf *b, const struct verify_list *l)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < l->n; i++)
		rc = rv_buf_printf(b, "- `%s`%s%s%s: %s\n", l->items[i].what,
				   l->items[i].target ? " on `" : "",
				   l->items[i].target ? l->items[i].target : "",
				   l->items[i].target ? "`" : "",
				   l->items[i].why);
	return rc;
}

static int md_tags(struct rv_buf *b, const struct cat_needs *nd)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < nd->n_tags && i < REPORT_LIST_MAX; i++)
		rc = rv_buf_printf(b, "  - `%s:%s` in snapshot `%.12s` (%s)\n",
				   nd->tags[i].repo, nd->tags[i].tag,
				   nd->tags[i].snap_id, nd->tags[i].manifest);
	if (!rc && nd->n_tags > REPORT_LIST_MAX)
		rc = rv_buf_printf(b, "  - ... and %zu more\n",
				   nd->n_tags - REPORT_LIST_MAX);
	return rc;
}

int verify_report_markdown(struct rv_buf *b, const struct verify_result *r,
			   int exit_code)
{
	char started[32], bytes[32];
	int rc, repairable = 0, lost = 0;

	iso_time(started, sizeof(started), r->started);
	human(bytes, sizeof(bytes), r->bytes_checked);
	for (size_t i = 0; i < r->n_risks; i++) {
		repairable += !r->risks[i].lost && r->risks[i].good_on.n;
		lost += r->risks[i].lost;
	}
	rc = rv_buf_printf(
	    b,
	    "# regvault verify report\n\n"
	    "| | |\n|---|---|\n"
	    "| date | %s |\n| store | `%s` (%s) |\n| level | %s%s |\n"
	    "| scope | %s |\n| targets | ",
	    started, r->store_id, r->store_label ? r->store_label : "",
	    verify_level_name(r->level),
	    r->keyless ? " (keyless: seals and "
			 "public key only)"
		       : "",
	    r->scope);
	for (size_t i = 0; !rc && i < r->targets.n; i++)
		rc = rv_buf_printf(b, "%s`%s`", i ? ", " : "",
				   r->targets.items[i]);
	if (!rc)
		rc = rv_buf_printf(
		    b,
		    " |\n| outcome | **%s** (exit code %d) |\n\n"
		    "## What was checked\n\n"
		    "- %s\n"
		    "- snapshots: %llu; packs they need: %llu; packs checked: "
		    "%llu%s\n"
		    "- pack copies checked: %llu; bytes read: %s (%llu); "
		    "duration: %.1f s; throughput: %.1f MB/s\n"
		    "- seal copies verified: %llu; record copies hashed: "
		    "%llu\n",
		    verify_outcome_name(r->outcome), exit_code,
		    r->level == VERIFY_QUICK
			? "quick: every pack is present with its recorded size"
		    : r->level == VERIFY_HASH
			? "hash: every pack copy's bytes hash to its id"
			: "deep: every pack copy hashes to its id, every chunk "
			  "authenticates, every blob and manifest reassembles "
			  "to its digest",
		    (unsigned long long)r->snapshots,
		    (unsigned long long)r->packs_needed,
		    (unsigned long long)r->packs_checked,
		    r->sample ? " (a sample: the least recently verified "
				"first)"
			      : "",
		    (unsigned long long)r->copies_checked, bytes,
		    (unsigned long long)r->bytes_checked, r->seconds,
		    mb_per_s(r), (unsigned long long)r->seals_checked,
		    (unsigned long long)r->records_checked);
	if (!rc && r->level == VERIFY_DEEP)
		rc = rv_buf_printf(b,
				   "- chunks authenticated: %llu; blobs and "
				   "manifests reassembled: %llu\n",
				   (unsigned long long)r->chunks_checked,
				   (unsigned long long)r->blobs_checked);
	if (!rc)
		rc = rv_buf_puts(b, "\n## What failed\n\n");
	if (!rc && !r->damaged.n && !r->problems.n && !r->failed.n)
		rc = rv_buf_puts(b, "Nothing: every copy checked out.\n");
	if (!rc)
		rc = md_items(b, &r->damaged);
	if (!rc)
		rc = md_items(b, &r->problems);
	if (!rc)
		rc = md_items(b, &r->failed);
	if (!rc && r->notes.n) {
		rc = rv_buf_puts(b, "\nNotes:\n\n");
		if (!rc)
			rc = md_items(b, &r->notes);
	}
	if (!rc)
		rc = rv_buf_puts(b, "\n## What is at risk\n\n");
	if (!rc && !r->n_risks && !r->lost_snapshots.n)
		rc = rv_buf_puts(b, "Nothing.\n");
	for (size_t i = 0; !rc && i < r->n_risks; i++) {
		const struct verify_risk *k = &r->risks[i];

		rc = rv_buf_printf(b, "- pack `%s`: %s", k->pack_id,
				   k->lost ? "**lost**: no good copy on any "
					     "target"
				   : k->good_on.n
				       ? "repairable: a good copy is on "
				       : "unknown: the other copies could not "
					 "be read");
		for (size_t j = 0; !rc && !k->lost && j < k->good_on.n; j++)
			rc = rv_buf_printf(b, "%s`%s`", j ? ", " : "",
					   k->good_on.items[j]);
		if (!rc)
			rc = rv_buf_printf(b, "\n  - damaged or missing on: ");
		for (size_t j = 0; !rc && j < k->bad_on.n; j++)
			rc = rv_buf_printf(b, "%s`%s`", j ? ", " : "",
					   k->bad_on.items[j]);
		if (!rc && k->needs.n_tags)
			rc = rv_buf_printf(b,
					   "\n  - needed by %zu blob(s), %zu "
					   "manifest(s) and these tags:\n",
					   k->needs.blobs.n,
					   k->needs.manifests.n);
		else if (!rc)
			rc = rv_buf_puts(b, "\n");
		if (!rc)
			rc = md_tags(b, &k->needs);
		for (size_t j = 0;
		     !rc && !k->needs.n_tags && j < k->sealed_by.n; j++)
			rc = rv_buf_printf(b,
					   "  - listed in the seal of "
					   "snapshot `%s`\n",
					   k->sealed_by.items[j]);
	}
	if (!rc && (r->lost.n_tags || r->lost_snapshots.n)) {
		rc = rv_buf_printf(b,
				   "\n**These can no longer be restored** "
				   "(%zu tag(s) in %zu snapshot(s)):\n\n",
				   r->lost.n_tags, r->lost_snapshots.n);
		if (!rc)
			rc = md_tags(b, &r->lost);
		for (size_t j = 0;
		     !rc && !r->lost.n_tags && j < r->lost_snapshots.n; j++)
			rc = rv_buf_printf(b, "  - snapshot `%s`\n",
					   r->lost_snapshots.items[j]);
	}
	if (!rc)
		rc = rv_buf_puts(b, "\n## What to do\n\n");
	if (!rc && r->outcome == VERIFY_OK)
		rc = rv_buf_puts(b, "Nothing. Keep verifying on a schedule "
				    "(`regvault verify --sample 10` nightly "
				    "covers every pack in ten runs).\n");
	if (!rc && (repairable || (r->damaged.n && !lost)))
		rc = rv_buf_puts(b, "- Run `regvault repair`: it copies a good "
				    "copy over every damaged or missing one, "
				    "then run `regvault verify` again.\n");
	if (!rc && (lost || r->lost_other))
		rc = rv_buf_puts(
		    b, "- The items marked lost have no good copy on any "
		       "target: the tags listed above can no longer be "
		       "restored. Back them up again from the source "
		       "registry while it still has them (`regvault "
		       "backup`), and find out what damaged the targets.\n");
	if (!rc && r->failed.n)
		rc = rv_buf_puts(b, "- Some targets could not be read: check "
				    "them and run `regvault verify` again.\n");
	return rc;
}
