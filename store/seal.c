/* seal.c - signed snapshot seals and checked snapshot records. */
#include "store/frame.h"
#include "store/sealtext.h"
#include "store/sign.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_signs(const struct store *s)
{
	return s->has_signing;
}

const char *store_fingerprint(const struct store *s)
{
	return s->has_signing ? s->fingerprint : NULL;
}

/* Sign seal_text and put seals/<snap_id>: on as many targets as the write
 * policy needs, or (every) on each one. */
static int put_seal(struct store *s, const char *snap_id, const char *seal_text,
		    int every)
{
	unsigned char raw[32], sig[SIGN_SIG_LEN];
	char sig_hex[2 * SIGN_SIG_LEN + 1], name[96];
	unsigned char *ok = NULL;
	json_t *doc = NULL;
	char *text = NULL;
	size_t good = 0, first_bad = 0;
	int rc;

	if (!s->has_signing)
		return rv_err_set(RV_UNSUPPORTED,
				  "store %s (format %d) has no signing key",
				  s->id, s->format);
	rc = store_snap_id(raw, snap_id);
	if (!rc)
		rc = sign_sign(sig, s->sign_priv, seal_text, strlen(seal_text));
	if (rc)
		return rc;
	rv_hex_encode(sig_hex, sig, sizeof(sig));
	doc = json_pack("{s:i, s:s, s:s}", "version", 1, "seal", seal_text,
			"signature", sig_hex);
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	ok = calloc(s->n_targets ? s->n_targets : 1, 1);
	if (!text || !ok) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	snprintf(name, sizeof(name), "seals/%s", snap_id);
	rc = store_put_all(s, name, text, strlen(text), ok);
	if (rc || !every)
		goto done;
	for (size_t i = s->n_targets; i-- > 0;) {
		good += ok[i];
		if (!ok[i])
			first_bad = i;
	}
	if (good < s->n_targets)
		rc = rv_err_set(RV_IO,
				"'%s' reached %zu of %zu target(s) and must "
				"reach every one; target '%s' did not take it "
				"(fix it and run the command again)",
				name, good, s->n_targets,
				s->targets[first_bad]->name);
done:
	free(ok);
	free(text);
	json_decref(doc);
	return rc;
}

int store_put_seal(struct store *s, const char *snap_id, const char *seal_text)
{
	return put_seal(s, snap_id, seal_text, 0);
}

int store_put_seal_all(struct store *s, const char *snap_id,
		       const char *seal_text)
{
	return put_seal(s, snap_id, seal_text, 1);
}

int store_seal_verify(struct rv_buf *out, const unsigned char pub[32],
		      const void *file, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(file, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *seal = NULL, *sig_hex = NULL;
	unsigned char sig[SIGN_SIG_LEN];
	json_int_t version = 0;
	int rc;

	if (!doc || json_unpack(doc, "{s:I, s:s, s:s}", "version", &version,
				"seal", &seal, "signature", &sig_hex)) {
		rc = rv_err_set(RV_CORRUPT, "the seal is not a seal document");
		goto done;
	}
	if (version != 1) {
		rc = rv_err_set(RV_UNSUPPORTED,
				"seal version %lld is newer than this "
				"regvault reads; upgrade regvault",
				(long long)version);
		goto done;
	}
	if (rv_hex_decode(sig, sizeof(sig), sig_hex)) {
		rc = rv_err_set(RV_CORRUPT, "the seal's signature is malformed");
		goto done;
	}
	rc = sign_verify(pub, seal, strlen(seal), sig);
	if (rc) {
		rc = rv_err_set(RV_CORRUPT,
				"the seal's signature does not verify with "
				"the store's public key");
		goto done;
	}
	rc = rv_buf_puts(out, seal);
done:
	json_decref(doc);
	return rc;
}

int store_get_seal(struct store *s, const char *snap_id, struct rv_buf *out)
{
	struct rv_buf file = RV_BUF_INIT(STORE_SEAL_MAX);
	unsigned char raw[32];
	char name[96];
	size_t n_bad = 0;
	int rc, other = 0;

	if (!s->has_signing)
		return rv_err_set(RV_UNSUPPORTED,
				  "store %s (format %d) has no signing key",
				  s->id, s->format);
	rc = store_snap_id(raw, snap_id);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "seals/%s", snap_id);
	for (size_t i = 0; i < s->n_targets; i++) {
		rv_buf_reset(&file);
		rc = target_get(s->targets[i], name, &file);
		if (rc == RV_NOTFOUND)
			continue;
		if (rc == RV_NOMEM)
			goto done;
		if (!rc) {
			size_t before = out->len;
			rc = store_seal_verify(out, s->sign_pub, file.data,
					       file.len);
			if (!rc)
				goto done;
			out->len = before;
		}
		rv_warn("seal of snapshot %.12s on target '%s': %s; trying "
			"the next target",
			snap_id, s->targets[i]->name, rv_err_msg());
		if (rc == RV_CORRUPT || rc == RV_TOOBIG)
			n_bad++;
		else
			other = rc;
	}
	if (n_bad)
		rc = rv_err_set(RV_CORRUPT,
				"the seal of snapshot %s fails its signature "
				"on every target",
				snap_id);
	else if (other)
		rc = rv_err_set(other, "cannot read the seal of snapshot %s",
				snap_id);
	else
		rc = rv_err_set(RV_NOTFOUND,
				"snapshot %s has no seal on any target",
				snap_id);
done:
	rv_buf_release(&file);
	return rc;
}

