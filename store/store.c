/* store.c - the store facade: regvault.json, key slots, the open pack,
 * reading chunks and snapshots back from the targets.
 *
 * Writes go to every target; a write counts only when all succeed. Reads
 * take the first target whose copy authenticates, warning about the bad
 * copies they pass over, so one damaged target does not stop a restore.
 */
#include "store/store.h"

#include "store/chunker.h"
#include "store/frame.h"
#include "store/sign.h"
#include "store/store_internal.h"
#include "store/keys.h"
#include "store/pack.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strlist.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


int store_hex_ok(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- regvault.json ------------------------------------------------ */

static int store_config_parse(struct store_config *c, const struct target *t,
			      const struct rv_buf *doc)
{
	memset(c, 0, sizeof(*c));
	json_error_t jerr;
	json_t *root, *chunker, *v;
	const char *id, *type;
	json_int_t format, size, pack_size;
	int rc = 0;

	root = json_loadb((const char *)doc->data, doc->len,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		rc = rv_err_set(RV_CORRUPT,
				"target '%s': regvault.json is not a JSON "
				"object (%s)",
				t->name, root ? "wrong type" : jerr.text);
		goto done;
	}
	v = json_object_get(root, "format");
	format = json_is_integer(v) ? json_integer_value(v) : 0;
	if (format < 1) {
		rc = rv_err_set(RV_CORRUPT,
				"target '%s': regvault.json has no valid "
				"format version",
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
	id = json_string_value(json_object_get(root, "store_id"));
	if (!id || !store_hex_ok(id, STORE_ID_HEX - 1)) {
		rc = rv_err_set(RV_CORRUPT,
				"target '%s': regvault.json has no valid "
				"store id",
				t->name);
		goto done;
	}
	chunker = json_object_get(root, "chunker");
	type = json_string_value(json_object_get(chunker, "type"));
	if (type && !strcmp(type, "fixed")) {
		v = json_object_get(chunker, "size");
		size = json_is_integer(v) ? json_integer_value(v) : -1;
		if (size < (json_int_t)STORE_CHUNK_MIN ||
		    size > (json_int_t)STORE_CHUNK_MAX) {
			rc = rv_err_set(RV_CORRUPT,
					"target '%s': regvault.json chunk size "
					"%lld is outside 64 KiB..64 MiB",
					t->name, (long long)size);
			goto done;
		}
		c->chunker = STORE_CHUNKER_FIXED;
		c->chunk_size = (size_t)size;
	} else if (type && !strcmp(type, "fastcdc") && format >= 2) {
		json_int_t mn = -1, av = -1, mx = -1;
		if (json_unpack(chunker, "{s:I, s:I, s:I}", "min", &mn, "avg",
				&av, "max", &mx) ||
		    mn < 0 || av < 0 || mx < 0 || mx > UINT32_MAX) {
			rc = rv_err_set(RV_CORRUPT,
					"target '%s': regvault.json has a bad "
					"fastcdc chunker",
					t->name);
			goto done;
		}
		c->cdc.min = (uint32_t)mn;
		c->cdc.avg = (uint32_t)av;
		c->cdc.max = (uint32_t)mx;
		if (chunker_params_check(&c->cdc)) {
			rc = rv_err_set(RV_CORRUPT,
					"target '%s': regvault.json: %s",
					t->name, rv_err_msg());
			goto done;
		}
		c->chunker = STORE_CHUNKER_FASTCDC;
		c->chunk_size = c->cdc.max;
	} else {
		rc = rv_err_set(RV_UNSUPPORTED,
				"target '%s': chunker '%s' is not supported; "
				"upgrade regvault",
				t->name, type ? type : "(none)");
		goto done;
	}
	if (format >= 2) {
		const char *kind = NULL, *pub = NULL, *priv = NULL;
		if (json_unpack(json_object_get(root, "signing"),
				"{s:s, s:s, s:s}", "type", &kind, "public_key",
				&pub, "private_key", &priv) ||
		    strcmp(kind, "ed25519") ||
		    rv_hex_decode(c->sign_pub, SIGN_KEY_LEN, pub) ||
		    strlen(priv) > 4096 || strlen(priv) % 2) {
			rc = rv_err_set(RV_CORRUPT,
					"target '%s': regvault.json has no "
					"valid signing key",
					t->name);
			goto done;
		}
		c->sign_priv_sealed_len = strlen(priv) / 2;
		if (rv_hex_decode(c->sign_priv_sealed, c->sign_priv_sealed_len,
				  priv)) {
			rc = rv_err_set(RV_CORRUPT,
					"target '%s': regvault.json has no "
					"valid signing key",
					t->name);
			goto done;
		}
		c->has_signing = 1;
	}
	v = json_object_get(root, "pack_size");
	pack_size = json_is_integer(v) ? json_integer_value(v) : -1;
	if (pack_size < (json_int_t)STORE_PACK_MIN ||
	    pack_size > (json_int_t)STORE_PACK_MAX) {
		rc = rv_err_set(RV_CORRUPT,
				"target '%s': regvault.json pack size %lld "
				"is outside 1 MiB..4 GiB",
				t->name, (long long)pack_size);
		goto done;
	}
	memcpy(c->id, id, STORE_ID_HEX);
	c->format = (int)format;
	c->pack_size = (uint64_t)pack_size;
done:
	json_decref(root);
	return rc;
}

static int store_config_make(struct rv_buf *out, const char *id,
			     const unsigned char pub[SIGN_KEY_LEN],
			     const struct rv_buf *priv_sealed)
{
	char created[32], pub_hex[2 * SIGN_KEY_LEN + 1];
	struct chunker_params cdc;
	struct tm tm;
	time_t now = time(NULL);
	json_t *root = NULL;
	char *text = NULL, *priv_hex = NULL;
	int rc = 0;

	if (!gmtime_r(&now, &tm) ||
	    !strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return rv_err_set(RV_ERROR, "cannot format the current time");
	chunker_params_default(&cdc);
	rv_hex_encode(pub_hex, pub, SIGN_KEY_LEN);
	priv_hex = malloc(2 * priv_sealed->len + 1);
	if (!priv_hex)
		return rv_err_set(RV_NOMEM, "out of memory");
	rv_hex_encode(priv_hex, priv_sealed->data, priv_sealed->len);
	root = json_pack("{s:i, s:s, s:{s:s, s:I, s:I, s:I}, s:I, s:s, "
			 "s:{s:s, s:s, s:s}}",
			 "format", STORE_FORMAT_VERSION, "store_id", id,
			 "chunker", "type", "fastcdc", "min",
			 (json_int_t)cdc.min, "avg", (json_int_t)cdc.avg,
			 "max", (json_int_t)cdc.max, "pack_size",
			 (json_int_t)STORE_PACK_DEFAULT, "created", created,
			 "signing", "type", "ed25519", "public_key", pub_hex,
			 "private_key", priv_hex);
	if (root)
		text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2));
	if (!text) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = rv_buf_puts(out, text);
	if (!rc)
		rc = rv_buf_puts(out, "\n");
done:
	free(text);
	free(priv_hex);
	json_decref(root);
	return rc;
}

/* ---- init ------------------------------------------------------------ */

int store_init(struct target **targets, size_t n, const char *passphrase,
	       size_t pass_len, char store_id[STORE_ID_HEX])
{
	struct store_keys keys;
	struct keyslot_params params;
	struct rv_buf slot = RV_BUF_INIT(STORE_SLOT_MAX);
	struct rv_buf config = RV_BUF_INIT(STORE_CONFIG_MAX);
	struct rv_buf priv_sealed = RV_BUF_INIT(4096);
	unsigned char raw_id[16], slot_sha[32];
	unsigned char sign_pub[SIGN_KEY_LEN], sign_priv[SIGN_KEY_LEN];
	unsigned char pub_sha[32];
	char id[STORE_ID_HEX], slot_hex[17], slot_name[32];
	size_t done_slots = 0, done_configs = 0;
	uint64_t size;
	int rc;

	memset(&keys, 0, sizeof(keys));
	if (n == 0)
		return rv_err_set(RV_INVALID, "no targets to initialise");
	for (size_t i = 0; i < n; i++) {
		rc = target_stat(targets[i], STORE_CONFIG_NAME, &size);
		if (rc == 0)
			return rv_err_set(RV_INVALID,
					  "target '%s' is already initialised "
					  "(it holds regvault.json)",
					  targets[i]->name);
		if (rc != RV_NOTFOUND)
			return rc;
	}
	if (RAND_bytes(raw_id, sizeof(raw_id)) != 1)
		return rv_err_set(RV_ERROR, "cannot get random bytes for the "
					    "store id");
	rv_hex_encode(id, raw_id, sizeof(raw_id));
	rc = keys_generate(&keys, id);
	if (rc)
		goto done;
	keyslot_params_default(&params);
	rc = keyslot_seal(&slot, &keys, id, passphrase, pass_len, &params);
	if (rc)
		goto done;
	rc = rv_sha256_buf(slot_sha, slot.data, slot.len);
	if (rc)
		goto done;
	rv_hex_encode(slot_hex, slot_sha, 8);
	snprintf(slot_name, sizeof(slot_name), "keys/%s", slot_hex);
	/* the signing key: its private half sealed with the data key */
	rc = sign_keygen(sign_pub, sign_priv);
	if (!rc)
		rc = rv_sha256_buf(pub_sha, sign_pub, sizeof(sign_pub));
	if (!rc)
		rc = frame_seal(&priv_sealed, keys.data_key, FRAME_SIGNING_KEY,
				pub_sha, sign_priv, sizeof(sign_priv), 0);
	OPENSSL_cleanse(sign_priv, sizeof(sign_priv));
	if (!rc)
		rc = store_config_make(&config, id, sign_pub, &priv_sealed);
	if (rc)
		goto done;
	/* regvault.json goes last: a target is initialised only once its
	 * key slot is in place. */
	for (; done_slots < n; done_slots++) {
		rc = target_put_buf(targets[done_slots], slot_name, slot.data,
				    slot.len);
		if (rc)
			goto done;
	}
	for (; done_configs < n; done_configs++) {
		rc = target_put_buf(targets[done_configs], STORE_CONFIG_NAME,
				    config.data, config.len);
		if (rc)
			goto done;
	}
	memcpy(store_id, id, STORE_ID_HEX);
done:
	if (rc) {
		/* Undo what was written, so that init can simply be run
		 * again; keep the first error's message. */
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", rv_err_msg());
		for (size_t i = 0; i < done_configs; i++)
			target_del(targets[i], STORE_CONFIG_NAME);
		for (size_t i = 0; i < done_slots; i++)
			target_del(targets[i], slot_name);
		rv_err_set(rc, "%s", msg);
	}
	keys_wipe(&keys);
	OPENSSL_cleanse(slot.data, slot.len);
	rv_buf_release(&slot);
	rv_buf_release(&config);
	rv_buf_release(&priv_sealed);
	return rc;
}

/* ---- open ------------------------------------------------------------ */

/* Read regvault.json from every target; all that hold one must agree. */
static int store_read_config(struct store_config *cfg, struct target **targets,
			     size_t n)
{
	struct rv_buf doc = RV_BUF_INIT(STORE_CONFIG_MAX);
	struct store_config c;
	size_t have = 0, first = 0;
	int rc = 0, read_err = 0;

	for (size_t i = 0; i < n; i++) {
		rv_buf_reset(&doc);
		rc = target_get(targets[i], STORE_CONFIG_NAME, &doc);
		if (rc == RV_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("%s; skipping target '%s'", rv_err_msg(),
				targets[i]->name);
			read_err = rc;
			rc = 0;
			continue;
		}
		rc = store_config_parse(&c, targets[i], &doc);
		if (rc)
			goto done;
		if (!have) {
			*cfg = c;
			first = i;
		} else if (strcmp(c.id, cfg->id) != 0) {
			rc =
			    rv_err_set(RV_INVALID,
				       "target '%s' holds store %s but target "
				       "'%s' holds store %s; a store's targets "
				       "must all belong to it",
				       targets[i]->name, c.id,
				       targets[first]->name, cfg->id);
			goto done;
		}
		have++;
	}
	if (!have) {
		if (read_err)
			rc = read_err; /* its message is still set */
		else
			rc = rv_err_set(RV_NOTFOUND,
					"no regvault store at target '%s'; run "
					"'regvault init' first",
					targets[0]->name);
		goto done;
	}
	if (have < n && !read_err)
		for (size_t i = 0; i < n; i++) {
			uint64_t size;
			if (target_stat(targets[i], STORE_CONFIG_NAME, &size) ==
			    RV_NOTFOUND)
				rv_warn("target '%s' holds no regvault.json; "
					"it lacks this store's older files",
					targets[i]->name);
		}
done:
	rv_buf_release(&doc);
	return rc;
}

/* Try every key slot (each name once, from whichever target serves it)
 * until one opens with the passphrase. */
/* 1 when a key slot's bytes hash to its name (keys/<first 16 hex of
 * their sha256>), 0 when not; a name of another shape is not judged. */
static int slot_hash_ok(const char *name, const void *data, size_t len)
{
	const char *id = name + strlen("keys/");
	unsigned char sha[32];
	char hex[65];
	int rc;

	if (strncmp(name, "keys/", 5) || !store_hex_ok(id, 16))
		return 1;
	rc = rv_sha256_buf(sha, data, len);
	if (rc)
		return rc;
	rv_hex_encode(hex, sha, 8);
	return strcmp(hex, id) == 0;
}

static int store_unlock(struct store *s, struct target **targets, size_t n,
			const char *passphrase, size_t pass_len)
{
	struct rv_strlist tried = RV_STRLIST_INIT, names = RV_STRLIST_INIT;
	struct rv_buf slot = RV_BUF_INIT(STORE_SLOT_MAX);
	size_t n_wrong = 0, n_bad = 0;
	char first_bad[256] = "";
	int rc = 0, io_err = 0;

	for (size_t i = 0; i < n; i++) {
		rv_strlist_release(&names);
		rc = target_list(targets[i], "keys/", &names);
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("%s; skipping its key slots", rv_err_msg());
			io_err = rc;
			continue;
		}
		for (size_t j = 0; j < names.n; j++) {
			const char *name = names.items[j];
			if (rv_strlist_has(&tried, name))
				continue;
			if (tried.n >= STORE_MAX_SLOTS) {
				rv_warn("store %s has more than %d key slots; "
					"the rest are not tried",
					s->id, STORE_MAX_SLOTS);
				goto tried_all;
			}
			rv_buf_reset(&slot);
			rc = target_get(targets[i], name, &slot);
			if (rc == RV_NOMEM)
				goto done;
			if (rc) {
				rv_warn("%s; skipping it", rv_err_msg());
				io_err = rc;
				continue;
			}
			/* a slot is named by the hash of its bytes: a copy
			 * that does not hash to its name is damaged, and
			 * another target's copy is tried instead */
			rc = slot_hash_ok(name, slot.data, slot.len);
			if (rc < 0)
				goto done;
			if (rc == 0) {
				rv_warn("key slot '%s' on target '%s' is damaged "
					"(its bytes do not hash to its name); "
					"trying the other targets' copies "
					"('regvault repair' mends it)",
					name, targets[i]->name);
				if (!first_bad[0])
					snprintf(first_bad, sizeof(first_bad),
						 "'%s' on target '%s'", name,
						 targets[i]->name);
				n_bad++;
				continue;
			}
			rc = rv_strlist_add(&tried, name);
			if (rc)
				goto done;
			rc = keyslot_open(&s->keys, s->id, slot.data, slot.len,
					  passphrase, pass_len);
			if (rc == 0) {
				s->slot_name = strdup(name);
				if (!s->slot_name)
					rc = rv_err_set(RV_NOMEM,
							"out of memory");
				goto done;
			}
			if (rc == RV_KEY) {
				n_wrong++;
			} else if (rc == RV_CORRUPT || rc == RV_INVALID ||
				   rc == RV_UNSUPPORTED) {
				rv_warn("skipping key slot '%s' on target "
					"'%s': %s",
					name, targets[i]->name, rv_err_msg());
				if (!first_bad[0])
					snprintf(first_bad, sizeof(first_bad),
						 "'%s' on target '%s'", name,
						 targets[i]->name);
				n_bad++;
			} else {
				goto done;
			}
		}
	}
tried_all:
	if (n_wrong)
		rc = rv_err_set(RV_KEY, "wrong passphrase for store %s", s->id);
	else if (n_bad)
		rc = rv_err_set(RV_CORRUPT,
				"no key slot of store %s can be used: every "
				"copy is damaged (first: %s); restore keys/ "
				"from another copy of the store",
				s->id, first_bad);
	else if (io_err)
		rc = rv_err_set(io_err, "cannot read any key slot of store %s",
				s->id);
	else
		rc = rv_err_set(RV_CORRUPT, "store %s has no key slots", s->id);
done:
	if (rc)
		keys_wipe(&s->keys);
	OPENSSL_cleanse(slot.data, slot.len);
	rv_buf_release(&slot);
	rv_strlist_release(&names);
	rv_strlist_release(&tried);
	return rc;
}

/* Open the sealed private signing key and check it matches the public one
 * in regvault.json. */
static int store_unseal_signing_key(struct store *s,
				    const struct store_config *cfg)
{
	struct rv_buf priv = RV_BUF_INIT(SIGN_KEY_LEN);
	unsigned char pub_sha[32], check[SIGN_KEY_LEN];
	int rc = rv_sha256_buf(pub_sha, cfg->sign_pub, SIGN_KEY_LEN);
	if (!rc)
		rc = frame_open(&priv, s->keys.data_key, FRAME_SIGNING_KEY,
				pub_sha, cfg->sign_priv_sealed,
				cfg->sign_priv_sealed_len);
	if (!rc && priv.len != SIGN_KEY_LEN)
		rc = RV_CORRUPT;
	if (!rc)
		rc = sign_public(check, priv.data);
	if (!rc && CRYPTO_memcmp(check, cfg->sign_pub, SIGN_KEY_LEN))
		rc = RV_CORRUPT;
	if (rc == RV_CORRUPT)
		rv_err_set(RV_CORRUPT,
			   "the signing key in regvault.json of store %s does "
			   "not open or does not match its public key; copy "
			   "regvault.json from another target",
			   s->id);
	if (!rc) {
		memcpy(s->sign_priv, priv.data, SIGN_KEY_LEN);
		sign_fingerprint(s->fingerprint, s->sign_pub);
	}
	OPENSSL_cleanse(priv.data, priv.cap);
	rv_buf_release(&priv);
	return rc;
}

int store_open(struct store **out, struct target **targets, size_t n,
	       const char *passphrase, size_t pass_len, const char *staging_dir)
{
	struct store_config cfg;
	struct store *s = NULL;
	int rc;

	*out = NULL;
	if (n == 0)
		return rv_err_set(RV_INVALID, "no targets configured");
	if (!staging_dir || !*staging_dir)
		return rv_err_set(RV_INVALID, "no staging folder given");
	rc = store_read_config(&cfg, targets, n);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s)
		return rv_err_set(RV_NOMEM, "out of memory");
	s->w.s = s;
	memcpy(s->id, cfg.id, STORE_ID_HEX);
	s->format = cfg.format;
	s->chunker = cfg.chunker;
	s->cdc = cfg.cdc;
	s->chunk_size = cfg.chunk_size;
	s->pack_size = cfg.pack_size;
	s->has_signing = cfg.has_signing;
	memcpy(s->sign_pub, cfg.sign_pub, SIGN_KEY_LEN);
	s->staging_dir = strdup(staging_dir);
	s->targets = malloc(n * sizeof(*s->targets));
	if (!s->staging_dir || !s->targets) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto fail;
	}
	rc = store_unlock(s, targets, n, passphrase, pass_len);
	if (!rc && s->has_signing)
		rc = store_unseal_signing_key(s, &cfg);
	if (rc)
		goto fail;
	memcpy(s->targets, targets, n * sizeof(*s->targets));
	s->n_targets = n;
	*out = s;
	return 0;
