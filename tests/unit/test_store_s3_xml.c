/* The S3 wire format without a server: ListObjectsV2 pages, error and
 * multipart bodies, malformed and oversized XML, and the URLs and query
 * strings that libcurl signs as written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/s3_xml.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/strlist.h"

#include <stdlib.h>
#include <string.h>

static int parse_list(struct rv_strlist *keys, struct s3_list_page *page,
		      const char *xml)
{
	page->keys = keys;
	return s3_xml_parse_list(page, xml, strlen(xml));
}

static void test_list_page_with_entities_and_token(void **state)
{
	const char *xml =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/"
	    "2006-03-01/\">"
	    "<Name>bkt</Name><Prefix>rv/</Prefix><KeyCount>3</KeyCount>"
	    "<MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>"
	    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/"
	    "wm36Hy4vbOwM=</NextContinuationToken>"
	    "<Contents><Key>rv/a&amp;b</Key><LastModified>2024-01-01T00:00:"
	    "00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size>"
	    "<StorageClass>STANDARD</StorageClass></Contents>"
	    "<Contents><Key>rv/&lt;x&gt; &quot;q&quot; &apos;s&apos;</Key>"
	    "<Size>1</Size></Contents>"
	    "<Contents>\n  <Key>rv/&#233;&#x263A;<![CDATA[<raw>]]></Key>\n"
	    "  <Owner><ID>o</ID></Owner>\n</Contents>"
	    "</ListBucketResult>";
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page;
	(void)state;

	assert_int_equal(parse_list(&keys, &page, xml), 0);
	assert_int_equal(keys.n, 3);
	assert_string_equal(keys.items[0], "rv/a&b");
	assert_string_equal(keys.items[1], "rv/<x> \"q\" 's'");
	assert_string_equal(keys.items[2], "rv/\xc3\xa9\xe2\x98\xba<raw>");
	assert_true(page.truncated);
	assert_string_equal(page.next_token,
			    "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
	free(page.next_token);
	rv_strlist_release(&keys);
}

static void test_list_last_page_and_empty_page(void **state)
{
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page;
	(void)state;

	assert_int_equal(
	    parse_list(&keys, &page,
		       "<ListBucketResult><IsTruncated>false</IsTruncated>"
		       "<Contents><Key>k</Key></Contents></ListBucketResult>"),
	    0);
	assert_false(page.truncated);
	assert_null(page.next_token);
	assert_int_equal(keys.n, 1);
	rv_strlist_release(&keys);

	assert_int_equal(parse_list(&keys, &page,
				    "<ListBucketResult><Name>b</Name><Prefix/>"
				    "<KeyCount>0</KeyCount><IsTruncated>false<"
				    "/IsTruncated></ListBucketResult>"),
			 0);
	assert_int_equal(keys.n, 0);
	assert_null(page.next_token);
}

static void test_list_truncated_without_token_is_corrupt(void **state)
{
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page;
	(void)state;

	assert_int_equal(parse_list(&keys, &page,
				    "<ListBucketResult><IsTruncated>true</"
				    "IsTruncated><Contents><Key>k</Key></"
				    "Contents></ListBucketResult>"),
			 RV_CORRUPT);
	assert_int_equal(keys.n, 0); /* nothing half-added */
	assert_int_equal(parse_list(&keys, &page,
				    "<ListBucketResult><IsTruncated>yes</"
				    "IsTruncated></ListBucketResult>"),
			 RV_CORRUPT);
	rv_strlist_release(&keys);
}

static void test_list_wrong_root_is_corrupt(void **state)
{
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page;
	(void)state;

	assert_int_equal(parse_list(&keys, &page,
				    "<Error><Code>AccessDenied</Code></Error>"),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "not a ListBucketResult"));
}

