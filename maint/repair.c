/* repair.c - make every target hold a good copy of everything.
 *
 * A good copy is one that checks out without trusting the target: a pack
 * whose bytes hash to its id, a snapshot record that opens with the key, a
 * seal whose signature verifies, a key slot whose name is the hash of its
 * bytes, a regvault.json that names this store. Only good copies are ever
 * copied; a pack is hashed again as it is fetched into the staging folder and
 * once more on the target it was put on. What has no good copy anywhere is
 * reported as lost.
 *
 * Order of writes: packs, then snapshot records, then their seals, then
 * key slots, then regvault.json, so that a target never names data it does not
 * hold yet.
 */
#include "maint/internal.h"

#include "catalog/catalog.h"
#include "store/store.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/progress.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Caps for the small files, above anything regvault writes. */
#define SNAPSHOT_SEALED_MAX ((size_t)257 << 20)
#define SMALL_FILE_MAX ((size_t)64 << 10)
#define CONFIG_NAME "regvault.json"

enum copy_state {
	COPY_UNKNOWN = 0, /* the target failed: nothing known, nothing done */
	COPY_ABSENT,
	COPY_BAD,
	COPY_GOOD,
};

struct repair {
	struct maint_stats *st;
	struct cat *c;
	struct store *s;
	const char *staging;
	int dry_run;
	const struct maint_listing *l;
	int64_t now;
	enum copy_state *state; /* one per target, reused */
	/* the progress line: packs done, bytes hashed (every copy, and a
	 * copy fetched or put again) of those known to hash so far */
	struct rv_meter meter;
	uint64_t bytes0; /* st->bytes_checked before the packs */
};

static void meter_show(struct repair *rp)
{
	rp->meter.bytes = rp->st->bytes_checked - rp->bytes0;
	rv_meter_show(&rp->meter);
}

static const char *tname(struct repair *rp, size_t t)
{
	return store_target_name(rp->s, t);
}

/* ---- packs --------------------------------------------------------- */

/* Hash the copy of pack_id on target t (and, when fd >= 0, write its
 * bytes to fd as they come). A target error is listed in st->failed and
 * gives COPY_UNKNOWN; only RV_NOMEM and a failed write to fd return. */
static int hash_pack(enum copy_state *state, uint64_t *size, struct repair *rp,
		     size_t t, const char *pack_id, int fd)
{
	enum store_copy copy = STORE_COPY_FAILED;
	char name[96];
	int rc;

	*state = COPY_UNKNOWN;
	maint_pack_name(name, sizeof(name), pack_id);
	rc = store_pack_hash(&copy, size, rp->s, t, pack_id, fd);
	if (rc)
		return rc; /* local: memory, the staging folder */
	switch (copy) {
	case STORE_COPY_ABSENT:
		*state = COPY_ABSENT;
		return 0;
	case STORE_COPY_BAD:
	case STORE_COPY_GOOD:
		*state = copy == STORE_COPY_GOOD ? COPY_GOOD : COPY_BAD;
		rp->st->copies_checked++;
		rp->st->bytes_checked += *size;
		return 0;
	default:
		/* a target's failure stops only this copy */
		return maint_list_add(&rp->st->failed, name, tname(rp, t),
				      "cannot read: %s", rv_err_msg());
	}
}

/* Fetch the good copy on target src into a temporary file under the
 * staging folder; *path is NULL when the copy no longer checks out (it is
 * then listed in st->failed). */
static int fetch_pack(char **path, struct repair *rp, size_t src,
		      const char *pack_id)
{
	enum copy_state state = COPY_UNKNOWN;
	uint64_t size = 0;
	char *tmp = NULL;
	char name[96];
	int fd = -1, rc;

	*path = NULL;
	maint_pack_name(name, sizeof(name), pack_id);
	rc = rv_fs_mkdirs(rp->staging, 0700);
	if (!rc)
		rc = rv_fs_tmpfile(&fd, &tmp, rp->staging, "repair");
	if (rc)
		return rc;
	rc = hash_pack(&state, &size, rp, src, pack_id, fd);
	if (!rc && fsync(fd) < 0)
		rc = rv_err_errno(rv_err_from_errno(errno), errno,
				  "cannot write '%s'", tmp);
	close(fd);
	if (!rc && state != COPY_GOOD && state != COPY_UNKNOWN)
		rc = maint_list_add(&rp->st->failed, name, tname(rp, src),
				    "its copy changed while it was read "
				    "and no longer checks out");
	if (rc || state != COPY_GOOD) {
		unlink(tmp);
		free(tmp);
		return rc;
	}
	*path = tmp;
	return 0;
}