fail:
	store_free(s); /* n_targets is 0: the caller keeps the targets */
	return rc;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	store_writer_release(&s->w);
	keys_wipe(&s->keys);
	OPENSSL_cleanse(s->sign_priv, sizeof(s->sign_priv));
	free(s->slot_name);
	for (size_t i = 0; i < s->n_targets; i++)
		target_free(s->targets[i]);
	free(s->targets);
	free(s->staging_dir);
	free(s);
}

int store_staging_clean(struct store *s, size_t *removed)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	*removed = 0;
	if (s->w.pw)
		return rv_err_set(RV_INVALID,
				  "cannot clean the staging folder while a "
				  "pack is open");
	d = opendir(s->staging_dir);
	if (!d)
		return errno == ENOENT ? 0
				       : rv_err_errno(RV_IO, errno,
						      "cannot open staging "
						      "folder '%s'",
						      s->staging_dir);
	while ((e = readdir(d))) {
		/* temporary files: unfinished packs, a repair's or an
		 * adoption's copies */
		if (e->d_name[0] != '.' ||
		    (e->d_type != DT_REG && e->d_type != DT_UNKNOWN))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			if (errno == EISDIR || errno == EPERM)
				continue; /* a folder after all */
			rc = rv_err_errno(RV_IO, errno,
					  "cannot remove '%s/%s'",
					  s->staging_dir, e->d_name);
			break;
		}
		(*removed)++;
	}
	closedir(d);
	return rc;
}

