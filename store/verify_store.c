/* verify_store.c - what verification asks of the store: a keyless open
 * (regvault.json and its public key, no passphrase), hashing one target's
 * copy of a pack in bounded memory, and reading a chunk from one target
 * only, so that damage is found per target instead of being read around.
 */
#include "store/frame.h"
#include "store/keys.h"
#include "store/sign.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of regvault.json a keyless check needs. The full parser in
 * store.c also checks the chunker and pack size; a keyless check reads no
 * chunk, so it needs neither. */
static int keyless_config_parse(struct store *s, const struct target *t,
				const struct rv_buf *doc)
{
	json_t *root = json_loadb((const char *)doc->data, doc->len,
				  JSON_REJECT_DUPLICATES, NULL);
	json_t *v = json_object_get(root, "format");
	const char *id = json_string_value(json_object_get(root, "store_id"));
	const char *pub = NULL, *kind = NULL;
	json_int_t format = json_is_integer(v) ? json_integer_value(v) : 0;
	char fresh_id[STORE_ID_HEX];
	unsigned char fresh_pub[SIGN_KEY_LEN];
	int rc = 0;

	if (!json_is_object(root) || format < 1 || !id ||
	    !store_hex_ok(id, STORE_ID_HEX - 1)) {
		rc =
		    rv_err_set(RV_CORRUPT,
			       "target '%s': regvault.json has no valid format "
			       "or store id",
			       t->name);
		goto done;
	}
	if (format > STORE_FORMAT_VERSION) {
		rc = rv_err_set(RV_UNSUPPORTED,
				"store format %lld is newer than this regvault "
				"supports; upgrade regvault",
				(long long)format);
		goto done;
	}
	memcpy(fresh_id, id, STORE_ID_HEX);
	memset(fresh_pub, 0, sizeof(fresh_pub));
	if (format >= 2 &&
	    (json_unpack(json_object_get(root, "signing"), "{s:s, s:s}", "type",
			 &kind, "public_key", &pub) ||
	     strcmp(kind, "ed25519") ||
	     rv_hex_decode(fresh_pub, SIGN_KEY_LEN, pub))) {
		rc = rv_err_set(RV_CORRUPT,
				"target '%s': regvault.json has no valid "
				"signing key",
				t->name);
		goto done;
	}
	if (s->format) {
		/* a second copy: it must describe the same store */
		if (strcmp(fresh_id, s->id) ||
		    (format >= 2 &&
		     memcmp(fresh_pub, s->sign_pub, SIGN_KEY_LEN))) {
			rc = rv_err_set(RV_INVALID,
					"target '%s' holds store %s, another "
					"target store %s (or another signing "
					"key); a store's targets must all "
					"belong to it",
					t->name, fresh_id, s->id);
		}
		goto done;
	}
	memcpy(s->id, fresh_id, STORE_ID_HEX);
	s->format = (int)format;
	s->has_signing = format >= 2;
	memcpy(s->sign_pub, fresh_pub, SIGN_KEY_LEN);
	if (s->has_signing)
		sign_fingerprint(s->fingerprint, s->sign_pub);
done:
	json_decref(root);
	return rc;
}

int store_open_keyless(struct store **out, struct target **targets, size_t n)
{
	struct rv_buf doc = RV_BUF_INIT(STORE_CONFIG_MAX);
	struct store *s = NULL;
	int rc = 0, read_err = 0;

	*out = NULL;
	if (n == 0)
		return rv_err_set(RV_INVALID, "no targets configured");
	s = calloc(1, sizeof(*s));
	if (!s)
		return rv_err_set(RV_NOMEM, "out of memory");
	s->w.s = s;
	for (size_t i = 0; i < n; i++) {
		rv_buf_reset(&doc);
		rc = target_get(targets[i], STORE_CONFIG_NAME, &doc);
		if (rc == RV_NOTFOUND) {
			rv_warn("target '%s' holds no regvault.json (run "
				"'regvault repair')",
				targets[i]->name);
			rc = 0;
			continue;
		}
		if (rc == RV_NOMEM)
			goto fail;
		if (rc) {
			rv_warn("%s; skipping target '%s' for regvault.json",
				rv_err_msg(), targets[i]->name);
			read_err = rc;
			rc = 0;
			continue;
		}
		rc = keyless_config_parse(s, targets[i], &doc);
		if (rc)
			goto fail;
	}
	if (!s->format) {
		rc = read_err ? read_err
			      : rv_err_set(RV_NOTFOUND,
					   "no regvault store at target '%s'; "
					   "run 'regvault init' first",
					   targets[0]->name);
		goto fail;
	}
	s->targets = malloc(n * sizeof(*s->targets));
	if (!s->targets) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto fail;
	}
	memcpy(s->targets, targets, n * sizeof(*s->targets));
	s->n_targets = n;
	*out = s;
	rv_buf_release(&doc);
	return 0;
fail:
	rv_buf_release(&doc);
	store_free(s); /* n_targets is 0: the caller keeps the targets */
	return rc;
}

int store_has_key(const struct store *s)
{
	return s->slot_name != NULL;
}

const unsigned char *store_public_key(const struct store *s)
{
	return s->has_signing ? s->sign_pub : NULL;
}