/* Put the fetched copy on target t and hash it there again. */
static int put_pack(struct repair *rp, size_t t, size_t src,
		    const char *pack_id, const char *path)
{
	enum copy_state state = COPY_UNKNOWN;
	uint64_t size = 0;
	char name[96];
	int rc;

	maint_pack_name(name, sizeof(name), pack_id);
	rc = target_put_file(store_target(rp->s, t), name, path);
	if (rc == RV_NOMEM)
		return rc;
	if (rc)
		return maint_list_add(&rp->st->failed, name, tname(rp, t),
				      "cannot write: %s", rv_err_msg());
	rc = hash_pack(&state, &size, rp, t, pack_id, -1);
	if (rc || state == COPY_UNKNOWN)
		return rc;
	if (state != COPY_GOOD)
		return maint_list_add(&rp->st->failed, name, tname(rp, t),
				      "the copy written does not hash to its "
				      "id");
	rp->state[t] = COPY_GOOD;
	rp->st->bytes_copied += size;
	return maint_list_add(&rp->st->copied, name, tname(rp, t), "from '%s'",
			      tname(rp, src));
}

/* Bring the catalog's locations of one pack in line with what the
 * targets hold now. Targets that could not be read are left as they are.
 */
static int update_locations(struct repair *rp, const char *pack_id,
			    const struct rv_strlist *recorded)
{
	int rc = cat_begin(rp->c);

	for (size_t t = 0; !rc && t < rp->l->n; t++) {
		int was = rv_strlist_has(recorded, tname(rp, t));

		if (rp->state[t] == COPY_GOOD) {
			if (!was) {
				rc = cat_pack_location_add(rp->c, pack_id,
							   tname(rp, t));
				rp->st->locations_added += !rc;
			}
			if (!rc)
				rc = cat_pack_location_verified(
				    rp->c, pack_id, tname(rp, t), rp->now);
		} else if (rp->state[t] != COPY_UNKNOWN && was) {
			rc =
			    cat_pack_location_del(rp->c, pack_id, tname(rp, t));
			rp->st->locations_removed += !rc;
		}
	}
	if (!rc)
		rc = cat_commit(rp->c);
	if (rc)
		cat_rollback(rp->c);
	return rc;
}

static int report_lost_pack(struct repair *rp, const char *pack_id, int known)
{
	struct rv_strlist snaps = RV_STRLIST_INIT;
	struct rv_buf why = RV_BUF_INIT(1 << 16);
	size_t absent = 0, bad = 0;
	char name[96];
	int rc = 0;

	maint_pack_name(name, sizeof(name), pack_id);
	for (size_t t = 0; t < rp->l->n; t++) {
		absent += rp->state[t] == COPY_ABSENT;
		bad += rp->state[t] == COPY_BAD;
	}
	if (known)
		rc = cat_pack_snapshots(&snaps, rp->c, pack_id);
	if (!rc)
		rc = rv_buf_printf(&why,
				   "no copy hashes to its id (absent on %zu "
				   "target(s), damaged on %zu)",
				   absent, bad);
	for (size_t i = 0; !rc && i < snaps.n && i < 20; i++)
		rc = rv_buf_printf(&why, "%s%.12s",
				   i ? ", " : "; needed by snapshot(s) ",
				   snaps.items[i]);
	if (!rc && snaps.n > 20)
		rc = rv_buf_printf(&why, " and %zu more", snaps.n - 20);
	if (!rc)
		rc = maint_list_add(&rp->st->lost, name, NULL, "%s",
				    rv_buf_cstr(&why));
	rv_strlist_release(&snaps);
	rv_buf_release(&why);
	return rc;
}

