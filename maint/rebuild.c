/* rebuild.c - a catalog from one target and the key alone.
 *
 * Every pack of the target is read whole (its hash checked, its index
 * authenticated) and recorded with its chunks; then the blobs every index
 * lists, then the manifests (bytes read back and parsed, children first),
 * then the snapshot records. Nothing is taken on trust from the target
 * that the key does not authenticate.
 */
#include "maint/internal.h"

#include "catalog/catalog.h"
#include "registry/registry.h"
#include "store/sealtext.h"
#include "store/store.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The store's own cap on a snapshot record's plaintext. */
#define SNAPSHOT_RECORD_MAX ((size_t)256 << 20)
#define SNAPSHOT_PREFIX "snapshots/"
#define SEAL_PREFIX "seals/"

static int rebuild_packs(struct maint_rec *r, struct store *s, size_t from)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	struct rv_strlist here = RV_STRLIST_INIT;
	const char *tname = store_target_name(s, from);
	int rc;

	rc = rv_strlist_add(&here, tname);
	if (!rc)
		rc = target_list(store_target(s, from), "packs/", &names);
	if (rc)
		goto done;
	rv_strlist_sort(&names);
	for (size_t i = 0; i < names.n; i++) {
		const char *id = maint_pack_id_of(names.items[i]);
		struct pack_index *ix = NULL;
		uint64_t size = 0;

		if (!id) {
			rc = maint_list_add(&r->st->notes, names.items[i],
					    tname, "not a pack name; ignored");
			if (rc)
				goto done;
			continue;
		}
		rc = store_pack_index_read(&ix, &size, s, from, id);
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rc = maint_list_add(&r->st->damaged, names.items[i],
					    tname, "%s", rv_err_msg());
			if (rc)
				goto done;
			continue;
		}
		rc = maint_rec_pack(r, id, size, ix, &here);
		pack_index_free(ix);
		if (rc)
			goto done;
	}
	rc = 0;
done:
	rv_strlist_release(&names);
	rv_strlist_release(&here);
	return rc;
}

