#include "restore/snapcheck.h"

#include "catalog/catalog.h"
#include "store/sealtext.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/set.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RECORD_MAX ((size_t)256 << 20)

struct check {
	const char *snap_id;
	struct rv_set record_tags; /* "repo\ntag\ndigest" */
	struct rv_set seal_packs;  /* "pack_id:size" */
	size_t n_catalog_tags;
	int bad;
	int forgotten; /* the seal is a tombstone */
	char what[512];
};

static int key3(char *buf, size_t size, const char *a, const char *b,
		const char *c)
{
	int n = snprintf(buf, size, "%s\n%s\n%s", a, b, c);
	if (n < 0 || (size_t)n >= size)
		return rv_err_set(RV_CORRUPT, "a tag entry is too long");
	return n;
}

static int check_tag(void *arg, const char *repo, const char *tag,
		     const char *digest)
{
	struct check *x = arg;
	char key[4096];
	int n = key3(key, sizeof(key), repo, tag, digest);
	if (n < 0)
		return n;
	x->n_catalog_tags++;
	if (!x->bad && !rv_set_has(&x->record_tags, key, (size_t)n)) {
		x->bad = 1;
		snprintf(x->what, sizeof(x->what),
			 "the catalog has %s:%s -> %s, which the snapshot's "
			 "record on the targets does not",
			 repo, tag, digest);
	}
	return 0;
}

static int check_pack(void *arg, const char *pack_id, uint64_t size)
{
	struct check *x = arg;
	char key[128];
	int n = snprintf(key, sizeof(key), "%s:%llu", pack_id,
			 (unsigned long long)size);
	if (!x->bad && !rv_set_has(&x->seal_packs, key, (size_t)n)) {
		x->bad = 1;
		snprintf(x->what, sizeof(x->what),
			 "pack %s (%llu bytes) that the catalog says the "
			 "snapshot needs is not in its signed seal",
			 pack_id, (unsigned long long)size);
	}
	return 0;
}

/* Parse and check the seal; fill x->seal_packs; *record_hash <- its hash.
 * A tombstone (`regvault forget`) is RV_NOTFOUND with x->forgotten set: the
 * snapshot is gone on purpose, nothing is damaged. */
static int read_seal(struct check *x, struct store *s, char record_hash[65])
{
	struct seal_text seal;
	char when[32];
	int rc = store_seal_read(&seal, s, x->snap_id);

	if (rc)
		goto done;
	if (seal.forgotten) {
		time_t t = (time_t)seal.forgotten_at;
		struct tm tm;

		if (!gmtime_r(&t, &tm) ||
		    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
			snprintf(when, sizeof(when), "%lld",
				 (long long)seal.forgotten_at);
		x->forgotten = 1;
		rc = rv_err_set(RV_NOTFOUND,
				"snapshot %s was forgotten on %s ('regvault "
				"forget'); it cannot be restored (pick another "
				"snapshot, or run 'regvault catalog rebuild' "
				"if the catalog still lists it)",
				x->snap_id, when);
		goto done;
	}
	memcpy(record_hash, seal.record, 65);
	for (size_t i = 0; i < seal.n_packs; i++) {
		char key[128];
		int n = snprintf(key, sizeof(key), "%s:%llu", seal.packs[i].id,
				 (unsigned long long)seal.packs[i].size);

		if (rv_set_add(&x->seal_packs, key, (size_t)n) < 0) {
			rc = RV_NOMEM;
			goto done;
		}
	}
done:
	seal_text_release(&seal);
	return rc;
}

/* Parse the record; fill x->record_tags. */
static int read_record(struct check *x, const struct rv_buf *rec)
{
	json_t *doc = json_loadb((const char *)rec->data, rec->len,
				 JSON_REJECT_DUPLICATES, NULL);
	json_t *tags = NULL, *t;
	const char *id = NULL;
	size_t i;
	int rc = 0;

	if (!doc ||
	    json_unpack(doc, "{s:s, s:o}", "id", &id, "tags", &tags) ||
	    !json_is_array(tags)) {
		rc = rv_err_set(RV_CORRUPT,
				"the record of snapshot %s is malformed",
				x->snap_id);
		goto done;
	}
	if (strcmp(id, x->snap_id)) {
		rc = rv_err_set(RV_CORRUPT,
				"the record stored as snapshot %s names "
				"snapshot %.80s",
				x->snap_id, id);
		goto done;
	}
	json_array_foreach(tags, i, t)
	{
		const char *repo = NULL, *tag = NULL, *digest = NULL;
		char key[4096];
		int n;
		if (json_unpack(t, "{s:s, s:s, s:s}", "repo", &repo, "tag",
				&tag, "digest", &digest)) {
			rc = rv_err_set(RV_CORRUPT,
					"the record of snapshot %s has a "
					"malformed tag",
					x->snap_id);
			goto done;
		}
		n = key3(key, sizeof(key), repo, tag, digest);
		if (n < 0) {
			rc = n;
			goto done;
		}
		if (rv_set_add(&x->record_tags, key, (size_t)n) < 0) {
			rc = RV_NOMEM;
			goto done;
		}
	}
done:
	json_decref(doc);
	return rc;
}

int restore_check_snapshot(struct cat *c, struct store *s,
			   const char *snap_id)
{
	struct check x;
	struct rv_buf rec = RV_BUF_INIT(RECORD_MAX);
	char record_hash[65];
	int rc;

	memset(&x, 0, sizeof(x));
	x.snap_id = snap_id;
	if (store_signs(s)) {
		rc = read_seal(&x, s, record_hash);
		if (rc == RV_NOTFOUND && !x.forgotten)
			rc = rv_err_set(RV_CORRUPT,
					"snapshot %s has no seal on any target "
					"of this signing store; it cannot be "
					"trusted (run 'regvault repair' if "
					"another target has it)",
					snap_id);
		if (!rc)
			rc = store_get_snapshot_checked(s, snap_id, record_hash,
							&rec);
	} else {
		rc = store_get_snapshot(s, snap_id, &rec);
	}
	if (rc == RV_NOTFOUND && !x.forgotten)
		rc = rv_err_set(RV_CORRUPT,
				"snapshot %s is in the catalog but its record "
				"is on no target",
				snap_id);
	if (!rc)
		rc = read_record(&x, &rec);
	if (!rc)
		rc = cat_snapshot_tags(c, snap_id, check_tag, &x);
	if (!rc && !x.bad && x.n_catalog_tags != x.record_tags.n) {
		x.bad = 1;
		snprintf(x.what, sizeof(x.what),
			 "the snapshot's record lists %zu tag(s), the catalog "
			 "%zu",
			 x.record_tags.n, x.n_catalog_tags);
	}
	if (!rc && !x.bad && store_signs(s))
		rc = cat_snapshot_packs(c, snap_id, check_pack, &x);
	if (!rc && x.bad)
		rc = rv_err_set(RV_CORRUPT,
				"snapshot %s: %s; the catalog or the targets "
				"were altered (rebuild the catalog with "
				"'regvault catalog rebuild', or restore from "
				"another target)",
				snap_id, x.what);
	rv_set_release(&x.record_tags);
	rv_set_release(&x.seal_packs);
	rv_buf_release(&rec);
	return rc;
}
