/* test_store_keys.c - master keys, derived keys, key slots (store/keys.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/keys.h"
#include "util/buf.h"
#include "util/err.h"

#include <jansson.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_ID "3f2a9c0e-store"
#define PASS "correct horse battery staple"

static const struct keyslot_params fast = {1024, 8, 1};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return 0;
	return 1;
}

static void make_slot(struct rv_buf *slot, struct store_keys *k)
{
	assert_int_equal(keys_generate(k, STORE_ID), 0);
	rv_buf_init(slot, 65536);
	assert_int_equal(
	    keyslot_seal(slot, k, STORE_ID, PASS, strlen(PASS), &fast), 0);
}

/* The slot document with one member replaced (or removed when value is
 * NULL), re-serialised. Takes ownership of value. */
static char *edit_slot(const struct rv_buf *slot, const char *name,
		       json_t *value)
{
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)slot->data, slot->len, 0, &jerr);
	char *text;

	assert_non_null(doc);
	if (value)
		assert_int_equal(json_object_set_new(doc, name, value), 0);
	else
		assert_int_equal(json_object_del(doc, name), 0);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);
	json_decref(doc);
	return text;
}

static int open_text(struct store_keys *k, const char *text)
{
	return keyslot_open(k, STORE_ID, text, strlen(text), PASS,
			    strlen(PASS));
}

static void expect_edit(const struct rv_buf *slot, const char *name,
			json_t *value, int code)
{
	struct store_keys k;
	char *text = edit_slot(slot, name, value);
	double t0 = now();

	memset(&k, 0, sizeof(k));
	assert_int_equal(open_text(&k, text), code);
	/* refused before any scrypt work, and k untouched */
	assert_true(now() - t0 < 0.5);
	assert_true(is_zero(&k, sizeof(k)));
	free(text);
}

static void test_keys_generate_fills_distinct_keys(void **state)
{
	struct store_keys a, b;

	(void)state;
	assert_int_equal(keys_generate(&a, STORE_ID), 0);
	assert_int_equal(keys_generate(&b, STORE_ID), 0);
	assert_false(is_zero(a.master, KEYS_MASTER_LEN));
	assert_memory_not_equal(a.master, b.master, KEYS_MASTER_LEN);
	assert_memory_not_equal(a.data_key, a.id_key, KEYS_KEY_LEN);
	assert_memory_not_equal(a.data_key, b.data_key, KEYS_KEY_LEN);
	keys_wipe(&a);
	assert_true(is_zero(&a, sizeof(a)));
	keys_wipe(&b);
	keys_wipe(NULL);
}