/* Copy a string member of a snapshot record; 0 when present and fits. */
static int record_string(char *dst, size_t size, json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	if (!v || strlen(v) >= size)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

struct snap_tag {
	const char *repo, *tag, *digest;
};

/* Parse an opened record: {"version","id","time","source","url",
 * "tags":[{"repo","tag","digest"}]}; members added later are ignored. On
 * success *tags points into doc (valid while doc lives). */
static int parse_record(struct cat_snapshot *cs, struct snap_tag **tags,
			size_t *n_tags, json_t *doc, const char *snap_id)
{
	json_t *arr, *v;
	size_t i;
	json_t *t;

	*tags = NULL;
	*n_tags = 0;
	memset(cs, 0, sizeof(*cs));
	v = json_object_get(doc, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    record_string(cs->id, sizeof(cs->id), doc, "id") ||
	    strcmp(cs->id, snap_id) ||
	    !json_is_integer(json_object_get(doc, "time")) ||
	    record_string(cs->source, sizeof(cs->source), doc, "source") ||
	    record_string(cs->url, sizeof(cs->url), doc, "url") ||
	    !json_is_array(arr = json_object_get(doc, "tags")))
		return rv_err_set(RV_CORRUPT,
				  "snapshot record %s: missing or malformed "
				  "version, id, time, source, url or tags",
				  snap_id);
	cs->time = json_integer_value(json_object_get(doc, "time"));
	*tags = calloc(json_array_size(arr) ? json_array_size(arr) : 1,
		       sizeof(**tags));
	if (!*tags)
		return rv_err_set(RV_NOMEM, "out of memory");
	json_array_foreach(arr, i, t)
	{
		struct snap_tag *st = &(*tags)[i];

		st->repo = json_string_value(json_object_get(t, "repo"));
		st->tag = json_string_value(json_object_get(t, "tag"));
		st->digest = json_string_value(json_object_get(t, "digest"));
		if (!st->repo || !st->tag || !st->digest ||
		    !reg_repo_valid(st->repo) || !reg_tag_valid(st->tag) ||
		    !rv_digest_valid(st->digest)) {
			free(*tags);
			*tags = NULL;
			return rv_err_set(RV_CORRUPT,
					  "snapshot record %s: tag %zu lacks "
					  "a valid repo, tag or digest",
					  snap_id, i);
		}
	}
	*n_tags = json_array_size(arr);
	return 0;
}

/* The chain of seals of a signing store: the highest sequence seen and the
 * sha256 hex of that seal's text, which the next backup continues from
 * (meta "seal_sequence" and "seal_last", see backup/backup.c). Tombstones
 * (`regvault forget`) keep their place in the chain and count here too. */
struct seal_chain {
	long long sequence;
	char last[65];
};

/* Read, verify and parse the seal of snap_id into *seal (release it in
 * every case) and advance the chain. */
static int read_seal(struct seal_text *seal, struct seal_chain *chain,
		     struct store *s, const char *snap_id)
{
	int rc = store_seal_read(seal, s, snap_id);

	if (!rc && seal->sequence > chain->sequence) {
		chain->sequence = seal->sequence;
		memcpy(chain->last, seal->self, sizeof(chain->last));
	}
	return rc;
}

/* List a forgotten snapshot in st->notes: "forgotten on <date>" (on
 * purpose: not a reason to call the rebuild incomplete). */
static int skip_forgotten(struct maint_stats *st, const char *what,
			  const struct seal_text *seal)
{
	time_t t = (time_t)seal->forgotten_at;
	char when[32];
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "%lld",
			 (long long)seal->forgotten_at);
	return maint_list_add(&st->notes, what, NULL,
			      "forgotten on %s ('regvault forget'): not "
			      "rebuilt",
			      when);
}

/* What orders the snapshots: their time, then (signing stores) their
 * place in the chain of seals, which is the order the backups committed
 * them in, then the id. The catalog lists snapshots of the same second in
 * the order they were recorded, so the rebuild records them in this
 * order. */
struct snap_key {
	char id[65];
	int64_t time;
	long long sequence;
};

static int snap_key_cmp(const void *pa, const void *pb)
{
	const struct snap_key *a = pa, *b = pb;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->sequence != b->sequence)
		return a->sequence < b->sequence ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* Open the record of snap_id (checked against its seal in a signing
 * store: a restore refuses a snapshot whose seal does not verify) and
 * check its shape. 0 with *doc set; 1 when it does not check out (listed
 * in st->skipped); <0 on a failure that stops the rebuild. */
static int open_snapshot(json_t **doc, struct snap_key *key,
			 struct maint_stats *st, struct store *s,
			 const char *snap_id, struct seal_chain *chain)
{
	struct rv_buf plain = RV_BUF_INIT(SNAPSHOT_RECORD_MAX);
	struct cat_snapshot cs;
	struct snap_tag *tags = NULL;
	char record_hash[65], what[96];
	size_t n_tags = 0;
	json_error_t jerr;
	int rc;

	*doc = NULL;
	memset(key, 0, sizeof(*key));
	snprintf(what, sizeof(what), SNAPSHOT_PREFIX "%s", snap_id);
	if (store_signs(s)) {
		struct seal_text seal;

		rc = read_seal(&seal, chain, s, snap_id);
		if (!rc && seal.forgotten) {
			rc = skip_forgotten(st, what, &seal);
			seal_text_release(&seal);
			rv_buf_release(&plain);
			return rc ? rc : 1;
		}
		key->sequence = seal.sequence;
		memcpy(record_hash, seal.record, sizeof(record_hash));
		seal_text_release(&seal);
		if (!rc)
			rc = store_get_snapshot_checked(s, snap_id, record_hash,
							&plain);
	} else {
		rc = store_get_snapshot(s, snap_id, &plain);
	}
	if (!rc) {
		*doc = json_loadb((const char *)plain.data, plain.len,
				  JSON_REJECT_DUPLICATES, &jerr);
		if (!*doc || !json_is_object(*doc))
			rc = rv_err_set(RV_CORRUPT,
					"snapshot record %s is not a JSON "
					"object",
					snap_id);
	}
	if (!rc)
		rc = parse_record(&cs, &tags, &n_tags, *doc, snap_id);
	free(tags);
	if (!rc) {
		memcpy(key->id, snap_id, 65);
		key->time = cs.time;
	} else {
		json_decref(*doc);
		*doc = NULL;
		if (rc != RV_NOMEM) {
			rc = maint_list_add(&st->skipped, what, NULL, "%s",
					    rv_err_msg());
			if (!rc)
				rc = 1;
		}
	}
	rv_buf_release(&plain);
	return rc;
}

