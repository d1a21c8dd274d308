/* make_seeds.c - write the seed files that need a key or a signature
 * (frames, packs, key slots, seal files) into fuzz/corpus/<target>/.
 * Run by hand after a format change: fuzz_make_seeds fuzz/corpus
 * (fuzz/README.md). The keys are the fixed ones the targets use. */
#include "pack_build.h"
#include "store/frame.h"
#include "store/keys.h"
#include "store/sign.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;

static void put(const char *target, const char *name, unsigned char mode,
		const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fputc(mode, f) == EOF || fwrite(data, 1, len, f) != len ||
	    fclose(f)) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

#define INDEX_JSON                                                             \
	"{\"version\":1,\"chunks\":["                                          \
	"{\"id\":\"" PB_ID_A "\",\"offset\":512,\"length\":100,"               \
	"\"plain\":90},"                                                       \
	"{\"id\":\"" PB_ID_B "\",\"offset\":1536,\"length\":100,"              \
	"\"plain\":1000}],"                                                    \
	"\"blobs\":[{\"digest\":\"sha256:"                                     \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\","  \
	"\"size\":1090,\"kind\":\"blob\",\"chunks\":[\"" PB_ID_A               \
	"\",\"" PB_ID_B "\"]},{\"digest\":\"sha256:"                           \
	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\","  \
	"\"size\":90,\"kind\":\"manifest\",\"media_type\":"                    \
	"\"application/"                                                       \
	"vnd.oci.image.manifest.v1+json\",\"chunks\":[\"" PB_ID_A "\"]}]}"

#define SEAL_TEXT                                                              \
	"{\"packs\":[{\"id\":\"1111111111111111111111111111111111111111111111" \
	"111111111111111111\",\"size\":42}],\"previous\":\"\",\"record\":\""   \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","  \
	"\"sequence\":1,\"snapshot\":\""                                       \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","  \
	"\"source\":\"prod\",\"store_id\":"                                    \
	"\"0123456789abcdef0123456789abcdef\""                                 \
	",\"time\":1795000000,\"version\":1}"

static void frames(void)
{
	static const unsigned char key[32] = {
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
	static const unsigned char id[FRAME_ID_LEN];
	const char *text = "a chunk of text a chunk of text a chunk of text "
			   "a chunk of text a chunk of text a chunk of text";
	struct rv_buf b = RV_BUF_INIT(1 << 20);
	char name[64];

	for (int type = 1; type <= 4; type++) {
		for (int z = 0; z < 2; z++) {
			rv_buf_reset(&b);
			if (frame_seal(&b, key, type, id, text, strlen(text),
				       z)) {
				fprintf(stderr, "%s\n", rv_err_msg());
				exit(1);
			}
			snprintf(name, sizeof(name), "type%d-%s", type,
				 z ? "zstd" : "raw");
			put("fuzz_frame", name, (unsigned char)(type - 1),
			    b.data, b.len);
		}
	}
	rv_buf_reset(&b);
	if (frame_seal(&b, key, 1, id, "", 0, 0))
		exit(1);
	put("fuzz_frame", "type1-empty", 0, b.data, b.len);
	/* mode 4: seal-open round trip; byte 1 compress, 2-5 flip position */
	put("fuzz_frame", "roundtrip", 4,
	    "\x01\x00\x00\x01\x23the quick brown fox, the quick brown fox", 44);
	rv_buf_release(&b);
}

static void packs(void)
{
	static unsigned char pack[1 << 16];
	size_t used = 0;

	if (pb_build(pack, sizeof(pack), &used, INDEX_JSON,
		     strlen(INDEX_JSON))) {
		fprintf(stderr, "cannot build the seed pack\n");
		exit(1);
	}
	put("fuzz_pack_index", "pack", 0, pack, used);
	put("fuzz_pack_index", "index-json", 1, INDEX_JSON, strlen(INDEX_JSON));
}

static void keyslots(void)
{
	struct store_keys k;
	struct keyslot_params p = {1024, 1, 1};
	struct rv_buf b = RV_BUF_INIT(65536);

	memset(&k, 0, sizeof(k));
	memset(k.master, 0x77, sizeof(k.master));
	if (keys_derive(&k, "0123456789abcdef0123456789abcdef") ||
	    keyslot_seal(&b, &k, "0123456789abcdef0123456789abcdef", "fuzz", 4,
			 &p)) {
		fprintf(stderr, "%s\n", rv_err_msg());
		exit(1);
	}
	/* keyslot has no mode byte: write it whole */
	{
		char path[512];
		FILE *f;
		snprintf(path, sizeof(path), "%s/fuzz_keyslot/slot-n1024", dir);
		f = fopen(path, "wb");
		if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f))
			exit(1);
	}
	rv_buf_release(&b);
}

static void seals(void)
{
	static const unsigned char priv[SIGN_KEY_LEN] = {
	    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
	    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
	    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44};
	unsigned char sig[SIGN_SIG_LEN];
	char hex[2 * SIGN_SIG_LEN + 1], *file;
	json_t *doc;

	if (sign_sign(sig, priv, SEAL_TEXT, strlen(SEAL_TEXT)))
		exit(1);
	rv_hex_encode(hex, sig, sizeof(sig));
	doc = json_pack("{s:i, s:s, s:s}", "version", 1, "seal", SEAL_TEXT,
			"signature", hex);
	file = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!file)
		exit(1);
	put("fuzz_sealtext", "seal-file", 2, file, strlen(file));
	free(file);
	json_decref(doc);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_make_seeds fuzz/corpus\n");
		return 2;
	}
	dir = argv[1];
	frames();
	packs();
	keyslots();
	seals();
	return 0;
}