/* recorded: the targets the catalog lists for it, or NULL when the
 * catalog does not know the pack (dry run: one adoption would record). */
static int repair_pack(struct repair *rp, const char *pack_id,
		       const struct rv_strlist *recorded)
{
	char name[96];
	char *tmp = NULL;
	size_t src = rp->l->n;
	uint64_t size, good_size = 0;
	int rc = 0;

	maint_pack_name(name, sizeof(name), pack_id);
	rp->st->packs_checked++;
	for (size_t t = 0; t < rp->l->n; t++) {
		rp->state[t] = COPY_UNKNOWN;
		if (!rp->l->ok[t])
			continue;
		if (!maint_listing_has(rp->l, t, pack_id)) {
			rp->state[t] = COPY_ABSENT;
			continue;
		}
		meter_show(rp);
		rc = hash_pack(&rp->state[t], &size, rp, t, pack_id, -1);
		if (rc)
			return rc;
		if (rp->state[t] == COPY_BAD) {
			rc =
			    maint_list_add(&rp->st->damaged, name, tname(rp, t),
					   "does not hash to its id");
			if (rc)
				return rc;
		}
		if (rp->state[t] == COPY_GOOD && src == rp->l->n) {
			src = t;
			good_size = size;
		}
	}
	if (src == rp->l->n) {
		rc = report_lost_pack(rp, pack_id, recorded != NULL);
		goto locations;
	}
	for (size_t t = 0; !rc && t < rp->l->n; t++) {
		if (rp->state[t] != COPY_ABSENT && rp->state[t] != COPY_BAD)
			continue;
		if (rp->dry_run) {
			rc = maint_list_add(&rp->st->copied, name, tname(rp, t),
					    "would copy from '%s'",
					    tname(rp, src));
			continue;
		}
		if (!tmp) {
			rp->meter.bytes_total += good_size;
			meter_show(rp);
			rc = fetch_pack(&tmp, rp, src, pack_id);
			if (rc || !tmp)
				break;
		}
		rp->meter.bytes_total += good_size;
		meter_show(rp);
		rc = put_pack(rp, t, src, pack_id, tmp);
	}
locations:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (!rc && recorded && !rp->dry_run)
		rc = update_locations(rp, pack_id, recorded);
	return rc;
}

static int repair_packs(struct repair *rp)
{
	struct cat_pack *packs = NULL;
	size_t n = 0;
	int rc = cat_pack_list(&packs, &n, rp->c);
	uint64_t to_hash = 0;

	/* every copy the targets list is hashed */
	for (size_t i = 0; !rc && i < n; i++)
		for (size_t t = 0; t < rp->l->n; t++)
			if (rp->l->ok[t] &&
			    maint_listing_has(rp->l, t, packs[i].pack_id))
				to_hash += packs[i].size;
	rv_meter_start(&rp->meter, "repair", "packs",
		       n + (rp->dry_run ? rp->st->adopted.n : 0), to_hash);
	rp->bytes0 = rp->st->bytes_checked;
	for (size_t i = 0; !rc && i < n; i++) {
		char where[32];

		snprintf(where, sizeof(where), "pack %.12s", packs[i].pack_id);
		rv_meter_where(&rp->meter, where);
		rc = repair_pack(rp, packs[i].pack_id, &packs[i].targets);
		rp->meter.done++;
		meter_show(rp);
	}
	/* A dry run has not recorded what it would adopt. */
	for (size_t i = 0; !rc && rp->dry_run && i < rp->st->adopted.n; i++) {
		const char *id =
		    maint_pack_id_of(rp->st->adopted.items[i].what);
		char where[32];

		if (id) {
			snprintf(where, sizeof(where), "pack %.12s", id);
			rv_meter_where(&rp->meter, where);
			rc = repair_pack(rp, id, NULL);
		}
		rp->meter.done++;
		meter_show(rp);
	}
	rv_progress_done();
	cat_pack_list_free(packs, n);
	return rc;
}