static void test_list_rejects_long_and_empty_keys(void **state)
{
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct rv_buf xml = RV_BUF_INIT(1 << 20);
	struct s3_list_page page;
	(void)state;

	assert_int_equal(rv_buf_puts(&xml, "<ListBucketResult><Contents><Key>"),
			 0);
	for (int i = 0; i < S3_KEY_MAX + 1; i++)
		assert_int_equal(rv_buf_puts(&xml, "k"), 0);
	assert_int_equal(rv_buf_puts(&xml, "</Key></Contents>"
					   "</ListBucketResult>"),
			 0);
	assert_int_equal(parse_list(&keys, &page, rv_buf_cstr(&xml)),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "1025 bytes"));
	/* exactly 1024 is fine */
	rv_buf_reset(&xml);
	assert_int_equal(rv_buf_puts(&xml, "<ListBucketResult><Contents><Key>"),
			 0);
	for (int i = 0; i < S3_KEY_MAX; i++)
		assert_int_equal(rv_buf_puts(&xml, "k"), 0);
	assert_int_equal(rv_buf_puts(&xml, "</Key></Contents>"
					   "</ListBucketResult>"),
			 0);
	assert_int_equal(parse_list(&keys, &page, rv_buf_cstr(&xml)), 0);
	assert_int_equal(strlen(keys.items[0]), S3_KEY_MAX);
	rv_strlist_release(&keys);
	assert_int_equal(parse_list(&keys, &page,
				    "<ListBucketResult><Contents><Key></Key>"
				    "</Contents></ListBucketResult>"),
			 RV_CORRUPT);
	rv_strlist_release(&keys);
	rv_buf_release(&xml);
}

static void test_list_too_many_keys_is_corrupt(void **state)
{
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct rv_buf xml = RV_BUF_INIT(1 << 20);
	struct s3_list_page page;
	(void)state;

	assert_int_equal(rv_buf_puts(&xml, "<ListBucketResult>"), 0);
	for (int i = 0; i <= S3_PAGE_KEYS_MAX; i++)
		assert_int_equal(rv_buf_puts(&xml, "<Contents><Key>k</Key>"
						   "</Contents>"),
				 0);
	assert_int_equal(rv_buf_puts(&xml, "</ListBucketResult>"), 0);
	assert_int_equal(parse_list(&keys, &page, rv_buf_cstr(&xml)),
			 RV_CORRUPT);
	assert_int_equal(keys.n, 0);
	rv_strlist_release(&keys);
	rv_buf_release(&xml);
}

static int parse_versions(struct rv_strlist *keys, struct rv_strlist *ids,
			  struct s3_versions_page *page, const char *xml)
{
	page->keys = keys;
	page->version_ids = ids;
	return s3_xml_parse_versions(page, xml, strlen(xml));
}

static void versions_page_release(struct s3_versions_page *page)
{
	free(page->next_key_marker);
	free(page->next_version_id_marker);
	page->next_key_marker = page->next_version_id_marker = NULL;
}

/* A page as Ceph RGW 16.2 sends it (max-keys=3): a delete marker first,
 * then versions, newest first, then the next key under the prefix. */