static void test_keys_derive_is_deterministic_and_bound_to_store(void **s)
{
	struct store_keys a, b;

	(void)s;
	assert_int_equal(keys_generate(&a, STORE_ID), 0);
	memset(&b, 0, sizeof(b));
	memcpy(b.master, a.master, KEYS_MASTER_LEN);
	assert_int_equal(keys_derive(&b, STORE_ID), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(keys_derive(&b, "another-store"), 0);
	assert_memory_not_equal(a.data_key, b.data_key, KEYS_KEY_LEN);
	assert_memory_not_equal(a.id_key, b.id_key, KEYS_KEY_LEN);
	assert_int_equal(keys_derive(&b, ""), RV_INVALID);
	assert_int_equal(keys_generate(&b, NULL), RV_INVALID);
}

static void test_keys_derive_matches_known_answer(void **state)
{
	/* HKDF-SHA256(IKM = 64 x 0x01, salt = "store", info) computed
	 * independently with Python's hmac module (RFC 5869 by hand). */
	static const unsigned char data_key[32] = {
	    0x20, 0x9e, 0x0f, 0x0a, 0xb5, 0xde, 0xbb, 0x18, 0xf8, 0x61, 0x30,
	    0x6c, 0x15, 0xf3, 0x09, 0xe4, 0xb1, 0x4e, 0xa4, 0x25, 0x0d, 0x5c,
	    0x6e, 0x90, 0xd8, 0x3a, 0xe0, 0xc7, 0x50, 0x21, 0xc8, 0xaa,
	};
	static const unsigned char id_key[32] = {
	    0x85, 0xeb, 0xfc, 0xd3, 0x77, 0x31, 0xde, 0xba, 0x42, 0x8a, 0x1c,
	    0x35, 0xdc, 0x81, 0x3e, 0x67, 0xe8, 0x8e, 0x0f, 0x65, 0xe2, 0x57,
	    0xc9, 0xc0, 0x65, 0x9b, 0x56, 0x60, 0xa1, 0x50, 0xb8, 0xc7,
	};
	struct store_keys k;

	(void)state;
	memset(&k, 0, sizeof(k));
	memset(k.master, 0x01, KEYS_MASTER_LEN);
	assert_int_equal(keys_derive(&k, "store"), 0);
	assert_memory_equal(k.data_key, data_key, 32);
	assert_memory_equal(k.id_key, id_key, 32);
}

static void test_keys_chunk_id_is_deterministic_and_key_dependent(void **s)
{
	struct store_keys a, b;
	unsigned char id1[KEYS_ID_LEN], id2[KEYS_ID_LEN], id3[KEYS_ID_LEN];
	unsigned char id4[KEYS_ID_LEN], empty[KEYS_ID_LEN];

	(void)s;
	assert_int_equal(keys_generate(&a, STORE_ID), 0);
	assert_int_equal(keys_generate(&b, STORE_ID), 0);
	assert_int_equal(keys_chunk_id(id1, &a, "layer bytes", 11), 0);
	assert_int_equal(keys_chunk_id(id2, &a, "layer bytes", 11), 0);
	assert_memory_equal(id1, id2, KEYS_ID_LEN);
	assert_int_equal(keys_chunk_id(id3, &b, "layer bytes", 11), 0);
	assert_memory_not_equal(id1, id3, KEYS_ID_LEN);
	assert_int_equal(keys_chunk_id(id4, &a, "layer byteS", 11), 0);
	assert_memory_not_equal(id1, id4, KEYS_ID_LEN);
	assert_int_equal(keys_chunk_id(empty, &a, NULL, 0), 0);
	assert_memory_not_equal(id1, empty, KEYS_ID_LEN);
}

static void test_keys_chunk_id_is_hmac_sha256(void **state)
{
	/* HMAC-SHA256(key = 32 x 0x0b, "Hi There"), computed independently
	 * with Python's hmac module. */
	static const unsigned char want[32] = {
	    0x19, 0x8a, 0x60, 0x7e, 0xb4, 0x4b, 0xfb, 0xc6, 0x99, 0x03, 0xa0,
	    0xf1, 0xcf, 0x2b, 0xbd, 0xc5, 0xba, 0x0a, 0xa3, 0xf3, 0xd9, 0xae,
	    0x3c, 0x1c, 0x7a, 0x3b, 0x16, 0x96, 0xa0, 0xb6, 0x8c, 0xf7,
	};
	struct store_keys k;
	unsigned char got[KEYS_ID_LEN];

	(void)state;
	memset(&k, 0, sizeof(k));
	memset(k.id_key, 0x0b, KEYS_KEY_LEN);
	assert_int_equal(keys_chunk_id(got, &k, "Hi There", 8), 0);
	assert_memory_equal(got, want, 32);
}

static void test_keyslot_params_default(void **state)
{
	struct keyslot_params p;

	(void)state;
	unsetenv("REGVAULT_TEST_FAST_KDF");
	keyslot_params_default(&p);
	assert_int_equal(p.n, 32768);
	assert_int_equal(p.r, 8);
	assert_int_equal(p.p, 1);
	setenv("REGVAULT_TEST_FAST_KDF", "1", 1);
	keyslot_params_default(&p);
	assert_int_equal(p.n, 1024);
	assert_int_equal(p.r, 8);
	assert_int_equal(p.p, 1);
	unsetenv("REGVAULT_TEST_FAST_KDF");
}

static void test_keyslot_round_trips(void **state)
{
	struct store_keys k, opened;
	struct rv_buf slot;
	json_error_t jerr;
	json_t *doc;

	(void)state;
	make_slot(&slot, &k);

	/* the documented shape, compact with sorted keys */
	assert_int_equal(
	    strncmp((const char *)slot.data, "{\"kdf\":\"scrypt\"", 15), 0);
	doc = json_loadb((const char *)slot.data, slot.len, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_object_size(doc), 8);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "n")), 1024);
	assert_int_equal(json_integer_value(json_object_get(doc, "r")), 8);
	assert_int_equal(json_integer_value(json_object_get(doc, "p")), 1);
	assert_int_equal(
	    strlen(json_string_value(json_object_get(doc, "salt"))), 44);
	assert_int_equal(
	    strlen(json_string_value(json_object_get(doc, "nonce"))), 16);
	assert_int_equal(
	    strlen(json_string_value(json_object_get(doc, "wrapped"))), 108);
	json_decref(doc);

	memset(&opened, 0, sizeof(opened));
	assert_int_equal(keyslot_open(&opened, STORE_ID, slot.data, slot.len,
				      PASS, strlen(PASS)),
			 0);
	assert_memory_equal(&opened, &k, sizeof(k));
	rv_buf_release(&slot);
}