/* ---- snapshot records, key slots, regvault.json ----------------------- */

enum small_kind {
	SMALL_SNAPSHOT,
	SMALL_SEAL,
	SMALL_KEYSLOT,
	SMALL_CONFIG,
};

/* 1 when this copy of a snapshot record or seal checks out, 0 when not. */
static int small_copy_ok(struct repair *rp, enum small_kind kind,
			 const char *name, const struct rv_buf *copy)
{
	int rc = kind == SMALL_SNAPSHOT
		     ? store_snapshot_check(rp->s, name + strlen("snapshots/"),
					    copy->data, copy->len)
		     : store_seal_check(rp->s, copy->data, copy->len);
	if (rc == 0)
		return 1;
	if (rc == RV_CORRUPT || rc == RV_TOOBIG || rc == RV_NOTFOUND ||
	    rc == RV_INVALID || rc == RV_UNSUPPORTED)
		return 0;
	return rc;
}

static int keyslot_ok(const char *name, const struct rv_buf *b)
{
	unsigned char sha[32];
	char hex[17];

	if (rv_sha256_buf(sha, b->data, b->len))
		return 0;
	rv_hex_encode(hex, sha, 8);
	return !strcmp(name + strlen("keys/"), hex);
}

static int config_ok(struct repair *rp, const struct rv_buf *b)
{
	json_t *doc = json_loadb((const char *)b->data, b->len,
				 JSON_REJECT_DUPLICATES, NULL);
	const char *id;
	int ok;

	id = json_string_value(json_object_get(doc, "store_id"));
	ok = json_is_object(doc) && id && !strcmp(id, store_id(rp->s)) &&
	     json_is_integer(json_object_get(doc, "format"));
	json_decref(doc);
	return ok;
}

/* Check copy t, reusing the verdict on an identical copy already
 * checked. */
static int small_check(enum copy_state *state, struct repair *rp,
		       enum small_kind kind, const char *name,
		       const struct rv_buf *copies, size_t t)
{
	int ok;

	for (size_t j = 0; j < t; j++) {
		if ((rp->state[j] == COPY_GOOD || rp->state[j] == COPY_BAD) &&
		    copies[j].len == copies[t].len &&
		    !memcmp(copies[j].data, copies[t].data, copies[t].len)) {
			*state = rp->state[j];
			return 0;
		}
	}
	switch (kind) {
	case SMALL_SNAPSHOT:
		ok = small_copy_ok(rp, kind, name, &copies[t]);
		break;
	case SMALL_SEAL:
		ok = small_copy_ok(rp, kind, name, &copies[t]);
		break;
	case SMALL_KEYSLOT:
		ok = keyslot_ok(name, &copies[t]);
		break;
	default:
		ok = config_ok(rp, &copies[t]);
		break;
	}
	if (ok < 0)
		return ok;
	*state = ok ? COPY_GOOD : COPY_BAD;
	return 0;
}

/* Put the good copy where it is missing or bad, then read it back. */
static int small_put(struct repair *rp, const char *name, size_t t, size_t src,
		     const struct rv_buf *good)
{
	struct rv_buf back = RV_BUF_INIT(good->len);
	struct target *tg = store_target(rp->s, t);
	int rc;

	if (rp->dry_run)
		return maint_list_add(&rp->st->copied, name, tname(rp, t),
				      "would copy from '%s'", tname(rp, src));
	rc = target_put_buf(tg, name, good->data, good->len);
	if (!rc)
		rc = target_get(tg, name, &back);
	if (!rc &&
	    (back.len != good->len || memcmp(back.data, good->data, good->len)))
		rc = rv_err_set(RV_CORRUPT, "it reads back different bytes");
	rv_buf_release(&back);
	if (rc == RV_NOMEM)
		return rc;
	if (rc)
		return maint_list_add(&rp->st->failed, name, tname(rp, t),
				      "cannot write: %s", rv_err_msg());
	rp->st->bytes_copied += good->len;
	return maint_list_add(&rp->st->copied, name, tname(rp, t), "from '%s'",
			      tname(rp, src));
}

