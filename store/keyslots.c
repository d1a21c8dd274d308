/* keyslots.c - adding, listing and removing key slots. Data is never
 * rewritten: a slot only wraps the same master secret under another
 * passphrase. */
#include "store/keys.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/target.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

const char *store_key_current(const struct store *s)
{
	return s->slot_name ? s->slot_name + strlen("keys/") : "";
}

int store_key_list(struct rv_strlist *names, struct store *s)
{
	struct rv_strlist one = RV_STRLIST_INIT;
	int rc = 0, listed = 0;

	for (size_t i = 0; i < s->n_targets; i++) {
		rv_strlist_release(&one);
		rc = target_list(s->targets[i], "keys/", &one);
		if (rc) {
			rv_warn("%s", rv_err_msg());
			continue;
		}
		listed++;
		for (size_t j = 0; j < one.n; j++) {
			const char *name = one.items[j] + strlen("keys/");
			if (!rv_strlist_has(names, name) &&
			    (rc = rv_strlist_add(names, name)))
				goto done;
		}
	}
	rc = listed ? 0
		    : rv_err_set(RV_IO, "cannot list key slots on any target");
	rv_strlist_sort(names);
done:
	rv_strlist_release(&one);
	return rc;
}

int store_key_add(char name_out[17], struct store *s, const char *passphrase,
		  size_t pass_len)
{
	struct rv_buf slot = RV_BUF_INIT(STORE_SLOT_MAX);
	struct keyslot_params params;
	unsigned char sha[32];
	char name[32];
	int rc;

	keyslot_params_default(&params);
	rc = keyslot_seal(&slot, &s->keys, s->id, passphrase, pass_len,
			  &params);
	if (!rc)
		rc = rv_sha256_buf(sha, slot.data, slot.len);
	if (rc)
		goto done;
	rv_hex_encode(name_out, sha, 8);
	snprintf(name, sizeof(name), "keys/%s", name_out);
	/* a slot must reach every target: a passphrase that opens the store
	 * on one target only is a trap at restore time */
	{
		size_t quorum = s->quorum;
		s->quorum = 0;
		rc = store_put_all(s, name, slot.data, slot.len, NULL);
		s->quorum = quorum;
	}
	if (rc) {
		for (size_t i = 0; i < s->n_targets; i++)
			target_del(s->targets[i], name);
	}
done:
	OPENSSL_cleanse(slot.data, slot.cap);
	rv_buf_release(&slot);
	return rc;
}

int store_key_remove(struct store *s, const char *slot)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	char name[64];
	int rc;

	if (!store_hex_ok(slot, 16))
		return rv_err_set(RV_INVALID,
				  "'%s' is not a key slot id (16 hex digits; "
				  "see 'regvault key list')",
				  slot);
	rc = store_key_list(&names, s);
	if (rc)
		goto done;
	if (!rv_strlist_has(&names, slot)) {
		rc = rv_err_set(RV_NOTFOUND, "store %s has no key slot '%s'",
				s->id, slot);
		goto done;
	}
	if (names.n < 2) {
		rc = rv_err_set(RV_INVALID,
				"'%s' is the last key slot of store %s; "
				"removing it would make the store unreadable "
				"(add another with 'regvault key add' first)",
				slot, s->id);
		goto done;
	}
	snprintf(name, sizeof(name), "keys/%s", slot);
	for (size_t i = 0; i < s->n_targets; i++) {
		int r = target_del(s->targets[i], name);
		if (r && !rc)
			rc = r;
	}
done:
	rv_strlist_release(&names);
	return rc;
}