static void test_versions_page_from_rgw_with_markers(void **state)
{
	const char *xml =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult "
	    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>lkb1</"
	    "Name><Prefix>a/obj</Prefix><MaxKeys>3</MaxKeys><IsTruncated>true"
	    "</IsTruncated><KeyMarker></KeyMarker><VersionIdMarker></"
	    "VersionIdMarker><NextKeyMarker>a/obj2</NextKeyMarker>"
	    "<NextVersionIdMarker>CRs9z7xEUpCvzB7v38vNBVKTbJe13WE</"
	    "NextVersionIdMarker><DeleteMarker><Key>a/obj</Key><VersionId>"
	    "g0Tc5RbbP8rEjvxPhQ5q2BoGP2KooTi</VersionId><IsLatest>true</"
	    "IsLatest><LastModified>2026-11-28T16:41:17.744Z</LastModified>"
	    "<Owner><ID>regvault-test</ID><DisplayName>regvault test</"
	    "DisplayName></Owner><Type>Normal</Type></DeleteMarker><Version>"
	    "<Key>a/obj</Key><VersionId>p-kZKP8v7.ZetliPolTxZue12t28sVa</"
	    "VersionId><IsLatest>false</IsLatest><ETag>&quot;764efa883dda1e11"
	    "db47671c4a3bbd9e&quot;</ETag><Size>3</Size><StorageClass>"
	    "STANDARD</StorageClass><Type>Normal</Type></Version><Version>"
	    "<VersionId>CRs9z7xEUpCvzB7v38vNBVKTbJe13WE</VersionId><Key>a/"
	    "obj2</Key><IsLatest>true</IsLatest></Version></"
	    "ListVersionsResult>";
	struct rv_strlist keys = RV_STRLIST_INIT, ids = RV_STRLIST_INIT;
	struct s3_versions_page page;
	(void)state;

	assert_int_equal(parse_versions(&keys, &ids, &page, xml), 0);
	assert_int_equal(keys.n, 3);
	assert_int_equal(ids.n, 3);
	assert_string_equal(keys.items[0], "a/obj");
	assert_string_equal(ids.items[0], "g0Tc5RbbP8rEjvxPhQ5q2BoGP2KooTi");
	assert_string_equal(keys.items[1], "a/obj");
	assert_string_equal(ids.items[1], "p-kZKP8v7.ZetliPolTxZue12t28sVa");
	/* field order inside an entry does not matter */
	assert_string_equal(keys.items[2], "a/obj2");
	assert_string_equal(ids.items[2], "CRs9z7xEUpCvzB7v38vNBVKTbJe13WE");
	assert_true(page.truncated);
	assert_string_equal(page.next_key_marker, "a/obj2");
	assert_string_equal(page.next_version_id_marker,
			    "CRs9z7xEUpCvzB7v38vNBVKTbJe13WE");
	versions_page_release(&page);
	rv_strlist_release(&keys);
	rv_strlist_release(&ids);
}

static void test_versions_last_and_empty_pages(void **state)
{
	struct rv_strlist keys = RV_STRLIST_INIT, ids = RV_STRLIST_INIT;
	struct s3_versions_page page;
	(void)state;

	assert_int_equal(
	    parse_versions(&keys, &ids, &page,
			   "<ListVersionsResult><IsTruncated>false</"
			   "IsTruncated><Version><Key>k</Key><VersionId>null"
			   "</VersionId></Version></ListVersionsResult>"),
	    0);
	assert_false(page.truncated);
	assert_null(page.next_key_marker);
	assert_null(page.next_version_id_marker);
	assert_int_equal(keys.n, 1);
	assert_string_equal(ids.items[0], "null");
	rv_strlist_release(&keys);
	rv_strlist_release(&ids);

	assert_int_equal(
	    parse_versions(&keys, &ids, &page,
			   "<ListVersionsResult><Name>b</Name><Prefix>p</"
			   "Prefix><KeyMarker/><VersionIdMarker/><IsTruncated>"
			   "false</IsTruncated></ListVersionsResult>"),
	    0);
	assert_int_equal(keys.n, 0);
	assert_int_equal(ids.n, 0);

	/* truncated with a key marker only: allowed */
	assert_int_equal(
	    parse_versions(&keys, &ids, &page,
			   "<ListVersionsResult><IsTruncated>true</"
			   "IsTruncated><NextKeyMarker>k</NextKeyMarker>"
			   "</ListVersionsResult>"),
	    0);
	assert_string_equal(page.next_key_marker, "k");
	assert_null(page.next_version_id_marker);
	versions_page_release(&page);
}