/* ok[t]: target t could be listed for this kind (always 1 for
 * regvault.json). known: the catalog expects the file to exist. */
static int repair_small(struct repair *rp, enum small_kind kind,
			const char *name, const int *ok, int known)
{
	size_t n = rp->l->n, src = n, present = 0;
	size_t cap = kind == SMALL_SNAPSHOT || kind == SMALL_SEAL
			 ? SNAPSHOT_SEALED_MAX
			 : SMALL_FILE_MAX;
	struct rv_buf *copies = calloc(n ? n : 1, sizeof(*copies));
	int rc = 0;

	if (!copies)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t t = 0; t < n; t++)
		rv_buf_init(&copies[t], cap);
	for (size_t t = 0; !rc && t < n; t++) {
		rp->state[t] = COPY_UNKNOWN;
		if (!ok[t])
			continue;
		rc = target_get(store_target(rp->s, t), name, &copies[t]);
		if (rc == RV_NOTFOUND) {
			rp->state[t] = COPY_ABSENT;
			rc = 0;
			continue;
		}
		if (rc == RV_TOOBIG) {
			rp->state[t] = COPY_BAD;
			rc = 0;
		} else if (rc == RV_NOMEM) {
			break;
		} else if (rc) {
			rc = maint_list_add(&rp->st->failed, name, tname(rp, t),
					    "cannot read: %s", rv_err_msg());
			continue;
		} else {
			rc = small_check(&rp->state[t], rp, kind, name, copies,
					 t);
		}
		present++;
		if (!rc && rp->state[t] == COPY_GOOD && src == n)
			src = t;
		if (!rc && rp->state[t] == COPY_BAD)
			rc =
			    maint_list_add(&rp->st->damaged, name, tname(rp, t),
					   kind == SMALL_SNAPSHOT
					       ? "does not open with the key"
					   : kind == SMALL_SEAL
					       ? "its signature does not verify"
					   : kind == SMALL_KEYSLOT
					       ? "does not hash to its name"
					       : "does not name this store");
	}
	if (rc)
		goto done;
	if (src == n) {
		if (present || known)
			rc = maint_list_add(&rp->st->lost, name, NULL,
					    "no good copy on any target");
		goto done;
	}
	for (size_t t = 0; !rc && t < n; t++) {
		if (rp->state[t] == COPY_ABSENT || rp->state[t] == COPY_BAD)
			rc = small_put(rp, name, t, src, &copies[src]);
		else if (rp->state[t] == COPY_GOOD &&
			 (copies[t].len != copies[src].len ||
			  memcmp(copies[t].data, copies[src].data,
				 copies[t].len)))
			rc = maint_list_add(&rp->st->notes, name, tname(rp, t),
					    "differs from the copy on '%s'; "
					    "both check out, left alone",
					    tname(rp, src));
	}
done:
	for (size_t t = 0; t < n; t++)
		rv_buf_release(&copies[t]);
	free(copies);
	return rc;
}

/* Names under prefix on every target (ok[t] = 0 where listing failed),
 * each once, sorted; valid() filters them. */
static int list_small(struct rv_strlist *names, int *ok, struct repair *rp,
		      const char *prefix, int (*valid)(const char *))
{
	struct rv_strlist here = RV_STRLIST_INIT;
	int rc = 0;

	for (size_t t = 0; !rc && t < rp->l->n; t++) {
		ok[t] = 0;
		rv_strlist_release(&here);
		rc = target_list(store_target(rp->s, t), prefix, &here);
		if (rc == RV_NOMEM)
			break;
		if (rc) {
			rc = maint_list_add(&rp->st->failed, prefix,
					    tname(rp, t), "cannot list: %s",
					    rv_err_msg());
			continue;
		}
		ok[t] = 1;
		for (size_t i = 0; !rc && i < here.n; i++) {
			if (!valid(here.items[i]))
				rc = maint_list_add(&rp->st->notes,
						    here.items[i], tname(rp, t),
						    "unexpected name; left "
						    "alone");
			else if (!rv_strlist_has(names, here.items[i]))
				rc = rv_strlist_add(names, here.items[i]);
		}
	}
	rv_strlist_release(&here);
	rv_strlist_sort(names);
	return rc;
}