const char *store_id(const struct store *s)
{
	return s->id;
}

size_t store_chunk_size(const struct store *s)
{
	return s->chunk_size;
}

int store_format(const struct store *s)
{
	return s->format;
}

int store_chunker_new(struct chunker **out, const struct store *s)
{
	*out = NULL;
	if (s->chunker == STORE_CHUNKER_FIXED)
		return 0;
	return chunker_new(out, &s->cdc, s->keys.id_key);
}

void store_set_quorum(struct store *s, size_t n)
{
	s->quorum = n >= s->n_targets ? 0 : n;
}

size_t store_target_count(const struct store *s)
{
	return s->n_targets;
}

const char *store_target_name(const struct store *s, size_t i)
{
	return i < s->n_targets ? s->targets[i]->name : NULL;
}

int store_chunk_id(unsigned char out[32], const struct store *s,
		   const void *data, size_t len)
{
	return keys_chunk_id(out, &s->keys, data, len);
}

/* ---- writing (the open packs live in store/writer.c) ---- */

/* How many targets must take a write. */
static size_t store_needed(const struct store *s)
{
	return s->quorum && s->quorum < s->n_targets ? s->quorum : s->n_targets;
}

size_t store_write_needed(const struct store *s)
{
	return store_needed(s);
}

void store_put_note(struct store_put_tally *t, const struct store *s,
		    size_t i, int rc)
{
	if (!rc) {
		t->ok[i] = 1;
		return;
	}
	rv_warn("target '%s': %s", s->targets[i]->name, rv_err_msg());
	if (!t->first_rc) {
		t->first_rc = rc;
		snprintf(t->first_msg, sizeof(t->first_msg), "%s",
			 rv_err_msg());
	}
}