static void test_keyslot_two_slots_open_the_same_keys(void **state)
{
	struct store_keys k, o1, o2;
	struct rv_buf s1, s2 = RV_BUF_INIT(65536);

	(void)state;
	make_slot(&s1, &k);
	assert_int_equal(keyslot_seal(&s2, &k, STORE_ID, "other", 5, &fast), 0);
	assert_int_equal(
	    keyslot_open(&o1, STORE_ID, s1.data, s1.len, PASS, strlen(PASS)),
	    0);
	assert_int_equal(
	    keyslot_open(&o2, STORE_ID, s2.data, s2.len, "other", 5), 0);
	assert_memory_equal(&o1, &o2, sizeof(o1));
	/* each passphrase opens only its own slot */
	assert_int_equal(
	    keyslot_open(&o2, STORE_ID, s2.data, s2.len, PASS, strlen(PASS)),
	    RV_KEY);
	rv_buf_release(&s1);
	rv_buf_release(&s2);
}

static void test_keyslot_rejects_wrong_passphrase(void **state)
{
	struct store_keys k, opened;
	struct rv_buf slot;

	(void)state;
	make_slot(&slot, &k);
	memset(&opened, 0, sizeof(opened));
	assert_int_equal(
	    keyslot_open(&opened, STORE_ID, slot.data, slot.len, "hunter2", 7),
	    RV_KEY);
	assert_non_null(strstr(rv_err_msg(), "wrong passphrase"));
	assert_null(strstr(rv_err_msg(), "hunter2"));
	assert_true(is_zero(&opened, sizeof(opened)));
	/* a prefix of the right passphrase is still wrong */
	assert_int_equal(keyslot_open(&opened, STORE_ID, slot.data, slot.len,
				      PASS, strlen(PASS) - 1),
			 RV_KEY);
	assert_int_equal(
	    keyslot_open(&opened, STORE_ID, slot.data, slot.len, "", 0),
	    RV_KEY);
	rv_buf_release(&slot);
}

static void test_keyslot_is_bound_to_its_store(void **state)
{
	struct store_keys k, opened;
	struct rv_buf slot;

	(void)state;
	make_slot(&slot, &k);
	assert_int_equal(keyslot_open(&opened, "another-store", slot.data,
				      slot.len, PASS, strlen(PASS)),
			 RV_KEY);
	rv_buf_release(&slot);
}

static void test_keyslot_rejects_tampered_wrapped_key(void **state)
{
	struct store_keys k;
	struct rv_buf slot;
	json_error_t jerr;
	json_t *doc;
	char wrapped[109];

	(void)state;
	make_slot(&slot, &k);
	doc = json_loadb((const char *)slot.data, slot.len, 0, &jerr);
	assert_non_null(doc);
	memcpy(wrapped, json_string_value(json_object_get(doc, "wrapped")),
	       109);
	wrapped[10] = wrapped[10] == 'A' ? 'B' : 'A';
	expect_edit(&slot, "wrapped", json_string(wrapped), RV_KEY);
	json_decref(doc);
	rv_buf_release(&slot);
}