static void test_versions_bad_pages_are_corrupt_and_leave_nothing(void **state)
{
	static const char *const bad[] = {
	    /* truncated without NextKeyMarker */
	    "<ListVersionsResult><IsTruncated>true</IsTruncated><Version>"
	    "<Key>k</Key><VersionId>v</VersionId></Version>"
	    "<NextVersionIdMarker>v</NextVersionIdMarker>"
	    "</ListVersionsResult>",
	    /* an entry without VersionId, after a good one */
	    "<ListVersionsResult><Version><Key>k</Key><VersionId>v</"
	    "VersionId></Version><DeleteMarker><Key>k</Key></DeleteMarker>"
	    "</ListVersionsResult>",
	    /* an entry without Key */
	    "<ListVersionsResult><Version><VersionId>v</VersionId></Version>"
	    "</ListVersionsResult>",
	    /* empty version id */
	    "<ListVersionsResult><Version><Key>k</Key><VersionId></"
	    "VersionId></Version></ListVersionsResult>",
	    /* empty key */
	    "<ListVersionsResult><Version><Key/><VersionId>v</VersionId>"
	    "</Version></ListVersionsResult>",
	    "<ListVersionsResult><IsTruncated>maybe</IsTruncated>"
	    "</ListVersionsResult>",
	    /* a ListObjectsV2 answer is not a version listing */
	    "<ListBucketResult><Contents><Key>k</Key></Contents>"
	    "</ListBucketResult>",
	    "<ListVersionsResult><Version><Key>k</Key>",
	};
	struct rv_strlist keys = RV_STRLIST_INIT, ids = RV_STRLIST_INIT;
	struct s3_versions_page page;
	(void)state;

	assert_int_equal(rv_strlist_add(&keys, "before"), 0);
	assert_int_equal(rv_strlist_add(&ids, "before"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_versions(&keys, &ids, &page, bad[i]) != RV_CORRUPT)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(keys.n, 1);
		assert_int_equal(ids.n, 1);
		assert_false(page.truncated);
		assert_null(page.next_key_marker);
		assert_null(page.next_version_id_marker);
	}
	assert_int_equal(parse_versions(&keys, &ids, &page, bad[1]),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "without VersionId"));
	assert_int_equal(parse_versions(&keys, &ids, &page, bad[6]),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "not a ListVersionsResult"));
	rv_strlist_release(&keys);
	rv_strlist_release(&ids);
}

static void test_versions_caps_on_version_id_and_entries(void **state)
{
	struct rv_strlist keys = RV_STRLIST_INIT, ids = RV_STRLIST_INIT;
	struct rv_buf xml = RV_BUF_INIT(1 << 20);
	struct s3_versions_page page;
	(void)state;

	for (int len = S3_VERSION_ID_MAX; len <= S3_VERSION_ID_MAX + 1; len++) {
		rv_buf_reset(&xml);
		assert_int_equal(rv_buf_puts(&xml, "<ListVersionsResult>"
						   "<Version><Key>k</Key>"
						   "<VersionId>"),
				 0);
		for (int i = 0; i < len; i++)
			assert_int_equal(rv_buf_puts(&xml, "v"), 0);
		assert_int_equal(rv_buf_puts(&xml, "</VersionId></Version>"
						   "</ListVersionsResult>"),
				 0);
		assert_int_equal(
		    parse_versions(&keys, &ids, &page, rv_buf_cstr(&xml)),
		    len > S3_VERSION_ID_MAX ? RV_CORRUPT : 0);
	}
	assert_int_equal(ids.n, 1);
	assert_int_equal(strlen(ids.items[0]), S3_VERSION_ID_MAX);
	rv_strlist_release(&keys);
	rv_strlist_release(&ids);

	rv_buf_reset(&xml);
	assert_int_equal(rv_buf_puts(&xml, "<ListVersionsResult>"), 0);
	for (int i = 0; i <= S3_PAGE_KEYS_MAX; i++)
		assert_int_equal(
		    rv_buf_puts(&xml, "<DeleteMarker><Key>k</Key><VersionId>v"
				      "</VersionId></DeleteMarker>"),
		    0);
	assert_int_equal(rv_buf_puts(&xml, "</ListVersionsResult>"), 0);
	assert_int_equal(parse_versions(&keys, &ids, &page, rv_buf_cstr(&xml)),
			 RV_CORRUPT);
	assert_int_equal(keys.n, 0);
	assert_int_equal(ids.n, 0);
	rv_strlist_release(&keys);
	rv_strlist_release(&ids);
	rv_buf_release(&xml);
}