/* After a put to every target: enough of them? The message names every
 * target that failed. */
int store_put_outcome(const struct store *s, const char *name,
		      const struct store_put_tally *t)
{
	size_t good = 0;
	for (size_t i = 0; i < s->n_targets; i++)
		good += t->ok[i];
	if (good >= store_needed(s))
		return 0;
	return rv_err_set(t->first_rc ? t->first_rc : RV_IO,
			  "'%s' reached %zu of %zu target(s), %zu needed "
			  "(write_policy); first failure: %s",
			  name, good, s->n_targets, store_needed(s),
			  t->first_msg);
}

int store_put_all(struct store *s, const char *name, const void *data,
		  size_t len, unsigned char *ok_out)
{
	struct store_put_tally t = {0};
	int rc;

	t.ok = calloc(s->n_targets ? s->n_targets : 1, 1);
	if (!t.ok)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; i < s->n_targets; i++)
		store_put_note(&t, s, i,
			       target_put_buf(s->targets[i], name, data, len));
	rc = store_put_outcome(s, name, &t);
	if (ok_out)
		memcpy(ok_out, t.ok, s->n_targets);
	free(t.ok);
	return rc;
}

/* ---- reading --------------------------------------------------------- */

int store_read_chunk(struct store *s, const char *pack_id, uint64_t offset,
		     uint32_t length, const unsigned char id[32],
		     struct rv_buf *out)
{
	size_t max_sealed = 2 * s->chunk_size + STORE_FRAME_SLACK;
	struct rv_buf sealed = RV_BUF_INIT(max_sealed);
	struct rv_buf plain = RV_BUF_INIT(2 * s->chunk_size);
	unsigned char check[32];
	char name[96], hex[65];
	size_t n_bad = 0;
	int rc = 0, other = 0;

