/* fuzz_sealtext.c - snapshot seals as read from a target: the seal file
 * (store/seal.c store_seal_verify, a fixed Ed25519 key) and the seal text
 * inside it (store/sealtext.c seal_text_parse / seal_text_format).
 *
 * Input: byte 0 picks the mode. Mode 0: the rest is a seal text. Mode 1:
 * the rest is a seal text that the target signs into a seal file, then
 * verifies and parses. Mode 2: the rest is a seal file.
 * Invariants: documented codes only; a parsed seal has the bounds the
 * header promises (hex ids, sequence >= 1, self = sha256 of the text);
 * parse -> format -> parse gives the same seal (packs sorted), and format
 * is idempotent on its own output; a signed seal verifies and gives back
 * its exact text; a seal file that verifies holds a text that parses or
 * fails cleanly. */
#include "fuzz_common.h"

#include "store/sealtext.h"
#include "store/sign.h"
#include "store/store.h"
#include "util/digest.h"

#include <jansson.h>

FUZZ_QUIET_INIT()

static const unsigned char priv[SIGN_KEY_LEN] = {
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44};

static int hex_ok(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

static int pack_cmp(const void *a, const void *b)
{
	const struct seal_pack *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->size > y->size) - (x->size < y->size);
}

static void check_seal(const struct seal_text *s, const char *text, size_t len)
{
	unsigned char sha[32];
	char hex[65];

	FUZZ_CHECK(s->version == 1 || s->version == 2);
	FUZZ_CHECK(!s->forgotten || s->version == 2);
	FUZZ_CHECK(hex_ok(s->store_id, 32) && hex_ok(s->snapshot, 64));
	FUZZ_CHECK(s->forgotten ? !*s->record : hex_ok(s->record, 64));
	FUZZ_CHECK(!*s->previous || hex_ok(s->previous, 64));
	FUZZ_CHECK(s->sequence >= 1 && s->time >= 0 && s->source);
	FUZZ_CHECK(!s->forgotten || s->n_packs == 0);
	for (size_t i = 0; i < s->n_packs; i++)
		FUZZ_CHECK(hex_ok(s->packs[i].id, 64));
	for (size_t i = 0; i < s->n_former; i++)
		FUZZ_CHECK(hex_ok(s->former[i], 64));
	FUZZ_CHECK(rv_sha256_buf(sha, text, len) == 0);
	rv_hex_encode(hex, sha, 32);
	FUZZ_CHECK(!strcmp(s->self, hex) && seal_text_has_hash(s, hex));
}

static void same_seal(struct seal_text *a, struct seal_text *b)
{
	FUZZ_CHECK(a->forgotten == b->forgotten);
	FUZZ_CHECK(!strcmp(a->store_id, b->store_id) &&
		   !strcmp(a->snapshot, b->snapshot) &&
		   !strcmp(a->record, b->record) &&
		   !strcmp(a->previous, b->previous));
	FUZZ_CHECK(a->sequence == b->sequence && a->time == b->time &&
		   a->forgotten_at == b->forgotten_at);
	FUZZ_CHECK(!strcmp(a->source, b->source));
	FUZZ_CHECK(a->n_packs == b->n_packs && a->n_former == b->n_former);
	if (a->n_packs) {
		qsort(a->packs, a->n_packs, sizeof(*a->packs), pack_cmp);
		qsort(b->packs, b->n_packs, sizeof(*b->packs), pack_cmp);
	}
	for (size_t i = 0; i < a->n_packs; i++)
		FUZZ_CHECK(!strcmp(a->packs[i].id, b->packs[i].id) &&
			   a->packs[i].size == b->packs[i].size);
	for (size_t i = 0; i < a->n_former; i++)
		FUZZ_CHECK(!strcmp(a->former[i], b->former[i]));
}

static void text_round_trip(const char *text, size_t len)
{
	struct seal_text s, again, third;
	char *out = NULL, *out2 = NULL;
	int rc = seal_text_parse(&s, text, len);

	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_UNSUPPORTED, RV_NOMEM));
	if (rc) {
		seal_text_release(&s);
		return;
	}
	check_seal(&s, text, len);
	rc = seal_text_format(&out, &s);
	FUZZ_CHECK(rc == 0 && out);
	rc = seal_text_parse(&again, out, strlen(out));
	FUZZ_CHECK(rc == 0);
	check_seal(&again, out, strlen(out));
	same_seal(&s, &again);
	/* version 1 exactly when a snapshot has no former texts */
	FUZZ_CHECK(again.version ==
		   ((again.forgotten || again.n_former) ? 2 : 1));
	FUZZ_CHECK(seal_text_format(&out2, &again) == 0);
	FUZZ_CHECK(!strcmp(out, out2));
	FUZZ_CHECK(seal_text_parse(&third, out2, strlen(out2)) == 0);
	FUZZ_CHECK(!strcmp(third.self, again.self));
	seal_text_release(&third);
	free(out2);
	free(out);
	seal_text_release(&again);
	seal_text_release(&s);
}

static void verify_file(const unsigned char pub[32], const void *file,
			size_t len)
{
	struct rv_buf seal = RV_BUF_INIT((size_t)64 << 20);
	int rc = store_seal_verify(&seal, pub, file, len);

	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_UNSUPPORTED, RV_NOMEM));
	if (!rc)
		text_round_trip((const char *)seal.data, seal.len);
	rv_buf_release(&seal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char pub[32];
	static int have_pub;
	int mode;

	if (!have_pub) {
		FUZZ_CHECK(sign_public(pub, priv) == 0);
		have_pub = 1;
	}
	if (size < 1 || size > (1u << 20))
		return 0;
	mode = data[0] % 3;
	data++;
	size--;
	if (mode == 0) {
		char *text = malloc(size ? size : 1);
		FUZZ_CHECK(text);
		memcpy(text, data, size);
		text_round_trip(text, size);
		free(text);
	} else if (mode == 1) {
		unsigned char sig[SIGN_SIG_LEN];
		char sig_hex[2 * SIGN_SIG_LEN + 1], *text, *file;
		struct rv_buf out = RV_BUF_INIT((size_t)64 << 20);
		json_t *doc, *utf8;

		text = fuzz_cstr(data, size);
		utf8 = strlen(text) == size ? json_string(text) : NULL;
		if (!utf8) {
			free(text); /* not UTF-8 or holds a NUL */
			return 0;
		}
		json_decref(utf8);
		FUZZ_CHECK(sign_sign(sig, priv, text, size) == 0);
		rv_hex_encode(sig_hex, sig, sizeof(sig));
		doc = json_pack("{s:i, s:s, s:s}", "version", 1, "seal", text,
				"signature", sig_hex);
		FUZZ_CHECK(doc);
		file = json_dumps(doc, JSON_COMPACT);
		FUZZ_CHECK(file);
		FUZZ_CHECK(store_seal_verify(&out, pub, file, strlen(file)) ==
			   0);
		FUZZ_CHECK(out.len == size && !memcmp(out.data, text, size));
		verify_file(pub, file, strlen(file));
		rv_buf_release(&out);
		free(file);
		json_decref(doc);
		free(text);
	} else {
		verify_file(pub, data, size);
	}
	return 0;
}
