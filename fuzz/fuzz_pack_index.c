/* fuzz_pack_index.c - packs as read from a target (store/pack_read.c
 * pack_index_read), with a fixed key.
 *
 * Input: byte 0 picks the mode. Mode 0: the rest is a whole pack file
 * (tar walk, index frame). Mode 1: the rest is the index JSON; the target
 * seals it with the key and builds a pack around it (two chunk entries,
 * pack_build.h), so that the index parser is reached past the AEAD.
 * Invariants: documented codes only; on success every chunk the index
 * lists lies inside the pack, no chunk id twice, the index lists exactly
 * the pack's chunk entries, every blob digest is valid and every media
 * type NUL-terminated inside its array. */
#include "fuzz_common.h"

#include "pack_build.h"
#include "store/pack.h"
#include "util/digest.h"

FUZZ_QUIET_INIT()

#define PACK_CAP ((size_t)1 << 20)

static void check(const uint8_t *pack, size_t len)
{
	struct pack_index *ix = NULL;
	int rc = pack_index_read(&ix, pb_key, pack, len);

	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_UNSUPPORTED, RV_NOMEM));
	FUZZ_CHECK(rc ? ix == NULL : ix != NULL);
	if (!ix)
		return;
	for (size_t i = 0; i < ix->n_chunks; i++) {
		const struct pack_chunk *c = &ix->chunks[i];
		FUZZ_CHECK(c->length > 0 && c->offset >= 512);
		FUZZ_CHECK(c->offset + c->length <= len);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(memcmp(ix->chunks[j].id, c->id, 32));
	}
	for (size_t i = 0; i < ix->n_blobs; i++) {
		const struct pack_blob *b = &ix->blobs[i];
		FUZZ_CHECK(rv_digest_valid(b->digest));
		FUZZ_CHECK(b->size >= 0);
		FUZZ_CHECK(b->kind == PACK_BLOB || b->kind == PACK_MANIFEST);
		FUZZ_CHECK(memchr(b->media_type, '\0', sizeof(b->media_type)));
		FUZZ_CHECK((b->n_chunks == 0) || b->chunks);
	}
	pack_index_free(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char *pack;
	uint8_t *copy;
	size_t used = 0;

	if (size < 1 || size > PACK_CAP / 2)
		return 0;
	if (data[0] % 2 == 0) {
		copy = malloc(size - 1 ? size - 1 : 1);
		FUZZ_CHECK(copy);
		memcpy(copy, data + 1, size - 1);
		check(copy, size - 1);
		free(copy);
		return 0;
	}
	if (!pack)
		pack = malloc(PACK_CAP);
	FUZZ_CHECK(pack);
	FUZZ_CHECK(pb_build(pack, PACK_CAP, &used, data + 1, size - 1) == 0);
	check(pack, used);
	return 0;
}