	rv_hex_encode(hex, id, 32);
	if (!store_hex_ok(pack_id, PACK_ID_HEX - 1))
		return rv_err_set(RV_INVALID, "bad pack id '%.80s'", pack_id);
	if (length == 0 || length > max_sealed)
		return rv_err_set(RV_INVALID,
				  "chunk %s in pack %s: bad length %lu", hex,
				  pack_id, (unsigned long)length);
	snprintf(name, sizeof(name), "packs/%.2s/%s", pack_id, pack_id);
	for (size_t i = 0; i < s->n_targets; i++) {
		const char *tname = s->targets[i]->name;

		rv_buf_reset(&sealed);
		rv_buf_reset(&plain);
		rc = target_get_range(s->targets[i], name, offset, length,
				      &sealed);
		if (rc == RV_NOTFOUND)
			continue;
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("%s; trying the next target", rv_err_msg());
			if (rc == RV_CORRUPT)
				n_bad++;
			else
				other = rc;
			continue;
		}
		rc = frame_open(&plain, s->keys.data_key, FRAME_CHUNK, id,
				sealed.data, sealed.len);
		if (rc == RV_NOMEM)
			goto done;
		if (!rc) {
			rc = keys_chunk_id(check, &s->keys, plain.data,
					   plain.len);
			if (rc)
				goto done;
			if (CRYPTO_memcmp(check, id, 32) != 0)
				rc = rv_err_set(RV_CORRUPT,
						"its plaintext does not match "
						"its id");
		}
		if (rc) {
			rv_warn("chunk %s in pack %s on target '%s' fails "
				"authentication (%s); trying the next target",
				hex, pack_id, tname, rv_err_msg());
			n_bad++;
			continue;
		}
		rc = rv_buf_add(out, plain.data, plain.len);
		goto done;
	}
	if (n_bad)
		rc = rv_err_set(RV_CORRUPT,
				"chunk %s in pack %s fails authentication on "
				"every target",
				hex, pack_id);
	else if (other)
		rc = rv_err_set(other, "cannot read pack %s from any target",
				pack_id);
	else
		rc =
		    rv_err_set(RV_NOTFOUND, "pack %s is on no target", pack_id);
