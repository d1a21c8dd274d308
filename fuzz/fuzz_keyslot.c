/* fuzz_keyslot.c - key slot documents as read from a target (store/keys.c
 * keyslot_open), with the passphrase "fuzz".
 *
 * A slot with legal but large scrypt parameters costs up to 1 GiB and
 * seconds by design; the target skips those (it screens n, r, p itself
 * before calling) and runs scrypt only when 128*N*r*p <= 2 MiB. Absurd
 * parameters are always passed through: the parser must refuse them
 * before any scrypt work.
 * Invariants: documented codes only; a slot whose parameters are out of
 * bounds (or not integers) never reaches scrypt, so never answers 0 or
 * RV_KEY; a slot that opens gives keys that seal into a new slot which
 * opens to the same master secret (round trip). */
#include "fuzz_common.h"

#include "store/keys.h"

#include <jansson.h>

FUZZ_QUIET_INIT()

#define STORE_ID "0123456789abcdef0123456789abcdef"
#define PASS "fuzz"
#define COST_MAX ((json_int_t)2 << 20)

/* 1: legal parameters, 0: not (or absent); *cost = 128*N*r*p */
static int params(const uint8_t *data, size_t size, json_int_t *cost)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	json_t *n = json_object_get(doc, "n"), *r = json_object_get(doc, "r"),
	       *p = json_object_get(doc, "p");
	json_int_t nv, rv, pv;
	int legal = 0;

	*cost = 0;
	if (json_is_integer(n) && json_is_integer(r) && json_is_integer(p)) {
		nv = json_integer_value(n);
		rv = json_integer_value(r);
		pv = json_integer_value(p);
		legal = nv >= 1024 && nv <= (1 << 22) && !(nv & (nv - 1)) &&
			rv >= 1 && rv <= 32 && pv >= 1 && pv <= 16 &&
			128 * nv * rv <= ((json_int_t)1 << 30);
		if (legal)
			*cost = 128 * nv * rv * pv;
	}
	json_decref(doc);
	return legal;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_keys k, again;
	struct rv_buf slot = RV_BUF_INIT(65536);
	struct keyslot_params kp = {1024, 1, 1};
	json_int_t cost;
	int legal, rc;

	if (size > 70000)
		return 0;
	legal = params(data, size, &cost);
	if (legal && cost > COST_MAX)
		return 0;
	memset(&k, 0x5a, sizeof(k));
	rc = keyslot_open(&k, STORE_ID, data, size, PASS, strlen(PASS));
	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_KEY, RV_INVALID, RV_CORRUPT,
				RV_UNSUPPORTED, RV_NOMEM));
	if (!legal)
		FUZZ_CHECK(rc != 0 && rc != RV_KEY);
	if (rc) {
		/* nothing written to the caller's keys before success */
		for (size_t i = 0; i < sizeof(k); i++)
			FUZZ_CHECK(((unsigned char *)&k)[i] == 0x5a);
		return 0;
	}
	FUZZ_CHECK(keyslot_seal(&slot, &k, STORE_ID, PASS, strlen(PASS), &kp) ==
		   0);
	FUZZ_CHECK(keyslot_open(&again, STORE_ID, slot.data, slot.len, PASS,
				strlen(PASS)) == 0);
	FUZZ_CHECK(!memcmp(&again, &k, sizeof(k)));
	FUZZ_CHECK(keyslot_open(&again, STORE_ID "x", slot.data, slot.len, PASS,
				strlen(PASS)) == RV_KEY);
	keys_wipe(&again);
	keys_wipe(&k);
	rv_buf_release(&slot);
	return 0;
}