static void test_keyslot_rejects_absurd_params_fast(void **state)
{
	struct store_keys k;
	struct rv_buf slot;

	(void)state;
	make_slot(&slot, &k);
	expect_edit(&slot, "n", json_integer((json_int_t)1 << 40), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "absurd scrypt parameters"));
	expect_edit(&slot, "n", json_integer(3000), RV_INVALID);
	expect_edit(&slot, "n", json_integer(512), RV_INVALID);
	expect_edit(&slot, "n", json_integer(0), RV_INVALID);
	expect_edit(&slot, "n", json_integer(-1024), RV_INVALID);
	expect_edit(&slot, "n", json_integer((json_int_t)1 << 23), RV_INVALID);
	expect_edit(&slot, "r", json_integer(0), RV_INVALID);
	expect_edit(&slot, "r", json_integer(33), RV_INVALID);
	expect_edit(&slot, "p", json_integer(0), RV_INVALID);
	expect_edit(&slot, "p", json_integer(1000000), RV_INVALID);
	expect_edit(&slot, "p", json_integer(17), RV_INVALID);
	/* each within range, together over 1 GiB: 128 * 2^22 * 4 = 2 GiB */
	char *text = edit_slot(&slot, "n", json_integer((json_int_t)1 << 22));
	struct rv_buf big = RV_BUF_INIT(65536);
	assert_int_equal(rv_buf_puts(&big, text), 0);
	free(text);
	expect_edit(&big, "r", json_integer(4), RV_INVALID);
	rv_buf_release(&big);
	rv_buf_release(&slot);
}