/* The referrers a backup found through the referrers API ("referrers" in
 * the record, FORMAT.md): each recorded when its manifest is; one whose
 * manifest is missing is a note (the snapshot's tags are whole). */
static int record_referrers(struct maint_stats *st, struct cat *c,
			    const char *snap_id, json_t *doc)
{
	json_t *refs = json_object_get(doc, "referrers"), *r;
	size_t i;
	int rc = 0;

	if (!refs)
		return 0;
	if (!json_is_array(refs))
		return rv_err_set(RV_INVALID,
				  "its \"referrers\" is not a list");
	json_array_foreach(refs, i, r)
	{
		const char *repo = json_string_value(json_object_get(r, "repo"));
		const char *subj =
		    json_string_value(json_object_get(r, "subject"));
		const char *dg = json_string_value(json_object_get(r, "digest"));

		if (!repo || !subj || !dg || !rv_digest_valid(dg) ||
		    !rv_digest_valid(subj))
			return rv_err_set(RV_INVALID,
					  "referrer %zu of its record is "
					  "malformed",
					  i);
		rc = cat_manifest_has(c, dg);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			rc = maint_list_add(&st->notes, dg, NULL,
					    "referrer of %s in snapshot %.12s "
					    "not rebuilt: its manifest is not "
					    "recorded",
					    subj, snap_id);
			if (rc)
				return rc;
			continue;
		}
		rc = cat_snapshot_referrer_add(c, snap_id, repo, subj, dg);
		if (rc)
			return rc;
	}
	return 0;
}

/* Record an opened snapshot, or list it in st->skipped when one of its
 * manifests is missing. */
static int record_snapshot(struct maint_stats *st, struct cat *c,
			   const char *snap_id, json_t *doc)
{
	struct cat_snapshot cs;
	struct snap_tag *tags = NULL;
	size_t n_tags = 0, n_missing = 0;
	const char *first_missing = NULL;
	char what[96];
	int rc;

	snprintf(what, sizeof(what), SNAPSHOT_PREFIX "%s", snap_id);
	rc = parse_record(&cs, &tags, &n_tags, doc, snap_id);
	if (rc)
		goto done;
	for (size_t i = 0; i < n_tags; i++) {
		rc = rv_digest_valid(tags[i].digest)
			 ? cat_manifest_has(c, tags[i].digest)
			 : 0;
		if (rc < 0)
			goto done;
		if (rc == 0 && n_missing++ == 0)
			first_missing = tags[i].digest;
	}
	if (n_missing) {
		rc = maint_list_add(&st->skipped, what, NULL,
				    "%zu of its %zu tags point at manifests "
				    "that are not recorded (first: %s)",
				    n_missing, n_tags, first_missing);
		goto done;
	}
	rc = cat_begin(c);
	if (rc)
		goto done;
	rc = cat_snapshot_add(c, &cs);
	for (size_t i = 0; !rc && i < n_tags; i++)
		rc = cat_snapshot_tag_add(c, snap_id, tags[i].repo, tags[i].tag,
					  tags[i].digest);
	if (!rc)
		rc = record_referrers(st, c, snap_id, doc);
	if (!rc)
		rc = cat_commit(c);
	if (rc) {
		cat_rollback(c);
		if (rc == RV_INVALID)
			rc = maint_list_add(&st->skipped, what, NULL, "%s",
					    rv_err_msg());
		goto done;
	}
	st->snapshots++;
done:
	free(tags);
	return rc;
}