done:
	OPENSSL_cleanse(plain.data, plain.len);
	rv_buf_release(&plain);
	rv_buf_release(&sealed);
	return rc;
}

struct target *store_target(struct store *s, size_t i)
{
	return i < s->n_targets ? s->targets[i] : NULL;
}

int store_pack_index_read(struct pack_index **out, uint64_t *size,
			  struct store *s, size_t i, const char *pack_id)
{
	struct rv_buf pack = RV_BUF_INIT(STORE_PACK_MAX + STORE_FRAME_SLACK);
	unsigned char sha[32];
	char name[96], hex[65];
	int rc;

	*out = NULL;
	if (i >= s->n_targets)
		return rv_err_set(RV_INVALID, "no target number %zu", i);
	if (!store_hex_ok(pack_id, PACK_ID_HEX - 1))
		return rv_err_set(RV_INVALID, "bad pack id '%.80s'", pack_id);
	snprintf(name, sizeof(name), "packs/%.2s/%s", pack_id, pack_id);
	rc = target_get(s->targets[i], name, &pack);
	if (!rc)
		rc = rv_sha256_buf(sha, pack.data, pack.len);
	if (rc)
		goto done;
	rv_hex_encode(hex, sha, 32);
	if (strcmp(hex, pack_id)) {
		rc = rv_err_set(RV_CORRUPT,
				"pack %s on target '%s' is damaged: its bytes "
				"hash to %s",
				pack_id, s->targets[i]->name, hex);
		goto done;
	}
	*size = pack.len;
	rc = pack_index_read(out, s->keys.data_key, pack.data, pack.len);
done:
	rv_buf_release(&pack);
	return rc;
}

