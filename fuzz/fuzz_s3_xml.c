/* fuzz_s3_xml.c - every XML body an S3 server sends us (store/s3_xml.c):
 * ListObjectsV2 and ListObjectVersions pages, error bodies, multipart
 * initiate and complete answers; and s3_xml_escape against the reader.
 *
 * Input: the first byte picks the parser, the rest is the body.
 * Invariants: documented codes only; keys 1..S3_KEY_MAX bytes without NUL,
 * at most S3_PAGE_KEYS_MAX; a truncated page has its marker; keys and
 * version ids stay in step; on failure nothing is left appended and the
 * markers are NULL; error fields NUL-terminated inside their arrays with
 * no control character; text escaped with s3_xml_escape reads back
 * exactly (round trip). */
#include "fuzz_common.h"

#include "store/s3_xml.h"
#include "util/buf.h"
#include "util/strlist.h"

FUZZ_QUIET_INIT()

static void check_key(const char *k, size_t max)
{
	size_t n = strlen(k);
	FUZZ_CHECK(n >= 1 && n <= max);
}

static void check_err(const struct s3_error *e)
{
	FUZZ_CHECK(memchr(e->code, '\0', sizeof(e->code)));
	FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)));
	FUZZ_CHECK(memchr(e->request_id, '\0', sizeof(e->request_id)));
	for (const char *p = e->message; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20);
	for (const char *p = e->code; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20);
}

static void fuzz_list(const char *xml, size_t len)
{
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page = {&keys, 0, NULL};
	int rc;

	FUZZ_CHECK(rv_strlist_add(&keys, "before") == 0);
	rc = s3_xml_parse_list(&page, xml, len);
	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_NOMEM));
	FUZZ_CHECK(!strcmp(keys.items[0], "before"));
	if (rc) {
		FUZZ_CHECK(keys.n == 1 && !page.next_token && !page.truncated);
	} else {
		FUZZ_CHECK(keys.n - 1 <= S3_PAGE_KEYS_MAX);
		for (size_t i = 1; i < keys.n; i++)
			check_key(keys.items[i], S3_KEY_MAX);
		if (page.truncated)
			FUZZ_CHECK(page.next_token && *page.next_token);
		if (page.next_token)
			FUZZ_CHECK(strlen(page.next_token) <= S3_TOKEN_MAX);
	}
	free(page.next_token);
	rv_strlist_release(&keys);
}

static void fuzz_versions(const char *xml, size_t len)
{
	struct rv_strlist keys = RV_STRLIST_INIT, ids = RV_STRLIST_INIT;
	struct s3_versions_page page = {&keys, &ids, 0, NULL, NULL};
	int rc = s3_xml_parse_versions(&page, xml, len);

	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_NOMEM));
	FUZZ_CHECK(keys.n == ids.n);
	if (rc) {
		FUZZ_CHECK(keys.n == 0 && !page.next_key_marker &&
			   !page.next_version_id_marker && !page.truncated);
	} else {
		FUZZ_CHECK(keys.n <= S3_PAGE_KEYS_MAX);
		for (size_t i = 0; i < keys.n; i++) {
			check_key(keys.items[i], S3_KEY_MAX);
			check_key(ids.items[i], S3_VERSION_ID_MAX);
		}
		if (page.truncated)
			FUZZ_CHECK(page.next_key_marker);
		if (page.next_key_marker)
			check_key(page.next_key_marker, S3_KEY_MAX);
		if (page.next_version_id_marker)
			check_key(page.next_version_id_marker,
				  S3_VERSION_ID_MAX);
	}
	free(page.next_key_marker);
	free(page.next_version_id_marker);
	rv_strlist_release(&keys);
	rv_strlist_release(&ids);
}

/* Escape the input as the text of <Message> and read it back. */
static void fuzz_escape(const char *s)
{
	struct rv_buf xml = RV_BUF_INIT(S3_XML_MAX);
	struct s3_error e;
	int rc;

	if (strlen(s) >= S3_ERR_MSG_MAX - 1)
		return;
	for (const char *p = s; *p; p++) /* the reader refuses controls */
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80)
			return;
	rc = rv_buf_puts(&xml, "<Error><Code>C</Code><Message>");
	if (!rc)
		rc = s3_xml_escape(&xml, s);
	if (!rc)
		rc = rv_buf_puts(&xml, "</Message></Error>");
	FUZZ_CHECK(rc == 0);
	rc = s3_xml_parse_error(&e, (const char *)xml.data, xml.len);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(!strcmp(e.code, "C"));
	FUZZ_CHECK(!strcmp(e.message, s));
	rv_buf_release(&xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_error e;
	char *xml, *upload_id = NULL;
	int mode, rc;

	if (size < 1 || size - 1 > S3_XML_MAX + 16)
		return 0;
	mode = data[0] % 6;
	/* a copy of exactly the body, so ASan sees any read past it */
	xml = malloc(size - 1 ? size - 1 : 1);
	FUZZ_CHECK(xml);
	memcpy(xml, data + 1, size - 1);
	switch (mode) {
	case 0:
		fuzz_list(xml, size - 1);
		break;
	case 1:
		fuzz_versions(xml, size - 1);
		break;
	case 2:
		rc = s3_xml_parse_error(&e, xml, size - 1);
		FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_NOMEM));
		check_err(&e);
		break;
	case 3:
		rc = s3_xml_parse_complete(&e, xml, size - 1);
		FUZZ_CHECK(rc == 0 || rc == 1 || rc == RV_CORRUPT ||
			   rc == RV_NOMEM);
		check_err(&e);
		break;
	case 4:
		rc = s3_xml_parse_initiate(&upload_id, xml, size - 1);
		FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_CORRUPT, RV_NOMEM));
		FUZZ_CHECK(rc ? !upload_id : upload_id != NULL);
		if (upload_id)
			check_key(upload_id, S3_TOKEN_MAX);
		free(upload_id);
		break;
	case 5: {
		char *s = fuzz_cstr(data + 1, size - 1);
		fuzz_escape(s);
		free(s);
		break;
	}
	}
	free(xml);
	return 0;
}