int store_get_snapshot_checked(struct store *s, const char *snap_id,
			       const char *record_hash, struct rv_buf *out)
{
	struct rv_buf sealed =
	    RV_BUF_INIT(STORE_SNAPSHOT_MAX + STORE_FRAME_SLACK);
	unsigned char raw[32], sha[32];
	char name[96], hex[65];
	size_t n_bad = 0;
	int rc, other = 0;

	rc = store_snap_id(raw, snap_id);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "snapshots/%s", snap_id);
	for (size_t i = 0; i < s->n_targets; i++) {
		const char *why = NULL;
		rv_buf_reset(&sealed);
		rc = target_get(s->targets[i], name, &sealed);
		if (rc == RV_NOTFOUND)
			continue;
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("%s; trying the next target", rv_err_msg());
			other = rc;
			continue;
		}
		rc = rv_sha256_buf(sha, sealed.data, sealed.len);
		if (rc)
			goto done;
		rv_hex_encode(hex, sha, sizeof(sha));
		if (strcmp(hex, record_hash)) {
			why = "its bytes differ from what its seal names";
		} else {
			size_t before = out->len;
			rc = frame_open(out, s->keys.data_key, FRAME_SNAPSHOT,
					raw, sealed.data, sealed.len);
			if (!rc)
				goto done;
			out->len = before;
			if (rc == RV_NOMEM)
				goto done;
			why = "it fails authentication";
		}
		rv_warn("snapshot record %.12s on target '%s' is damaged (%s); "
			"trying the next target",
			snap_id, s->targets[i]->name, why);
		n_bad++;
	}
	if (n_bad)
		rc = rv_err_set(RV_CORRUPT,
				"the record of snapshot %s is damaged or "
				"altered on every target",
				snap_id);
	else if (other)
		rc = rv_err_set(other, "cannot read snapshot %s", snap_id);
	else
		rc = rv_err_set(RV_NOTFOUND,
				"snapshot %s is on no target", snap_id);
done:
	rv_buf_release(&sealed);
	return rc;
}

int store_snapshot_check(struct store *s, const char *snap_id,
			 const void *file, size_t len)
{
	struct rv_buf plain = RV_BUF_INIT(STORE_SNAPSHOT_MAX);
	unsigned char raw[32];
	int rc = store_snap_id(raw, snap_id);
	if (!rc)
		rc = frame_open(&plain, s->keys.data_key, FRAME_SNAPSHOT, raw,
				file, len);
	rv_buf_release(&plain);
	return rc;
}

int store_seal_check(struct store *s, const void *file, size_t len)
{
	struct rv_buf text = RV_BUF_INIT(STORE_SEAL_MAX);
	int rc;
	if (!s->has_signing)
		return rv_err_set(RV_UNSUPPORTED,
				  "store %s (format %d) has no signing key",
				  s->id, s->format);
	rc = store_seal_verify(&text, s->sign_pub, file, len);
	rv_buf_release(&text);
	return rc;
}

/* The store's cap on a seal file; its text is smaller. */
#define SEAL_READ_MAX ((size_t)64 << 20)

int store_seal_read(struct seal_text *out, struct store *s,
		    const char *snap_id)
{
	struct rv_buf text = RV_BUF_INIT(SEAL_READ_MAX);
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_get_seal(s, snap_id, &text);
	if (rc)
		goto done;
	rc = seal_text_parse(out, (const char *)text.data, text.len);
	if (rc == RV_CORRUPT)
		rc = rv_err_set(RV_CORRUPT, "the seal of snapshot %s: %s",
				snap_id, rv_err_msg());
	if (!rc && (strcmp(out->snapshot, snap_id) ||
		    strcmp(out->store_id, store_id(s))))
		rc = rv_err_set(RV_CORRUPT,
				"the seal stored as snapshot %s names snapshot "
				"%s of store %s; run 'regvault verify'",
				snap_id, out->snapshot, out->store_id);
done:
	rv_buf_release(&text);
	return rc;
}