/* The seals on target `from` whose snapshot has no record there: they are
 * not rebuilt, but their place in the chain counts (a tombstone's above
 * all: its snapshot was forgotten after the last backup). */
static int rebuild_orphan_seals(struct maint_stats *st, struct store *s,
				size_t from, const struct rv_set *records,
				struct seal_chain *chain)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	const size_t plen = strlen(SEAL_PREFIX);
	const char *tname = store_target_name(s, from);
	int rc;

	rc = target_list(store_target(s, from), SEAL_PREFIX, &names);
	if (rc)
		goto done;
	rv_strlist_sort(&names);
	for (size_t i = 0; i < names.n; i++) {
		const char *id = names.items[i] + plen;
		struct seal_text seal;

		if (!maint_hex64(id)) {
			rc = maint_list_add(&st->notes, names.items[i], tname,
					    "not a seal name; ignored");
			if (rc)
				goto done;
			continue;
		}
		if (rv_set_has(records, id, 64))
			continue;
		rc = read_seal(&seal, chain, s, id);
		if (!rc && seal.forgotten)
			rc = skip_forgotten(st, names.items[i], &seal);
		else if (!rc)
			rc = maint_list_add(
			    &st->notes, names.items[i], tname,
			    "a seal without its snapshot record on this "
			    "target: the snapshot is not rebuilt (run "
			    "'regvault repair' if another target has it)");
		else if (rc != RV_NOMEM)
			rc = maint_list_add(&st->notes, names.items[i], tname,
					    "%s; ignored", rv_err_msg());
		seal_text_release(&seal);
		if (rc)
			goto done;
	}
done:
	rv_strlist_release(&names);
	return rc;
}

/* Two passes: open every record to learn the order, then open and record
 * each in that order (records are small next to packs, and holding every
 * parsed record at once would not be). */
static int rebuild_snapshots(struct maint_stats *st, struct cat *c,
			     struct store *s, size_t from)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	const size_t plen = strlen(SNAPSHOT_PREFIX);
	struct snap_key *keys = NULL, again;
	struct seal_chain chain;
	struct rv_set records = RV_SET_INIT;
	json_t *doc = NULL;
	size_t n = 0;
	char seq[32];
	int rc;

	memset(&chain, 0, sizeof(chain));
	rc = target_list(store_target(s, from), SNAPSHOT_PREFIX, &names);
	if (rc)
		goto done;
	keys = calloc(names.n ? names.n : 1, sizeof(*keys));
	if (!keys) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < names.n; i++) {
		const char *id = names.items[i] + plen;

		if (!maint_hex64(id)) {
			rc = maint_list_add(&st->notes, names.items[i],
					    store_target_name(s, from),
					    "not a snapshot record name; "
					    "ignored");
			if (rc)
				goto done;
			continue;
		}
		rc = rv_set_add(&records, id, 64);
		if (rc < 0)
			goto done;
		rc = open_snapshot(&doc, &keys[n], st, s, id, &chain);
		json_decref(doc);
		doc = NULL;
		if (rc < 0)
			goto done;
		n += rc == 0;
	}
	if (store_signs(s)) {
		rc = rebuild_orphan_seals(st, s, from, &records, &chain);
		if (rc)
			goto done;
	}
	qsort(keys, n, sizeof(*keys), snap_key_cmp);
	for (size_t i = 0; i < n; i++) {
		rc = open_snapshot(&doc, &again, st, s, keys[i].id, &chain);
		if (rc == 0)
			rc = record_snapshot(st, c, keys[i].id, doc);
		json_decref(doc);
		doc = NULL;
		if (rc < 0)
			goto done;
	}
	rc = 0;
	if (chain.sequence > 0) {
		snprintf(seq, sizeof(seq), "%lld", chain.sequence);
		rc = cat_meta_set(c, "seal_sequence", seq);
		if (!rc)
			rc = cat_meta_set(c, "seal_last", chain.last);
	}