/* ---- snapshots ------------------------------------------------------- */

int store_snap_id(unsigned char raw[32], const char *snap_id)
{
	if (!snap_id || !store_hex_ok(snap_id, 64) ||
	    rv_hex_decode(raw, 32, snap_id))
		return rv_err_set(RV_INVALID, "bad snapshot id '%.80s'",
				  snap_id ? snap_id : "");
	return 0;
}

int store_put_snapshot(struct store *s, const char *snap_id, const void *json,
		       size_t len, char record_hash[65])
{
	struct rv_buf sealed =
	    RV_BUF_INIT(STORE_SNAPSHOT_MAX + STORE_FRAME_SLACK);
	unsigned char raw[32], sha[32];
	char name[96];
	int rc;

	rc = store_snap_id(raw, snap_id);
	if (rc)
		return rc;
	if (len > STORE_SNAPSHOT_MAX)
		return rv_err_set(RV_TOOBIG,
				  "snapshot %s is %zu bytes, more than %zu",
				  snap_id, len, STORE_SNAPSHOT_MAX);
	rc = frame_seal(&sealed, s->keys.data_key, FRAME_SNAPSHOT, raw, json,
			len, 1);
	if (!rc)
		rc = rv_sha256_buf(sha, sealed.data, sealed.len);
	if (rc)
		goto done;
	if (record_hash)
		rv_hex_encode(record_hash, sha, sizeof(sha));
	snprintf(name, sizeof(name), "snapshots/%s", snap_id);
	rc = store_put_all(s, name, sealed.data, sealed.len, NULL);
done:
	rv_buf_release(&sealed);
	return rc;
}