static void test_malformed_xml_is_corrupt(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "not xml",
	    "<ListBucketResult>",
	    "<ListBucketResult><Contents></ListBucketResult>",
	    "<ListBucketResult></Other>",
	    "<ListBucketResult></ListBucketResult><ListBucketResult/>",
	    "<ListBucketResult>&nbsp;</ListBucketResult>",
	    "<ListBucketResult>&#0;</ListBucketResult>",
	    "<ListBucketResult>&#xD800;</ListBucketResult>",
	    "<ListBucketResult>&#99999999999;</ListBucketResult>",
	    "<ListBucketResult>&amp</ListBucketResult>",
	    "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult/>",
	    "<ListBucketResult a=b></ListBucketResult>",
	    "<ListBucketResult a=\"b></ListBucketResult>",
	    "<ListBucketResult><!-- never closed </ListBucketResult>",
	    "<ListBucketResult>\x01</ListBucketResult>",
	    "text<ListBucketResult/>",
	    "<ListBucketResult/>trailing",
	    "< ListBucketResult/>",
	    "<ListBucketResult><![CDATA[x</ListBucketResult>",
	};
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rv_err_clear();
		if (parse_list(&keys, &page, bad[i]) != RV_CORRUPT)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(rv_err_msg(), "s3"));
		assert_int_equal(keys.n, 0);
	}
	rv_strlist_release(&keys);
}

static void test_deep_nesting_is_corrupt(void **state)
{
	struct rv_buf xml = RV_BUF_INIT(1 << 20);
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page;
	(void)state;

	assert_int_equal(rv_buf_puts(&xml, "<ListBucketResult>"), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(rv_buf_puts(&xml, "<a>"), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(rv_buf_puts(&xml, "</a>"), 0);
	assert_int_equal(rv_buf_puts(&xml, "</ListBucketResult>"), 0);
	assert_int_equal(parse_list(&keys, &page, rv_buf_cstr(&xml)),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "nested too deep"));
	rv_buf_release(&xml);
}

static void test_oversized_xml_is_corrupt(void **state)
{
	size_t n = S3_XML_MAX + 1;
	char *xml = malloc(n);
	struct rv_strlist keys = RV_STRLIST_INIT;
	struct s3_list_page page = {&keys, 0, NULL};
	struct s3_error err;
	char *upload_id = (char *)1;
	(void)state;

	assert_non_null(xml);
	memset(xml, ' ', n);
	memcpy(xml, "<ListBucketResult>", 18);
	memcpy(xml + n - 19, "</ListBucketResult>", 19);
	assert_int_equal(s3_xml_parse_list(&page, xml, n), RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "more than"));
	assert_int_equal(s3_xml_parse_error(&err, xml, n), RV_CORRUPT);
	assert_int_equal(s3_xml_parse_initiate(&upload_id, xml, n), RV_CORRUPT);
	assert_null(upload_id);
	free(xml);
}

static void test_error_body_fields(void **state)
{
	const char *xml =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
	    "signature we calculated does not match &amp; so on</Message>"
	    "<StringToSign>AWS4-HMAC-SHA256\n20240101T000000Z</StringToSign>"
	    "<RequestId>tx0001</RequestId><HostId>h</HostId></Error>";
	struct s3_error err;
	(void)state;

	assert_int_equal(s3_xml_parse_error(&err, xml, strlen(xml)), 0);
	assert_string_equal(err.code, "SignatureDoesNotMatch");
	assert_string_equal(err.message, "The request signature we calculated "
					 "does not match & so on");
	assert_string_equal(err.request_id, "tx0001");

	/* RGW's bodies: BucketName, empty Message */
	xml = "<Error><Code>NoSuchBucket</Code><Message></Message>"
	      "<BucketName>b</BucketName><RequestId>r</RequestId></Error>";
	assert_int_equal(s3_xml_parse_error(&err, xml, strlen(xml)), 0);
	assert_string_equal(err.code, "NoSuchBucket");
	assert_string_equal(err.message, "");
}

