/* fuzz_frame.c - sealed frames as read from a target (store/frame.c
 * frame_open), with a fixed key.
 *
 * Input: byte 0 picks the mode. Modes 0-3 open the rest as a frame of
 * type 1-4 (chunk, pack index, snapshot, signing key) into a buffer that
 * already holds a prefix and has a 4 MiB cap. Mode 4 seals the rest
 * (compressed or not, by byte 1), opens it again and compares (round
 * trip), then flips one bit (position from bytes 2-5) or cuts one byte,
 * or opens under another id, and wants each refused.
 * Invariants: documented codes only; a failed open leaves the buffer as
 * it was (nothing half-committed); a successful one appends at most the
 * cap; tampering never opens. */
#include "fuzz_common.h"

#include "store/frame.h"

FUZZ_QUIET_INIT()

#define OUT_CAP ((size_t)4 << 20)
static const unsigned char key[32] = {
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
static const unsigned char id[FRAME_ID_LEN]; /* zeros, as a pack index */

static void open_raw(int type, const uint8_t *data, size_t size)
{
	struct rv_buf out = RV_BUF_INIT(OUT_CAP);
	int rc;

	FUZZ_CHECK(rv_buf_puts(&out, "prefix") == 0);
	rc = frame_open(&out, key, type, id, data, size);
	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_TOOBIG, RV_NOMEM));
	if (rc)
		FUZZ_CHECK(out.len == 6);
	FUZZ_CHECK(out.len <= OUT_CAP);
	FUZZ_CHECK(!memcmp(out.data, "prefix", 6));
	FUZZ_CHECK(out.data[out.len] == '\0');
	rv_buf_release(&out);
}

static void round_trip(const uint8_t *data, size_t size)
{
	struct rv_buf sealed = RV_BUF_INIT(OUT_CAP + 65536);
	struct rv_buf out = RV_BUF_INIT(OUT_CAP);
	unsigned char other[FRAME_ID_LEN] = {1};
	uint32_t pos;
	int rc;

	if (size < 6 || size - 6 > OUT_CAP)
		return;
	pos = (uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 |
	      (uint32_t)data[4] << 8 | data[5];
	rc = frame_seal(&sealed, key, FRAME_CHUNK, id, data + 6, size - 6,
			data[1] & 1);
	FUZZ_CHECK(rc == 0);
	rc = frame_open(&out, key, FRAME_CHUNK, id, sealed.data, sealed.len);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(out.len == size - 6 && !memcmp(out.data, data + 6, out.len));
	rv_buf_reset(&out);

	rc = frame_open(&out, key, FRAME_CHUNK, other, sealed.data, sealed.len);
	FUZZ_CHECK(rc == RV_CORRUPT && out.len == 0);
	rc =
	    frame_open(&out, key, FRAME_CHUNK, id, sealed.data, sealed.len - 1);
	FUZZ_CHECK(rc == RV_CORRUPT && out.len == 0);
	pos %= (uint32_t)(sealed.len * 8);
	sealed.data[pos / 8] ^= (unsigned char)(1u << (pos % 8));
	rc = frame_open(&out, key, FRAME_CHUNK, id, sealed.data, sealed.len);
	FUZZ_CHECK((rc == RV_CORRUPT || rc == RV_TOOBIG) && out.len == 0);
	rv_buf_release(&out);
	rv_buf_release(&sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	int mode;

	if (size < 1 || size > OUT_CAP + 65536)
		return 0;
	mode = data[0] % 5;
	if (mode == 4) {
		round_trip(data, size);
		return 0;
	}
	/* exactly the frame's bytes, so ASan sees a read past them */
	copy = malloc(size - 1 ? size - 1 : 1);
	FUZZ_CHECK(copy);
	memcpy(copy, data + 1, size - 1);
	open_raw(mode + 1, copy, size - 1);
	free(copy);
	return 0;
}
