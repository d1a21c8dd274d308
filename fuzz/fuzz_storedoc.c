/* fuzz_storedoc.c - the small JSON documents regvault reads from a target
 * or the local disk besides packs, frames, key slots and seals:
 *
 *	0  regvault.json, the store config (store/store.c store_config_parse)
 *	1  a lock file under locks/ (store/lock.c parse_lock)
 *	2  an opened snapshot record (maint/rebuild.c parse_record)
 *	3  Docker's config.json (registry/credentials.c reg_creds_lookup,
 *	   through a memfd; helpers are never run: PATH is emptied first)
 *
 * Input: the first byte picks the document, the rest is its bytes. The
 * parsers are static, so this file includes their .c files; the rest of
 * the libraries link as usual.
 * Invariants: only the documented codes; a config that parses has a 32-hex
 * store id, a format this build reads and a chunker within its bounds; a
 * lock that parses has a known kind, a host, a pid >= 1 and printable
 * text; a record that parses has the snapshot's id and only tags whose
 * repository, tag and digest are valid; credentials found come with a
 * username or an identity token; no message carries a control character. */
#include "fuzz_common.h"

#include "maint/rebuild.c"
#include "store/lock.c"
#include "store/store.c"

#include "registry/credentials.h"
#include "registry/registry.h"
#include "util/digest.h"

#include <sys/mman.h>
#include <unistd.h>

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rv_log_set_level(RV_LOG_ERROR);
	/* a credHelpers or credsStore entry must never start a program */
	setenv("PATH", "/nonexistent", 1);
	return 0;
}

static void check_msg(void)
{
	FUZZ_CHECK(!fuzz_has_ctl(rv_err_msg()));
}

static void fuzz_config(const struct rv_buf *doc)
{
	struct store_config c;
	struct target t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.name = "fuzz";
	rc = store_config_parse(&c, &t, doc);
	FUZZ_CHECK(rc == 0 || rc == RV_CORRUPT || rc == RV_UNSUPPORTED ||
		   rc == RV_NOMEM);
	if (rc) {
		check_msg();
		return;
	}
	FUZZ_CHECK(store_hex_ok(c.id, STORE_ID_HEX - 1));
	FUZZ_CHECK(c.format >= 1 && c.format <= STORE_FORMAT_VERSION);
	FUZZ_CHECK(c.chunker == STORE_CHUNKER_FIXED ||
		   c.chunker == STORE_CHUNKER_FASTCDC);
	if (c.chunker == STORE_CHUNKER_FIXED)
		FUZZ_CHECK(c.chunk_size >= STORE_CHUNK_MIN &&
			   c.chunk_size <= STORE_CHUNK_MAX);
	else
		FUZZ_CHECK(chunker_params_check(&c.cdc) == 0);
	FUZZ_CHECK(c.sign_priv_sealed_len <= sizeof(c.sign_priv_sealed));
}

static void fuzz_lock(const struct rv_buf *doc)
{
	struct store_lock_info info;

	memset(&info, 0, sizeof(info));
	if (parse_lock(&info, doc))
		return;
	FUZZ_CHECK(!strcmp(info.kind, "shared") ||
		   !strcmp(info.kind, "exclusive"));
	FUZZ_CHECK(info.host[0] && !fuzz_has_ctl(info.host));
	FUZZ_CHECK(!fuzz_has_ctl(info.command));
	FUZZ_CHECK(info.pid >= 1 && info.created >= 0 && info.refreshed >= 0);
}

#define SNAP_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void fuzz_record(const struct rv_buf *doc)
{
	struct cat_snapshot cs;
	struct snap_tag *tags = NULL;
	size_t n_tags = 0;
	json_t *root = json_loadb((const char *)doc->data, doc->len,
				  JSON_REJECT_DUPLICATES, NULL);
	int rc;

	if (!json_is_object(root)) {
		json_decref(root);
		return;
	}
	rc = parse_record(&cs, &tags, &n_tags, root, SNAP_ID);
	FUZZ_CHECK(rc == 0 || rc == RV_CORRUPT || rc == RV_NOMEM);
	if (rc) {
		FUZZ_CHECK(!tags && !n_tags);
		check_msg();
	} else {
		FUZZ_CHECK(!strcmp(cs.id, SNAP_ID));
		for (size_t i = 0; i < n_tags; i++) {
			FUZZ_CHECK(reg_repo_valid(tags[i].repo));
			FUZZ_CHECK(reg_tag_valid(tags[i].tag));
			FUZZ_CHECK(rv_digest_valid(tags[i].digest));
		}
	}
	free(tags);
	json_decref(root);
}

static void fuzz_creds(const uint8_t *data, size_t size)
{
	static const char *const hosts[] = {"127.0.0.1:5000",
					    "registry.example:443"};
	struct reg_creds c;

	if (memfd < 0) {
		memfd = memfd_create("fuzz-creds", 0);
		FUZZ_CHECK(memfd >= 0);
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d",
			 memfd);
	}
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
	for (size_t h = 0; h < sizeof(hosts) / sizeof(*hosts); h++) {
		int rc;

		memset(&c, 0, sizeof(c));
		rc = reg_creds_lookup(&c, memfd_path, hosts[h], 1);
		FUZZ_CHECK(rc == 0 || rc == RV_INVALID || rc == RV_AUTH ||
			   rc == RV_NOMEM);
		if (rc) {
			FUZZ_CHECK(!c.username && !c.password &&
				   !c.identity_token);
			check_msg();
		} else if (c.password) {
			FUZZ_CHECK(c.username || c.identity_token);
		}
		reg_creds_release(&c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_buf doc = RV_BUF_INIT(1 << 20);

	if (size < 1 || size - 1 > (1 << 20))
		return 0;
	if (rv_buf_add(&doc, data + 1, size - 1))
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_config(&doc);
		break;
	case 1:
		fuzz_lock(&doc);
		break;
	case 2:
		fuzz_record(&doc);
		break;
	default:
		fuzz_creds(data + 1, size - 1);
		break;
	}
	rv_buf_release(&doc);
	rv_err_clear();
	return 0;
}