static void test_error_body_long_message_is_cut_on_one_line(void **state)
{
	struct rv_buf xml = RV_BUF_INIT(1 << 20);
	struct s3_error err;
	(void)state;

	assert_int_equal(
	    rv_buf_puts(&xml, "<Error><Code>X</Code><Message>a\nb"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(rv_buf_puts(&xml, "\xc3\xa9"), 0);
	assert_int_equal(rv_buf_puts(&xml, "</Message></Error>"), 0);
	assert_int_equal(
	    s3_xml_parse_error(&err, (const char *)xml.data, xml.len), 0);
	assert_true(strlen(err.message) < S3_ERR_MSG_MAX);
	assert_memory_equal(err.message, "a b\xc3\xa9", 5);
	/* cut between characters, never inside one */
	assert_int_equal(strlen(err.message) % 2, 1);
	rv_buf_release(&xml);
}

static void test_error_body_not_error_is_corrupt(void **state)
{
	struct s3_error err;
	(void)state;

	assert_int_equal(s3_xml_parse_error(&err, "<html>503</html>", 16),
			 RV_CORRUPT);
	assert_string_equal(err.code, "");
	assert_int_equal(s3_xml_parse_error(&err, "Service Unavailable", 19),
			 RV_CORRUPT);
	assert_string_equal(err.code, "");
}

static void test_initiate_upload_id(void **state)
{
	const char *xml =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/"
	    "doc/2006-03-01/\"><Bucket>b</Bucket><Key>rv/packs/p</Key>"
	    "<UploadId>2~abc&amp;def</UploadId>"
	    "</InitiateMultipartUploadResult>";
	char *id = NULL;
	(void)state;

	assert_int_equal(s3_xml_parse_initiate(&id, xml, strlen(xml)), 0);
	assert_string_equal(id, "2~abc&def");
	free(id);

	xml = "<InitiateMultipartUploadResult><Bucket>b</Bucket>"
	      "</InitiateMultipartUploadResult>";
	assert_int_equal(s3_xml_parse_initiate(&id, xml, strlen(xml)),
			 RV_CORRUPT);
	assert_null(id);
	xml = "<Other><UploadId>x</UploadId></Other>";
	assert_int_equal(s3_xml_parse_initiate(&id, xml, strlen(xml)),
			 RV_CORRUPT);
	assert_null(id);
	xml = "<InitiateMultipartUploadResult><UploadId></UploadId>"
	      "</InitiateMultipartUploadResult>";
	assert_int_equal(s3_xml_parse_initiate(&id, xml, strlen(xml)),
			 RV_CORRUPT);
	assert_null(id);
}

static void test_complete_result_or_error_in_200(void **state)
{
	struct s3_error err;
	const char *ok =
	    "<CompleteMultipartUploadResult><Location>l</Location><ETag>"
	    "</ETag></CompleteMultipartUploadResult>";
	const char *bad = "\n<Error><Code>InternalError</Code><Message>We "
			  "encountered an internal error</Message></Error>";
	(void)state;

	assert_int_equal(s3_xml_parse_complete(&err, ok, strlen(ok)), 0);
	assert_int_equal(s3_xml_parse_complete(&err, bad, strlen(bad)), 1);
	assert_string_equal(err.code, "InternalError");
	assert_int_equal(s3_xml_parse_complete(&err, "<x/>", 4), RV_CORRUPT);
}

static void test_xml_escape(void **state)
{
	struct rv_buf out = RV_BUF_INIT(256);
	(void)state;

	assert_int_equal(s3_xml_escape(&out, "\"e<t>&'"), 0);
	assert_string_equal(rv_buf_cstr(&out), "&quot;e&lt;t&gt;&amp;&apos;");
	rv_buf_release(&out);
}

/* ---- URLs ---------------------------------------------------------------*/

static void test_uri_encode_keys_and_values(void **state)
{
	struct rv_buf out = RV_BUF_INIT(1024);
	(void)state;

	assert_int_equal(s3_uri_encode(&out, "rv/packs/a b+c~d_e.f-g", 1), 0);
	assert_string_equal(rv_buf_cstr(&out), "rv/packs/a%20b%2Bc~d_e.f-g");
	rv_buf_reset(&out);
	assert_int_equal(s3_uri_encode(&out, "rv/x=y&z%\xc3\xa9", 0), 0);
	assert_string_equal(rv_buf_cstr(&out), "rv%2Fx%3Dy%26z%25%C3%A9");
	rv_buf_release(&out);
}

static void test_query_sorted_encoded_with_empty_values(void **state)
{
	struct rv_buf out = RV_BUF_INIT(1024);
	const char *names[] = {"prefix", "list-type", "max-keys",
			       "continuation-token"};
	const char *values[] = {"rv/packs/", "2", "1000", "1ue/x+y="};
	(void)state;

	assert_int_equal(s3_query(&out, names, values, 4), 0);
	assert_string_equal(rv_buf_cstr(&out),
			    "continuation-token=1ue%2Fx%2By%3D&list-type=2&"
			    "max-keys=1000&prefix=rv%2Fpacks%2F");
	rv_buf_reset(&out);
	assert_int_equal(s3_query(&out,
				  (const char *[]){"versionId", "retention"},
				  (const char *[]){"v1", NULL}, 2),
			 0);
	assert_string_equal(rv_buf_cstr(&out), "retention=&versionId=v1");
	rv_buf_reset(&out);
	assert_int_equal(s3_query(&out,
				  (const char *[]){"uploadId", "partNumber"},
				  (const char *[]){"2~x", "10"}, 2),
			 0);
	assert_string_equal(rv_buf_cstr(&out), "partNumber=10&uploadId=2~x");
	rv_buf_reset(&out);
	assert_int_equal(s3_query(&out, (const char *[]){"a", "a"},
				  (const char *[]){"1", "2"}, 2),
			 RV_INVALID);
	rv_buf_release(&out);
}

static void test_endpoint_parse(void **state)
{
	struct s3_endpoint ep;
	(void)state;

	assert_int_equal(s3_endpoint_parse(&ep, "https://s3.eu-central-1."
						"amazonaws.com"),
			 0);
	assert_string_equal(ep.scheme, "https");
	assert_string_equal(ep.hostport, "s3.eu-central-1.amazonaws.com");
	assert_false(ep.is_ip);
	assert_int_equal(s3_endpoint_parse(&ep, "http://127.0.0.1:8480/"), 0);
	assert_string_equal(ep.scheme, "http");
	assert_string_equal(ep.host, "127.0.0.1");
	assert_string_equal(ep.hostport, "127.0.0.1:8480");
	assert_true(ep.is_ip);
	assert_int_equal(s3_endpoint_parse(&ep, "http://[::1]:9000"), 0);
	assert_string_equal(ep.host, "::1");
	assert_string_equal(ep.hostport, "[::1]:9000");
	assert_true(ep.is_ip);

	assert_int_equal(s3_endpoint_parse(&ep, "ftp://h"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, "http://h/path"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, "http://h?x=1"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, "http://u:p@h"), RV_INVALID);
	assert_null(strstr(rv_err_msg(), "u:p")); /* no user part echoed */
	assert_int_equal(s3_endpoint_parse(&ep, "http://"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, "http://h:0"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, "http://h:70000"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, "http://h:"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, "http://h h"), RV_INVALID);
	assert_int_equal(s3_endpoint_parse(&ep, ""), RV_INVALID);
}

static void test_url_path_and_virtual_host_style(void **state)
{
	struct rv_buf out = RV_BUF_INIT(1024);
	struct s3_endpoint ep;
	(void)state;

	assert_int_equal(s3_endpoint_parse(&ep, "https://s3.eu-central-1."
						"amazonaws.com"),
			 0);
	assert_int_equal(
	    s3_url(&out, &ep, "acme-backup", 0, "regvault/packs/ab/x y", NULL),
	    0);
	assert_string_equal(rv_buf_cstr(&out),
			    "https://acme-backup.s3.eu-central-1.amazonaws.com/"
			    "regvault/packs/ab/x%20y");
	rv_buf_reset(&out);
	assert_int_equal(
	    s3_url(&out, &ep, "acme-backup", 1, "k", "partNumber=1&uploadId=u"),
	    0);
	assert_string_equal(rv_buf_cstr(&out),
			    "https://s3.eu-central-1.amazonaws.com/acme-backup/"
			    "k?partNumber=1&uploadId=u");
	rv_buf_reset(&out);
	assert_int_equal(s3_endpoint_parse(&ep, "http://localhost:8480"), 0);
	assert_int_equal(
	    s3_url(&out, &ep, "bkt", 0, NULL, "list-type=2&prefix="), 0);
	assert_string_equal(rv_buf_cstr(&out),
			    "http://bkt.localhost:8480/?list-type=2&prefix=");
	rv_buf_reset(&out);
	assert_int_equal(s3_url(&out, &ep, "bkt", 1, NULL, NULL), 0);
	assert_string_equal(rv_buf_cstr(&out), "http://localhost:8480/bkt/");
	rv_buf_release(&out);
}

static void test_bucket_names(void **state)
{
	(void)state;
	assert_true(s3_bucket_valid("acme-registry-backup", 0));
	assert_true(s3_bucket_valid("a.b.c", 0));
	assert_false(s3_bucket_valid("ab", 0));
	assert_false(s3_bucket_valid("Upper", 0));
	assert_true(s3_bucket_valid("Upper_ok", 1));
	assert_false(s3_bucket_valid("-dash", 0));
	assert_false(s3_bucket_valid("dash-", 1));
	assert_false(s3_bucket_valid("a..b", 0));
	assert_false(s3_bucket_valid("a/b", 1));
	assert_false(s3_bucket_valid(NULL, 1));
}

static void test_time_rfc3339(void **state)
{
	char out[32];
	(void)state;

	s3_time_rfc3339(out, 0);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	s3_time_rfc3339(out, 1700000000 + 30 * 86400);
	assert_string_equal(out, "2023-12-14T22:13:20Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_page_with_entities_and_token),
	    cmocka_unit_test(test_list_last_page_and_empty_page),
	    cmocka_unit_test(test_list_truncated_without_token_is_corrupt),
	    cmocka_unit_test(test_list_wrong_root_is_corrupt),
	    cmocka_unit_test(test_list_rejects_long_and_empty_keys),
	    cmocka_unit_test(test_list_too_many_keys_is_corrupt),
	    cmocka_unit_test(test_versions_page_from_rgw_with_markers),
	    cmocka_unit_test(test_versions_last_and_empty_pages),
	    cmocka_unit_test(
		test_versions_bad_pages_are_corrupt_and_leave_nothing),
	    cmocka_unit_test(test_versions_caps_on_version_id_and_entries),
	    cmocka_unit_test(test_malformed_xml_is_corrupt),
	    cmocka_unit_test(test_deep_nesting_is_corrupt),
	    cmocka_unit_test(test_oversized_xml_is_corrupt),
	    cmocka_unit_test(test_error_body_fields),
	    cmocka_unit_test(test_error_body_long_message_is_cut_on_one_line),
	    cmocka_unit_test(test_error_body_not_error_is_corrupt),
	    cmocka_unit_test(test_initiate_upload_id),
	    cmocka_unit_test(test_complete_result_or_error_in_200),
	    cmocka_unit_test(test_xml_escape),
	    cmocka_unit_test(test_uri_encode_keys_and_values),
	    cmocka_unit_test(test_query_sorted_encoded_with_empty_values),
	    cmocka_unit_test(test_endpoint_parse),
	    cmocka_unit_test(test_url_path_and_virtual_host_style),
	    cmocka_unit_test(test_bucket_names),
	    cmocka_unit_test(test_time_rfc3339),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