int store_get_snapshot(struct store *s, const char *snap_id, struct rv_buf *out)
{
	struct rv_buf sealed =
	    RV_BUF_INIT(STORE_SNAPSHOT_MAX + STORE_FRAME_SLACK);
	struct rv_buf plain = RV_BUF_INIT(STORE_SNAPSHOT_MAX);
	unsigned char raw[32];
	char name[96];
	size_t n_bad = 0;
	int rc, other = 0;

	rc = store_snap_id(raw, snap_id);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "snapshots/%s", snap_id);
	for (size_t i = 0; i < s->n_targets; i++) {
		rv_buf_reset(&sealed);
		rv_buf_reset(&plain);
		rc = target_get(s->targets[i], name, &sealed);
		if (rc == RV_NOTFOUND)
			continue;
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("%s; trying the next target", rv_err_msg());
			if (rc == RV_CORRUPT || rc == RV_TOOBIG)
				n_bad++;
			else
				other = rc;
			continue;
		}
		rc = frame_open(&plain, s->keys.data_key, FRAME_SNAPSHOT, raw,
				sealed.data, sealed.len);
		if (rc == RV_NOMEM)
			goto done;
		if (rc) {
			rv_warn("snapshot %s on target '%s' fails "
				"authentication (%s); trying the next target",
				snap_id, s->targets[i]->name, rv_err_msg());
			n_bad++;
			continue;
		}
		rc = rv_buf_add(out, plain.data, plain.len);
		goto done;
	}
	if (n_bad)
		rc = rv_err_set(RV_CORRUPT,
				"snapshot %s fails authentication on every "
				"target",
				snap_id);
	else if (other)
		rc = rv_err_set(
		    other, "cannot read snapshot %s from any target", snap_id);
	else
		rc = rv_err_set(RV_NOTFOUND, "snapshot %s is on no target",
				snap_id);
done:
	rv_buf_release(&plain);
	rv_buf_release(&sealed);
	return rc;
}