done:
	free(keys);
	rv_set_release(&records);
	rv_strlist_release(&names);
	return rc;
}

int maint_rebuild(struct maint_stats *st, struct cat *c, struct store *s,
		  size_t from)
{
	struct maint_rec r;
	int rc;

	if (from >= store_target_count(s))
		return rv_err_set(RV_INVALID, "no target number %zu", from);
	maint_rec_init(&r, c, s, st);
	rc = cat_meta_set(c, "store_id", store_id(s));
	/* pin the signing key the records were read with, as the first
	 * open of a catalog does (cli/app.c) */
	if (!rc && store_fingerprint(s))
		rc = cat_meta_set(c, "fingerprint", store_fingerprint(s));
	if (!rc)
		rc = rebuild_packs(&r, s, from);
	if (!rc)
		rc = maint_rec_finish(&r);
	maint_rec_release(&r);
	if (!rc)
		rc = rebuild_snapshots(st, c, s, from);
	return rc;
}

/* Remove the files SQLite keeps beside a database (its write-ahead log,
 * shared memory and rollback journal), and the database itself when
 * with_db is set. */
static int remove_db(const char *path, int with_db)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	struct rv_buf name = RV_BUF_INIT(8192);
	int rc = 0;

	for (size_t i = with_db ? 0 : 1; !rc && i < 4; i++) {
		rv_buf_reset(&name);
		rc = rv_buf_printf(&name, "%s%s", path, suffixes[i]);
		if (!rc && unlink(rv_buf_cstr(&name)) < 0 && errno != ENOENT)
			rc = rv_err_errno(RV_IO, errno, "cannot remove '%s'",
					  rv_buf_cstr(&name));
	}
	rv_buf_release(&name);
	return rc;
}

int maint_rebuild_file(struct maint_stats *st, const char *catalog_path,
		       struct store *s, size_t from)
{
	struct rv_buf tmp = RV_BUF_INIT(8192);
	struct cat *c = NULL;
	char *dir = NULL;
	int rc;

	rc = rv_buf_printf(&tmp, "%s.rebuild", catalog_path);
	if (!rc)
		rc = remove_db(rv_buf_cstr(&tmp), 1); /* a killed run's */
	if (!rc)
		rc = cat_open(&c, rv_buf_cstr(&tmp));
	if (!rc)
		rc = maint_rebuild(st, c, s, from);
	if (!rc)
		rc = cat_checkpoint(c);
	cat_close(c);
	c = NULL;
	if (rc)
		goto done;
	dir = rv_fs_dirname(catalog_path);
	if (!dir) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	/* The old catalog's write-ahead log would be replayed into the new
	 * file: it goes first. */
	rc = remove_db(rv_buf_cstr(&tmp), 0);
	if (!rc)
		rc = remove_db(catalog_path, 0);
	if (rc)
		goto done;
	if (rename(rv_buf_cstr(&tmp), catalog_path) < 0) {
		rc = rv_err_errno(RV_IO, errno, "cannot rename '%s' to '%s'",
				  rv_buf_cstr(&tmp), catalog_path);
		goto done;
	}
	rc = rv_fs_fsync_dir(dir);
done:
	if (rc && tmp.len)
		remove_db(rv_buf_cstr(&tmp), 1);
	free(dir);
	rv_buf_release(&tmp);
	return rc;
}
