/* seals.c - re-signing seals when forget and prune change the store.
 *
 * The rewritten text keeps the seal's place in the chain (sequence,
 * previous) and lists the hash of the text it replaces in "former", so
 * the seal that follows still links to it (store/sealtext.h). It goes to
 * every target: a target left with the old text would name a snapshot or
 * packs that are about to go.
 */
#include "maint/seals.h"

#include "catalog/catalog.h"
#include "store/sealtext.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* *former = old's former hashes + old's own (malloc'd). */
static int former_plus_self(char (**former)[65], size_t *n,
			    const struct seal_text *old)
{
	*former = NULL;
	*n = 0;
	if (old->n_former + 1 > SEAL_FORMER_MAX)
		return rv_err_set(RV_TOOBIG,
				  "the seal of snapshot %s was re-signed %zu "
				  "times, the most a seal keeps",
				  old->snapshot, old->n_former);
	*former = malloc((old->n_former + 1) * sizeof(**former));
	if (!*former)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (old->n_former)
		memcpy(*former, old->former, old->n_former * sizeof(**former));
	memcpy((*former)[old->n_former], old->self, 65);
	*n = old->n_former + 1;
	return 0;
}

/* Format next and put it on every target. */
static int seal_put(struct store *s, const struct seal_text *next)
{
	char *text = NULL;
	int rc = seal_text_format(&text, next);

	if (!rc)
		rc = store_put_seal_all(s, next->snapshot, text);
	free(text);
	return rc;
}

int maint_seal_forget(struct store *s, const char *snap_id, int64_t now)
{
	struct seal_text old, tomb;
	char(*former)[65] = NULL;
	size_t n_former = 0;
	char *text = NULL;
	int rc;

	if (!store_signs(s))
		return 0;
	rc = store_seal_read(&old, s, snap_id);
	if (rc)
		goto done;
	if (old.forgotten) {
		/* Already done. Put the same bytes again (Ed25519 signatures
		 * are deterministic, so the file is the same) so that a
		 * target an interrupted forget missed gets it too; a text
		 * this regvault would spell differently is left alone, as
		 * its hash may be the next seal's "previous". */
		unsigned char sha[32];
		char hex[65];

		rc = seal_text_format(&text, &old);
		if (!rc)
			rc = rv_sha256_buf(sha, text, strlen(text));
		if (rc)
			goto done;
		rv_hex_encode(hex, sha, sizeof(sha));
		if (!strcmp(hex, old.self))
			rc = store_put_seal_all(s, snap_id, text);
		goto done;
	}
	rc = former_plus_self(&former, &n_former, &old);
	if (rc)
		goto done;
	tomb = old;
	tomb.forgotten = 1;
	tomb.forgotten_at = now;
	tomb.record[0] = '\0';
	tomb.packs = NULL;
	tomb.n_packs = 0;
	tomb.former = former;
	tomb.n_former = n_former;
	rc = seal_put(s, &tomb);
done:
	free(text);
	free(former);
	seal_text_release(&old);
	return rc;
}

struct pack_list {
	struct seal_pack *packs;
	size_t n, cap;
};

static int collect_pack(void *arg, const char *pack_id, uint64_t size)
{
	struct pack_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct seal_pack *grown;

		if (cap > SEAL_PACKS_MAX)
			return rv_err_set(RV_TOOBIG,
					  "a snapshot needs more than %d packs",
					  SEAL_PACKS_MAX);
		grown = realloc(l->packs, cap * sizeof(*grown));
		if (!grown)
			return rv_err_set(RV_NOMEM, "out of memory");
		l->packs = grown;
		l->cap = cap;
	}
	snprintf(l->packs[l->n].id, sizeof(l->packs[l->n].id), "%s", pack_id);
	l->packs[l->n++].size = size;
	return 0;
}

static int pack_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seal_pack *)a)->id,
		      ((const struct seal_pack *)b)->id);
}

/* 1 when the two lists name the same packs with the same sizes. Sorts
 * both by id. */