int store_pack_hash(enum store_copy *state, uint64_t *size, struct store *s,
		    size_t i, const char *pack_id, int fd)
{
	struct rv_buf part = RV_BUF_INIT(STORE_HASH_STEP);
	struct rv_sha256 h;
	struct target *tg;
	unsigned char sha[32];
	char name[96], hex[65];
	uint64_t off = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	*state = 0;
	*size = 0;
	if (i >= s->n_targets)
		return rv_err_set(RV_INVALID, "no target number %zu", i);
	if (!store_hex_ok(pack_id, PACK_ID_HEX - 1))
		return rv_err_set(RV_INVALID, "bad pack id '%.80s'", pack_id);
	tg = s->targets[i];
	snprintf(name, sizeof(name), "packs/%.2s/%s", pack_id, pack_id);
	rc = target_stat(tg, name, size);
	if (rc == RV_NOTFOUND) {
		*state = STORE_COPY_ABSENT;
		rc = 0;
		goto done;
	}
	if (rc && rc != RV_NOMEM) {
		*state = STORE_COPY_FAILED;
		rc = 0;
		goto done;
	}
	if (!rc)
		rc = rv_sha256_init(&h);
	while (!rc && off < *size) {
		uint64_t n = *size - off < STORE_HASH_STEP ? *size - off
							   : STORE_HASH_STEP;

		rv_buf_reset(&part);
		rc = target_get_range(tg, name, off, n, &part);
		if (rc == RV_CORRUPT || rc == RV_NOTFOUND) {
			/* shorter than it said, or gone while read */
			*state = rc == RV_CORRUPT ? STORE_COPY_BAD
						  : STORE_COPY_ABSENT;
			rc = 0;
			goto done;
		}
		if (rc && rc != RV_NOMEM) {
			*state = STORE_COPY_FAILED;
			rc = 0;
			goto done;
		}
		if (!rc)
			rc = rv_sha256_update(&h, part.data, part.len);
		if (!rc && fd >= 0)
			rc = rv_fs_write_all(
			    fd, part.data, part.len,
			    "a pack copy in the staging folder");
		off += n;
	}
	if (!rc)
		rc = rv_sha256_final(&h, sha);
	if (rc)
		goto done;
	rv_hex_encode(hex, sha, 32);
	*state = strcmp(hex, pack_id) ? STORE_COPY_BAD : STORE_COPY_GOOD;
done:
	rv_sha256_release(&h);
	rv_buf_release(&part);
	return rc;
}

int store_read_chunk_at(struct store *s, size_t i, const char *pack_id,
			uint64_t offset, uint32_t length,
			const unsigned char id[32], struct rv_buf *out)
{
	size_t max_sealed = 2 * s->chunk_size + STORE_FRAME_SLACK;
	struct rv_buf sealed = RV_BUF_INIT(max_sealed);
	struct rv_buf plain = RV_BUF_INIT(2 * s->chunk_size);
	unsigned char check[32];
	char name[96], hex[65];
	int rc;

	if (!store_has_key(s))
		return rv_err_set(RV_KEY, "store %s was opened without its key",
				  s->id);
	if (i >= s->n_targets)
		return rv_err_set(RV_INVALID, "no target number %zu", i);
	rv_hex_encode(hex, id, 32);
	if (!store_hex_ok(pack_id, PACK_ID_HEX - 1))
		return rv_err_set(RV_INVALID, "bad pack id '%.80s'", pack_id);
	if (length == 0 || length > max_sealed)
		return rv_err_set(RV_INVALID,
				  "chunk %s in pack %s: bad length %lu", hex,
				  pack_id, (unsigned long)length);
	snprintf(name, sizeof(name), "packs/%.2s/%s", pack_id, pack_id);
	rc = target_get_range(s->targets[i], name, offset, length, &sealed);
	if (rc == RV_NOTFOUND)
		rc = rv_err_set(RV_NOTFOUND, "pack %s is not on target '%s'",
				pack_id, s->targets[i]->name);
	else if (rc == RV_CORRUPT)
		rc = rv_err_set(RV_CORRUPT,
				"chunk %s in pack %s on target '%s': the pack "
				"is shorter than the chunk's range",
				hex, pack_id, s->targets[i]->name);
	if (rc)
		goto done;
	rc = frame_open(&plain, s->keys.data_key, FRAME_CHUNK, id, sealed.data,
			sealed.len);
	if (rc == RV_NOMEM)
		goto done;
	if (!rc) {
		rc = keys_chunk_id(check, &s->keys, plain.data, plain.len);
		if (rc)
			goto done;
		if (CRYPTO_memcmp(check, id, 32) != 0)
			rc = RV_CORRUPT;
	}
	if (rc) {
		rc = rv_err_set(RV_CORRUPT,
				"chunk %s in pack %s on target '%s' fails "
				"authentication",
				hex, pack_id, s->targets[i]->name);
		goto done;
	}
	rc = rv_buf_add(out, plain.data, plain.len);
done:
	OPENSSL_cleanse(plain.data, plain.len);
	rv_buf_release(&plain);
	rv_buf_release(&sealed);
	return rc;
}