static void test_keyslot_seal_refuses_absurd_params(void **state)
{
	struct store_keys k;
	struct rv_buf slot = RV_BUF_INIT(65536);
	struct keyslot_params bad[] = {
	    {(uint64_t)1 << 40, 8, 1},
	    {1000, 8, 1},
	    {1024, 0, 1},
	    {1024, 8, 17},
	};

	(void)state;
	assert_int_equal(keys_generate(&k, STORE_ID), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(keyslot_seal(&slot, &k, STORE_ID, PASS,
					      strlen(PASS), &bad[i]),
				 RV_INVALID);
	assert_int_equal(keyslot_seal(&slot, &k, STORE_ID, "", 0, &fast),
			 RV_INVALID);
	assert_int_equal(slot.len, 0);
	rv_buf_release(&slot);
}

static void test_keyslot_rejects_unknown_version_or_kdf(void **state)
{
	struct store_keys k;
	struct rv_buf slot;

	(void)state;
	make_slot(&slot, &k);
	expect_edit(&slot, "version", json_integer(2), RV_UNSUPPORTED);
	expect_edit(&slot, "kdf", json_string("argon2id"), RV_UNSUPPORTED);
	rv_buf_release(&slot);
}

static void test_keyslot_rejects_malformed_documents(void **state)
{
	static const char *docs[] = {
	    "",	    "not json",	      "[]",
	    "{}",   "{\"version\":1", "{\"version\":1,\"version\":1}",
	    "null",
	};
	struct store_keys k;

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		assert_int_equal(open_text(&k, docs[i]), RV_CORRUPT);
}

static void test_keyslot_rejects_bad_fields(void **state)
{
	struct store_keys k;
	struct rv_buf slot;
	static const char *names[] = {"version", "kdf",	 "n",	  "r",
				      "p",	 "salt", "nonce", "wrapped"};

	(void)state;
	make_slot(&slot, &k);
	for (size_t i = 0; i < 8; i++)
		expect_edit(&slot, names[i], NULL, RV_CORRUPT);
	expect_edit(&slot, "version", json_string("1"), RV_CORRUPT);
	expect_edit(&slot, "kdf", json_integer(1), RV_CORRUPT);
	expect_edit(&slot, "n", json_real(1024.0), RV_CORRUPT);
	expect_edit(&slot, "n", json_string("1024"), RV_CORRUPT);
	expect_edit(&slot, "r", json_true(), RV_CORRUPT);
	expect_edit(&slot, "p", json_null(), RV_CORRUPT);
	expect_edit(&slot, "salt", json_integer(5), RV_CORRUPT);
	/* bad base64 and wrong lengths */
	expect_edit(&slot, "salt", json_string("!!!!"), RV_CORRUPT);
	expect_edit(&slot, "salt",
		    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="),
		    RV_CORRUPT); /* 31 bytes */
	expect_edit(
	    &slot, "salt",
	    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
	    RV_CORRUPT); /* 35 bytes */
	expect_edit(&slot, "salt",
		    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="),
		    RV_CORRUPT); /* non-canonical padding bits */
	expect_edit(
	    &slot, "salt",
	    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA A="),
	    RV_CORRUPT); /* whitespace */
	expect_edit(&slot, "salt",
		    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		    RV_CORRUPT); /* padding missing */
	expect_edit(&slot, "nonce", json_string("AAAAAAAAAAAAAAAA AAAA"),
		    RV_CORRUPT);
	expect_edit(&slot, "nonce", json_string("AAAAAAAAAAAAAAA="),
		    RV_CORRUPT);
	expect_edit(&slot, "wrapped", json_string("AAAA"), RV_CORRUPT);
	expect_edit(&slot, "salt", json_string(""), RV_CORRUPT);
	rv_buf_release(&slot);
}

static void test_keyslot_accepts_canonical_base64(void **state)
{
	struct store_keys k;
	struct rv_buf slot;

	(void)state;
	make_slot(&slot, &k);
	/* a different, well-formed salt parses, then fails only on the tag */
	expect_edit(&slot, "salt",
		    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
		    RV_KEY);
	expect_edit(&slot, "salt",
		    json_string("+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/8="),
		    RV_KEY);
	rv_buf_release(&slot);
}

static void test_keyslot_rejects_oversized_document(void **state)
{
	struct store_keys k;
	struct rv_buf slot, big = RV_BUF_INIT(1 << 20);

	(void)state;
	make_slot(&slot, &k);
	/* a valid slot padded with whitespace beyond 64 KiB */
	assert_int_equal(rv_buf_add(&big, slot.data, slot.len), 0);
	while (big.len <= 65536)
		assert_int_equal(rv_buf_puts(&big, "        "), 0);
	assert_int_equal(
	    keyslot_open(&k, STORE_ID, big.data, big.len, PASS, strlen(PASS)),
	    RV_CORRUPT);
	/* under the cap the same padding is fine */
	assert_int_equal(
	    keyslot_open(&k, STORE_ID, big.data, 60000, PASS, strlen(PASS)), 0);
	rv_buf_release(&big);
	rv_buf_release(&slot);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_generate_fills_distinct_keys),
	    cmocka_unit_test(
		test_keys_derive_is_deterministic_and_bound_to_store),
	    cmocka_unit_test(test_keys_derive_matches_known_answer),
	    cmocka_unit_test(
		test_keys_chunk_id_is_deterministic_and_key_dependent),
	    cmocka_unit_test(test_keys_chunk_id_is_hmac_sha256),
	    cmocka_unit_test(test_keyslot_params_default),
	    cmocka_unit_test(test_keyslot_round_trips),
	    cmocka_unit_test(test_keyslot_two_slots_open_the_same_keys),
	    cmocka_unit_test(test_keyslot_rejects_wrong_passphrase),
	    cmocka_unit_test(test_keyslot_is_bound_to_its_store),
	    cmocka_unit_test(test_keyslot_rejects_tampered_wrapped_key),
	    cmocka_unit_test(test_keyslot_rejects_absurd_params_fast),
	    cmocka_unit_test(test_keyslot_seal_refuses_absurd_params),
	    cmocka_unit_test(test_keyslot_rejects_unknown_version_or_kdf),
	    cmocka_unit_test(test_keyslot_rejects_malformed_documents),
	    cmocka_unit_test(test_keyslot_rejects_bad_fields),
	    cmocka_unit_test(test_keyslot_accepts_canonical_base64),
	    cmocka_unit_test(test_keyslot_rejects_oversized_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