static int same_packs(struct seal_pack *a, size_t na, struct seal_pack *b,
		      size_t nb)
{
	if (na != nb)
		return 0;
	if (na) {
		qsort(a, na, sizeof(*a), pack_cmp);
		qsort(b, nb, sizeof(*b), pack_cmp);
	}
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].id, b[i].id) || a[i].size != b[i].size)
			return 0;
	return 1;
}

int maint_seal_new(struct store *s, struct cat *c, const char *snap_id,
		   const char *source, int64_t time, const char *record_hash)
{
	struct pack_list packs = {NULL, 0, 0};
	struct seal_text seal;
	char *seq_text = NULL, *prev = NULL, *text = NULL;
	unsigned char sha[RV_SHA256_LEN];
	char seal_hash[65], seq_buf[32];
	long long seq = 0;
	int rc;

	if (!store_signs(s))
		return 0;
	memset(&seal, 0, sizeof(seal));
	rc = cat_snapshot_packs(c, snap_id, collect_pack, &packs);
	if (rc)
		goto done;
	rc = cat_meta_get(&seq_text, c, "seal_sequence");
	if (rc == 0)
		seq = strtoll(seq_text, NULL, 10);
	else if (rc != RV_NOTFOUND)
		goto done;
	rc = cat_meta_get(&prev, c, "seal_last");
	if (rc && rc != RV_NOTFOUND)
		goto done;
	if (seq < 0)
		seq = 0;
	snprintf(seal.store_id, sizeof(seal.store_id), "%s", store_id(s));
	snprintf(seal.snapshot, sizeof(seal.snapshot), "%s", snap_id);
	snprintf(seal.record, sizeof(seal.record), "%s", record_hash);
	snprintf(seal.previous, sizeof(seal.previous), "%s", prev ? prev : "");
	seal.sequence = seq + 1;
	seal.time = time;
	seal.source = (char *)source; /* format only reads it */
	seal.packs = packs.packs;
	seal.n_packs = packs.n;
	rc = seal_text_format(&text, &seal);
	if (!rc)
		rc = store_put_seal(s, snap_id, text);
	if (!rc)
		rc = rv_sha256_buf(sha, text, strlen(text));
	if (rc)
		goto done;
	rv_hex_encode(seal_hash, sha, sizeof(sha));
	snprintf(seq_buf, sizeof(seq_buf), "%lld", seq + 1);
	rc = cat_meta_set(c, "seal_sequence", seq_buf);
	if (!rc)
		rc = cat_meta_set(c, "seal_last", seal_hash);
done:
	free(seq_text);
	free(prev);
	free(text);
	free(packs.packs);
	return rc;
}

int maint_seal_refresh(int *changed, struct store *s, struct cat *c,
		       const char *snap_id)
{
	struct pack_list now = {NULL, 0, 0};
	struct seal_text old, next;
	char(*former)[65] = NULL;
	size_t n_former = 0;
	int rc;

	*changed = 0;
	if (!store_signs(s))
		return 0;
	rc = store_seal_read(&old, s, snap_id);
	if (rc)
		goto done;
	if (old.forgotten) {
		rc = rv_err_set(RV_INVALID,
				"snapshot %s was forgotten but the catalog "
				"still lists it; run 'regvault forget' again "
				"to finish",
				snap_id);
		goto done;
	}
	rc = cat_snapshot_packs(c, snap_id, collect_pack, &now);
	if (rc)
		goto done;
	if (same_packs(old.packs, old.n_packs, now.packs, now.n))
		goto done;
	rc = former_plus_self(&former, &n_former, &old);
	if (rc)
		goto done;
	next = old;
	next.packs = now.packs;
	next.n_packs = now.n;
	next.former = former;
	next.n_former = n_former;
	rc = seal_put(s, &next);
	if (!rc)
		*changed = 1;
done:
	free(former);
	free(now.packs);
	seal_text_release(&old);
	return rc;
}