static int snapshot_name_ok(const char *name)
{
	return !strncmp(name, "snapshots/", 10) && maint_hex64(name + 10);
}

static int seal_name_ok(const char *name)
{
	return !strncmp(name, "seals/", 6) && maint_hex64(name + 6);
}

static int keyslot_name_ok(const char *name)
{
	const char *id = name + 5;

	if (strncmp(name, "keys/", 5) || strlen(id) != 16)
		return 0;
	for (size_t i = 0; i < 16; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static int repair_snapshots(struct repair *rp, int *ok)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	struct rv_strlist known = RV_STRLIST_INIT;
	struct cat_snapshot *snaps = NULL;
	char name[96];
	size_t n_snaps = 0;
	int rc;

	rc = list_small(&names, ok, rp, "snapshots/", snapshot_name_ok);
	if (!rc)
		rc = cat_snapshot_list(&snaps, &n_snaps, rp->c);
	for (size_t i = 0; !rc && i < n_snaps; i++) {
		snprintf(name, sizeof(name), "snapshots/%s", snaps[i].id);
		rc = rv_strlist_add(&known, name);
		if (!rc && !rv_strlist_has(&names, name))
			rc = rv_strlist_add(&names, name);
	}
	rv_strlist_sort(&names);
	for (size_t i = 0; !rc && i < names.n; i++)
		rc = repair_small(rp, SMALL_SNAPSHOT, names.items[i], ok,
				  rv_strlist_has(&known, names.items[i]));
	free(snaps);
	rv_strlist_release(&known);
	rv_strlist_release(&names);
	return rc;
}

/* Seals (signed stores only) follow the records they name. */
static int repair_seals(struct repair *rp, int *ok)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	int rc;

	if (!store_signs(rp->s))
		return 0;
	rc = list_small(&names, ok, rp, "seals/", seal_name_ok);
	for (size_t i = 0; !rc && i < names.n; i++)
		rc = repair_small(rp, SMALL_SEAL, names.items[i], ok, 0);
	rv_strlist_release(&names);
	return rc;
}

static int repair_keyslots(struct repair *rp, int *ok)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	int rc = list_small(&names, ok, rp, "keys/", keyslot_name_ok);

	for (size_t i = 0; !rc && i < names.n; i++)
		rc = repair_small(rp, SMALL_KEYSLOT, names.items[i], ok, 0);
	rv_strlist_release(&names);
	return rc;
}

static int repair_config(struct repair *rp, int *ok)
{
	for (size_t t = 0; t < rp->l->n; t++)
		ok[t] = 1;
	return repair_small(rp, SMALL_CONFIG, CONFIG_NAME, ok, 1);
}

int maint_repair(struct maint_stats *st, struct cat *c, struct store *s,
		 const char *staging_dir, int dry_run)
{
	struct maint_listing l;
	struct repair rp;
	int *ok = NULL;
	int rc;

	memset(&rp, 0, sizeof(rp));
	rc = maint_listing_load(&l, st, s);
	if (rc)
		return rc;
	rp.st = st;
	rp.c = c;
	rp.s = s;
	rp.staging = staging_dir;
	rp.dry_run = dry_run;
	rp.l = &l;
	rp.now = (int64_t)time(NULL);
	rp.state = calloc(l.n ? l.n : 1, sizeof(*rp.state));
	ok = calloc(l.n ? l.n : 1, sizeof(*ok));
	if (!rp.state || !ok) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = maint_adopt_listed(st, c, s, &l, dry_run);
	if (!rc)
		rc = repair_packs(&rp);
	if (!rc)
		rc = repair_snapshots(&rp, ok);
	if (!rc)
		rc = repair_seals(&rp, ok);
	if (!rc)
		rc = repair_keyslots(&rp, ok);
	if (!rc)
		rc = repair_config(&rp, ok);
done:
	free(ok);
	free(rp.state);
	maint_listing_release(&l);
	return rc;
}
