/* The s3 target against a real S3 server (Ceph RGW from
 * tests/fixtures/ceph-rgw.sh, run by tests/e2e/test_s3_target.sh).
 * Needs REGVAULT_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY (and
 * optionally _REGION); skipped otherwise. Each run creates its own
 * buckets (one with object lock) with raw signed requests.
 * REGVAULT_TEST_S3_BENCH=1 runs only the 64 MiB throughput figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/s3_xml.h"
#include "store/target.h"
#include "store/target_s3.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"
#include "util/strlist.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024u * 1024u)

struct env {
	const char *endpoint, *ak, *sk, *region;
	char bucket[64], lock_bucket[64];
	char tmpdir[64];
};

static struct env E;

/* ---- raw signed requests (to set up and to check behind the target) --*/

struct raw {
	long status;
	struct rv_buf body;
	char version_id[256];
	char etag[256];
};

static size_t raw_body(char *p, size_t size, size_t n, void *arg)
{
	struct raw *r = arg;
	size_t room = r->body.max - r->body.len;
	size_t k = size * n < room ? size * n : room;
	rv_buf_add(&r->body, p, k);
	return size * n;
}

static void hdr_copy(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t raw_header(char *p, size_t size, size_t n, void *arg)
{
	struct raw *r = arg;
	size_t len = size * n;
	if (len > 18 && !strncasecmp(p, "x-amz-version-id: ", 18))
		hdr_copy(r->version_id, sizeof(r->version_id), p + 18,
			 len - 18);
	if (len > 6 && !strncasecmp(p, "etag: ", 6))
		hdr_copy(r->etag, sizeof(r->etag), p + 6, len - 6);
	return len;
}

/* method on endpoint + path_query with the empty-payload hash (or the
 * body's), extra headers (NULL-terminated), result in r. */
static void raw_req(struct raw *r, const char *method, const char *path_query,
		    const char *body, const char *const *extra)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[2048], line[512], sigv4[128], hex[65];
	unsigned char sha[32];
	size_t blen = body ? strlen(body) : 0;

	memset(r, 0, sizeof(*r));
	rv_buf_init(&r->body, 1 << 20);
	assert_non_null(c);
	rv_sha256_buf(sha, body ? body : "", blen);
	rv_hex_encode(hex, sha, 32);
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hex);
	h = curl_slist_append(h, line);
	for (; extra && *extra; extra++)
		h = curl_slist_append(h, *extra);
	snprintf(url, sizeof(url), "%s%s", E.endpoint, path_query);
	snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", E.region);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, E.ak);
	curl_easy_setopt(c, CURLOPT_PASSWORD, E.sk);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, raw_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, raw_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (body) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void raw_done(struct raw *r)
{
	rv_buf_release(&r->body);
}

static long raw_status(const char *method, const char *path_query,
		       const char *body, const char *const *extra)
{
	struct raw r;
	raw_req(&r, method, path_query, body, extra);
	raw_done(&r);
	return r.status;
}

static int group_setup(void **state)
{
	static const char *const lock_hdr[] = {
	    "x-amz-bucket-object-lock-enabled: true", NULL};

	E.endpoint = getenv("REGVAULT_TEST_S3_ENDPOINT");
	E.ak = getenv("REGVAULT_TEST_S3_ACCESS_KEY");
	E.sk = getenv("REGVAULT_TEST_S3_SECRET_KEY");
	E.region = getenv("REGVAULT_TEST_S3_REGION");
	if (!E.region || !*E.region)
		E.region = "us-east-1";
	if (!E.endpoint || !*E.endpoint || !E.ak || !E.sk) {
		*state = NULL;
		return 0;
	}
	snprintf(E.bucket, sizeof(E.bucket), "rvtest-%ld-%d", (long)time(NULL),
		 (int)getpid());
	snprintf(E.lock_bucket, sizeof(E.lock_bucket), "rvlock-%ld-%d",
		 (long)time(NULL), (int)getpid());
	{
		char path[128];
		snprintf(path, sizeof(path), "/%s", E.bucket);
		if (raw_status("PUT", path, NULL, NULL) != 200)
			return -1;
		snprintf(path, sizeof(path), "/%s", E.lock_bucket);
		if (raw_status("PUT", path, NULL, lock_hdr) != 200)
			return -1;
	}
	snprintf(E.tmpdir, sizeof(E.tmpdir), "/tmp/rv-s3live.XXXXXX");
	if (!mkdtemp(E.tmpdir))
		return -1;
	*state = &E;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	(void)state;
	if (E.tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", E.tmpdir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

#define ENV()                                                                  \
	do {                                                                   \
		if (!*state) {                                                 \
			skip(); /* REGVAULT_TEST_S3_ENDPOINT not set */        \
			return;                                                \
		}                                                              \
	} while (0)

static struct target_s3_config base_cfg(const char *bucket, const char *prefix)
{
	struct target_s3_config c = {0};
	c.name = "offsite";
	c.endpoint = E.endpoint;
	c.bucket = bucket;
	c.prefix = prefix;
	c.region = E.region;
	c.path_style = 1;
	c.access_key_id = E.ak;
	c.secret_access_key = E.sk;
	return c;
}

static struct target *open_s3(const struct target_s3_config *c)
{
	struct target *t = NULL;
	int rc = target_s3_open(&t, c);
	if (rc)
		fail_msg("target_s3_open: %s", rv_err_msg());
	return t;
}

static void fill_random(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

static void write_file(const char *path, const unsigned char *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* ---- tests --------------------------------------------------------------*/

static void test_s3_put_get_range_stat_del(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "rt/");
	struct rv_buf out = RV_BUF_INIT(1 << 20);
	const char *data = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct target *t;
	uint64_t size = 0;
	ENV();

	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, "snapshots/one", data, strlen(data)),
			 0);
	assert_int_equal(target_get(t, "snapshots/one", &out), 0);
	assert_int_equal(out.len, strlen(data));
	assert_memory_equal(out.data, data, strlen(data));

	/* ranges append to what is already in the buffer */
	assert_int_equal(target_get_range(t, "snapshots/one", 10, 6, &out), 0);
	assert_int_equal(out.len, strlen(data) + 6);
	assert_memory_equal(out.data + strlen(data), "abcdef", 6);
	rv_buf_reset(&out);
	assert_int_equal(target_get_range(t, "snapshots/one", 30, 0, &out), 0);
	assert_string_equal(rv_buf_cstr(&out), "uvwxyz");
	rv_buf_reset(&out);
	assert_int_equal(
	    target_get_range(t, "snapshots/one", strlen(data), 0, &out), 0);
	assert_int_equal(out.len, 0);

	/* past the end: corrupt, and nothing appended */
	assert_int_equal(target_get_range(t, "snapshots/one", 30, 10, &out),
			 RV_CORRUPT);
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(rv_err_msg(), "shorter"));
	assert_int_equal(target_get_range(t, "snapshots/one", 100, 1, &out),
			 RV_CORRUPT);
	assert_int_equal(target_get_range(t, "snapshots/one", 100, 0, &out),
			 RV_CORRUPT);
	assert_int_equal(out.len, 0);

	assert_int_equal(target_stat(t, "snapshots/one", &size), 0);
	assert_int_equal(size, strlen(data));

	/* overwrite is whole */
	assert_int_equal(target_put_buf(t, "snapshots/one", "new", 3), 0);
	assert_int_equal(target_get(t, "snapshots/one", &out), 0);
	assert_string_equal(rv_buf_cstr(&out), "new");

	/* empty objects */
	assert_int_equal(target_put_buf(t, "empty", "", 0), 0);
	assert_int_equal(target_stat(t, "empty", &size), 0);
	assert_int_equal(size, 0);
	rv_buf_reset(&out);
	assert_int_equal(target_get(t, "empty", &out), 0);
	assert_int_equal(out.len, 0);

	assert_int_equal(target_del(t, "snapshots/one"), 0);
	assert_int_equal(target_stat(t, "snapshots/one", &size), RV_NOTFOUND);
	assert_string_equal(rv_err_msg(),
			    "s3 target 'offsite': 'snapshots/one' does not "
			    "exist");
	assert_int_equal(target_get(t, "snapshots/one", &out), RV_NOTFOUND);
	assert_int_equal(target_del(t, "snapshots/one"), 0);
	assert_int_equal(target_del(t, "never/was"), 0);

	/* names the dir target refuses are refused here too */
	assert_int_equal(target_put_buf(t, "../x", "x", 1), RV_INVALID);
	assert_int_equal(target_put_buf(t, "a//b", "x", 1), RV_INVALID);
	assert_int_equal(target_put_buf(t, "a/.tmp", "x", 1), RV_INVALID);
	rv_buf_release(&out);
	target_free(t);
}

static void test_s3_odd_key_characters_round_trip(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "odd/");
	struct rv_buf out = RV_BUF_INIT(1024);
	struct rv_strlist names = RV_STRLIST_INIT;
	const char *name = "a b+c&d=e%f~g'h(i)j,k;l@m$n!o*p\xc3\xa9q\"r<s>";
	struct target *t;
	ENV();

	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, name, "x", 1), 0);
	assert_int_equal(target_get(t, name, &out), 0);
	assert_string_equal(rv_buf_cstr(&out), "x");
	assert_int_equal(target_list(t, "a b+", &names), 0);
	assert_int_equal(names.n, 1);
	assert_string_equal(names.items[0], name);
	assert_int_equal(target_del(t, name), 0);
	rv_strlist_release(&names);
	rv_buf_release(&out);
	target_free(t);
}

static void test_s3_list_pages_over_1100_keys(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "many");
	struct rv_strlist names = RV_STRLIST_INIT;
	struct target *t;
	char name[64], path[256];
	ENV();

	t = open_s3(&c);
	target_s3_set_test_knobs(t, 100, 0); /* 12 pages */
	for (int i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "packs/%02x/p%04d", i % 256, i);
		assert_int_equal(target_put_buf(t, name, name, strlen(name)),
				 0);
	}
	/* written behind the target: a temporary name and a key outside
	 * the prefix; neither is listed */
	snprintf(path, sizeof(path), "/%s/many/packs/00/.p0000.tmp", E.bucket);
	assert_int_equal(raw_status("PUT", path, "t", NULL), 200);
	snprintf(path, sizeof(path), "/%s/manyother/packs/zz", E.bucket);
	assert_int_equal(raw_status("PUT", path, "t", NULL), 200);
	snprintf(path, sizeof(path), "/%s/many/snapshots/s1", E.bucket);
	assert_int_equal(raw_status("PUT", path, "t", NULL), 200);

	assert_int_equal(target_list(t, "packs/", &names), 0);
	assert_int_equal(names.n, 1100);
	rv_strlist_sort(&names);
	for (int i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "packs/%02x/p%04d", i % 256, i);
		assert_true(rv_strlist_has(&names, name));
	}
	rv_strlist_release(&names);

	assert_int_equal(target_list(t, "", &names), 0);
	assert_int_equal(names.n, 1101);
	assert_true(rv_strlist_has(&names, "snapshots/s1"));
	rv_strlist_release(&names);

	assert_int_equal(target_list(t, "packs/0a/", &names), 0);
	assert_int_equal(names.n, 5); /* 10, 266, 522, 778, 1034 */
	rv_strlist_release(&names);
	assert_int_equal(target_list(t, "nothing/", &names), 0);
	assert_int_equal(names.n, 0);
	target_free(t);
}

static void test_s3_prefix_names_are_relative(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "team/a");
	struct rv_strlist names = RV_STRLIST_INIT;
	struct target *t;
	char path[256];
	struct raw r;
	ENV();

	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, "regvault.json", "{}", 2), 0);
	/* stored under "team/a/" (the '/' added) */
	snprintf(path, sizeof(path), "/%s/team/a/regvault.json", E.bucket);
	raw_req(&r, "GET", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(rv_buf_cstr(&r.body), "{}");
	raw_done(&r);
	snprintf(path, sizeof(path), "/%s/team/ab/other", E.bucket);
	assert_int_equal(raw_status("PUT", path, "x", NULL), 200);

	assert_int_equal(target_list(t, "", &names), 0);
	assert_int_equal(names.n, 1);
	assert_string_equal(names.items[0], "regvault.json");
	rv_strlist_release(&names);
	target_free(t);
}

static void test_s3_multipart_put_file_20mib(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "mp/");
	struct rv_buf out = RV_BUF_INIT(32 * MiB);
	unsigned char *data = malloc(20 * MiB + 123);
	struct target *t;
	char path[256], src[128];
	uint64_t size = 0;
	struct raw r;
	ENV();

	assert_non_null(data);
	fill_random(data, 20 * MiB + 123, 7);
	snprintf(src, sizeof(src), "%s/big", E.tmpdir);
	write_file(src, data, 20 * MiB + 123);
	c.part_size = 5 * MiB;
	t = open_s3(&c);
	assert_int_equal(target_put_file(t, "packs/big", src), 0);
	assert_int_equal(target_stat(t, "packs/big", &size), 0);
	assert_int_equal(size, 20 * MiB + 123);
	assert_int_equal(target_get(t, "packs/big", &out), 0);
	assert_int_equal(out.len, 20 * MiB + 123);
	assert_memory_equal(out.data, data, out.len);
	/* a range across the first part boundary */
	rv_buf_reset(&out);
	assert_int_equal(
	    target_get_range(t, "packs/big", 5 * MiB - 10, 20, &out), 0);
	assert_memory_equal(out.data, data + 5 * MiB - 10, 20);

	/* it went up in 5 parts: the ETag of a multipart object ends -5 */
	snprintf(path, sizeof(path), "/%s/mp/packs/big", E.bucket);
	raw_req(&r, "HEAD", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.etag, "-5\""));
	raw_done(&r);
	/* and no upload is left behind */
	snprintf(path, sizeof(path), "/%s?uploads=", E.bucket);
	raw_req(&r, "GET", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_null(strstr(rv_buf_cstr(&r.body), "<Upload>"));
	raw_done(&r);

	/* at most part_size: one PUT */
	write_file(src, data, 5 * MiB);
	assert_int_equal(target_put_file(t, "packs/small", src), 0);
	snprintf(path, sizeof(path), "/%s/mp/packs/small", E.bucket);
	raw_req(&r, "HEAD", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_null(strchr(r.etag, '-'));
	raw_done(&r);
	rv_buf_reset(&out);
	assert_int_equal(target_get(t, "packs/small", &out), 0);
	assert_int_equal(out.len, 5 * MiB);
	assert_memory_equal(out.data, data, out.len);

	/* a missing source file */
	snprintf(src, sizeof(src), "%s/missing", E.tmpdir);
	assert_int_equal(target_put_file(t, "packs/x", src), RV_IO);
	free(data);
	rv_buf_release(&out);
	target_free(t);
}

static void test_s3_wrong_secret_is_auth_error(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "");
	struct rv_buf out = RV_BUF_INIT(1024);
	struct rv_strlist names = RV_STRLIST_INIT;
	char wrong[64];
	struct target *t;
	uint64_t size;
	ENV();

	snprintf(wrong, sizeof(wrong), "wrong-secret-%d-%ld", (int)getpid(),
		 (long)time(NULL));
	c.secret_access_key = wrong;
	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, "x", "x", 1), RV_AUTH);
	assert_string_equal(rv_err_msg(),
			    "credentials refused by s3 target 'offsite' "
			    "(SignatureDoesNotMatch) when trying to put 'x': "
			    "check access_key_id and secret_access_key");
	assert_null(strstr(rv_err_msg(), wrong));
	assert_null(strstr(rv_err_msg(), E.sk));
	assert_int_equal(target_get(t, "x", &out), RV_AUTH);
	assert_null(strstr(rv_err_msg(), wrong));
	assert_int_equal(target_list(t, "", &names), RV_AUTH);
	assert_int_equal(target_stat(t, "x", &size), RV_AUTH);
	assert_null(strstr(rv_err_msg(), wrong));
	target_free(t);

	c = base_cfg(E.bucket, "");
	c.access_key_id = "NOSUCHKEY0000000";
	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, "x", "x", 1), RV_AUTH);
	assert_non_null(strstr(rv_err_msg(), "InvalidAccessKeyId"));
	assert_null(strstr(rv_err_msg(), E.sk));
	rv_buf_release(&out);
	target_free(t);
}

static void test_s3_missing_bucket_is_notfound(void **state)
{
	struct target_s3_config c = base_cfg("rvtest-no-such-bucket", "");
	struct rv_buf out = RV_BUF_INIT(1024);
	struct rv_strlist names = RV_STRLIST_INIT;
	struct target *t;
	uint64_t size;
	char want[256];
	ENV();

	t = open_s3(&c);
	snprintf(want, sizeof(want),
		 "s3 target 'offsite': bucket 'rvtest-no-such-bucket' does not "
		 "exist at %s (create it, or check bucket and endpoint)",
		 E.endpoint);
	assert_int_equal(target_stat(t, "x", &size), RV_NOTFOUND);
	assert_string_equal(rv_err_msg(), want);
	assert_int_equal(target_get(t, "x", &out), RV_NOTFOUND);
	assert_string_equal(rv_err_msg(), want);
	assert_int_equal(target_put_buf(t, "x", "x", 1), RV_NOTFOUND);
	assert_string_equal(rv_err_msg(), want);
	assert_int_equal(target_list(t, "", &names), RV_NOTFOUND);
	assert_string_equal(rv_err_msg(), want);
	assert_int_equal(target_del(t, "x"), RV_NOTFOUND);
	rv_buf_release(&out);
	target_free(t);
}

/* The retention of key's current version says COMPLIANCE, and deleting
 * that version is refused. */
static void assert_locked(const char *key)
{
	char path[512];
	char version[256];
	struct raw r;

	snprintf(path, sizeof(path), "/%s/%s", E.lock_bucket, key);
	raw_req(&r, "HEAD", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(r.version_id[0] != '\0');
	snprintf(version, sizeof(version), "%s", r.version_id);
	raw_done(&r);

	snprintf(path, sizeof(path), "/%s/%s?retention=&versionId=%s",
		 E.lock_bucket, key, version);
	raw_req(&r, "GET", path, NULL, NULL);
	if (r.status != 200)
		fail_msg("GET %s: %ld %s", path, r.status,
			 rv_buf_cstr(&r.body));
	assert_non_null(
	    strstr(rv_buf_cstr(&r.body), "<Mode>COMPLIANCE</Mode>"));
	raw_done(&r);

	snprintf(path, sizeof(path), "/%s/%s?versionId=%s", E.lock_bucket, key,
		 version);
	raw_req(&r, "DELETE", path, NULL, NULL);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(rv_buf_cstr(&r.body), "AccessDenied"));
	raw_done(&r);
}

static void test_s3_object_lock_refuses_delete_of_version(void **state)
{
	struct target_s3_config c = base_cfg(E.lock_bucket, "locked/");
	struct rv_buf out = RV_BUF_INIT(16 * MiB);
	unsigned char *data = malloc(11 * MiB);
	struct target *t;
	char src[128], path[256];
	ENV();

	assert_non_null(data);
	c.object_lock_days = 1;
	c.part_size = 5 * MiB;
	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, "snapshots/s1", "sealed", 6), 0);
	assert_locked("locked/snapshots/s1");

	/* multipart with lock: headers on the start, Content-MD5 on parts */
	fill_random(data, 11 * MiB, 3);
	snprintf(src, sizeof(src), "%s/lockpack", E.tmpdir);
	write_file(src, data, 11 * MiB);
	assert_int_equal(target_put_file(t, "packs/p1", src), 0);
	assert_locked("locked/packs/p1");
	assert_int_equal(target_get(t, "packs/p1", &out), 0);
	assert_int_equal(out.len, 11 * MiB);
	assert_memory_equal(out.data, data, out.len);

	/* the target's delete refuses honestly (no delete marker that
	 * would hide the object while its bytes stay) */
	assert_int_equal(target_del(t, "snapshots/s1"), RV_LOCKED);
	assert_int_equal(target_del(t, "packs/p1"), RV_LOCKED);
	assert_non_null(strstr(rv_err_msg(), "'packs/p1' is retained by "
					     "Object Lock until "));
	snprintf(path, sizeof(path),
		 "/%s?prefix=locked%%2Fsnapshots&versions=", E.lock_bucket);
	{
		struct raw r;
		raw_req(&r, "GET", path, NULL, NULL);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(rv_buf_cstr(&r.body), "<Version>"));
		assert_null(strstr(rv_buf_cstr(&r.body), "<DeleteMarker>"));
		raw_done(&r);
	}
	free(data);
	rv_buf_release(&out);
	target_free(t);
}

/* "a/b/c" -> "a%2Fb%2Fc" (test keys have no other special bytes) */
static void enc_slashes(char *out, size_t cap, const char *key)
{
	size_t n = 0;
	for (; *key && n + 4 < cap; key++) {
		if (*key == '/') {
			memcpy(out + n, "%2F", 3);
			n += 3;
		} else {
			out[n++] = *key;
		}
	}
	out[n] = '\0';
}

/* The versions and delete markers of exactly key in the lock bucket, as
 * ListObjectVersions shows them: *entries in all, *markers of them
 * delete markers (counted from the raw body: the prefix must then cover
 * key only). */
static void lock_versions(const char *key, size_t *entries, size_t *markers)
{
	struct rv_strlist keys = RV_STRLIST_INIT, ids = RV_STRLIST_INIT;
	struct s3_versions_page page = {&keys, &ids, 0, NULL, NULL};
	char path[1024], enc[512];
	const char *p;
	struct raw r;

	enc_slashes(enc, sizeof(enc), key);
	snprintf(path, sizeof(path), "/%s?prefix=%s&versions=", E.lock_bucket,
		 enc);
	raw_req(&r, "GET", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	if (s3_xml_parse_versions(&page, (const char *)r.body.data, r.body.len))
		fail_msg("version listing: %s", rv_err_msg());
	assert_false(page.truncated);
	*entries = 0;
	for (size_t i = 0; i < keys.n; i++)
		if (!strcmp(keys.items[i], key))
			(*entries)++;
	*markers = 0;
	for (p = rv_buf_cstr(&r.body); (p = strstr(p, "<DeleteMarker>")); p++)
		(*markers)++;
	free(page.next_key_marker);
	free(page.next_version_id_marker);
	rv_strlist_release(&keys);
	rv_strlist_release(&ids);
	raw_done(&r);
}

/* "... until 2026-12-01T10:00:00Z; ..." -> seconds since the epoch */
static time_t date_in_msg(const char *msg)
{
	const char *u = strstr(msg, " until ");
	struct tm tm = {0};
	char z = 0;

	assert_non_null(u);
	if (sscanf(u + 7, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
	    z != 'Z')
		fail_msg("no date in: %s", msg);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void test_s3_lock_del_of_retained_object_names_the_date(void **state)
{
	struct target_s3_config c = base_cfg(E.lock_bucket, "ret/");
	struct rv_buf out = RV_BUF_INIT(1024);
	const char *name = "packs/ab/"
			   "ab00000000000000000000000000000000000000000000000"
			   "000000000000001";
	char want[512], key[256];
	struct target *t;
	size_t entries, markers;
	time_t put_at, until;
	uint64_t size = 0;
	ENV();

	c.object_lock_days = 1;
	t = open_s3(&c);
	put_at = time(NULL);
	assert_int_equal(target_put_buf(t, name, "sealed pack", 11), 0);
	assert_int_equal(target_del(t, name), RV_LOCKED);
	snprintf(want, sizeof(want),
		 "s3 target 'offsite': '%s' is retained by Object Lock until ",
		 name);
	assert_memory_equal(rv_err_msg(), want, strlen(want));
	assert_non_null(strstr(rv_err_msg(), "; prune will retry it later"));
	/* retain-until = put time + 1 day, to the second */
	until = date_in_msg(rv_err_msg());
	assert_true(until >= put_at + 86400 - 1);
	assert_true(until <= time(NULL) + 86400 + 1);

	/* still there, readable, and no delete marker hides it */
	assert_int_equal(target_stat(t, name, &size), 0);
	assert_int_equal(size, 11);
	assert_int_equal(target_get(t, name, &out), 0);
	assert_string_equal(rv_buf_cstr(&out), "sealed pack");
	snprintf(key, sizeof(key), "ret/%s", name);
	lock_versions(key, &entries, &markers);
	assert_int_equal(entries, 1);
	assert_int_equal(markers, 0);

	/* the same again: still locked, nothing changed */
	assert_int_equal(target_del(t, name), RV_LOCKED);
	lock_versions(key, &entries, &markers);
	assert_int_equal(entries, 1);
	assert_int_equal(markers, 0);
	rv_buf_release(&out);
	target_free(t);
}

static void
test_s3_lock_del_removes_every_version_without_retention(void **state)
{
	struct target_s3_config plain_c = base_cfg(E.lock_bucket, "unret/");
	struct target_s3_config lock_c = base_cfg(E.lock_bucket, "unret/");
	struct rv_buf out = RV_BUF_INIT(1024);
	struct target *plain, *locked;
	char path[512];
	size_t entries, markers;
	uint64_t size;
	ENV();

	/* a second handle on the lock bucket with object_lock_days = 0
	 * puts versions without retention */
	plain = open_s3(&plain_c);
	lock_c.object_lock_days = 1;
	locked = open_s3(&lock_c);
	target_s3_set_test_knobs(locked, 2, 0); /* pages of 2 entries */
	for (int i = 0; i < 3; i++)
		assert_int_equal(target_put_buf(plain, "packs/cd/x", "v", 1),
				 0);
	/* a delete marker in between, then a newest version */
	snprintf(path, sizeof(path), "/%s/unret/packs/cd/x", E.lock_bucket);
	assert_int_equal(raw_status("DELETE", path, NULL, NULL), 204);
	assert_int_equal(target_put_buf(plain, "packs/cd/x", "v4", 2), 0);
	/* a longer key under the same prefix is not touched */
	assert_int_equal(target_put_buf(plain, "packs/cd/x2", "other", 5), 0);
	lock_versions("unret/packs/cd/x", &entries, &markers);
	assert_int_equal(entries, 5);
	assert_int_equal(markers, 1);

	assert_int_equal(target_del(locked, "packs/cd/x"), 0);
	lock_versions("unret/packs/cd/x", &entries, &markers);
	assert_int_equal(entries, 0);
	assert_int_equal(markers, 0);
	assert_int_equal(target_stat(locked, "packs/cd/x", &size), RV_NOTFOUND);
	assert_int_equal(target_get(plain, "packs/cd/x2", &out), 0);
	assert_string_equal(rv_buf_cstr(&out), "other");
	lock_versions("unret/packs/cd/x2", &entries, &markers);
	assert_int_equal(entries, 1);

	/* absent is not an error, and leaves no marker behind */
	assert_int_equal(target_del(locked, "packs/cd/x"), 0);
	assert_int_equal(target_del(locked, "never/was"), 0);
	lock_versions("unret/never/was", &entries, &markers);
	assert_int_equal(entries, 0);
	assert_int_equal(markers, 0);
	rv_buf_release(&out);
	target_free(plain);
	target_free(locked);
}

static void
test_s3_lock_del_deletes_what_it_can_beside_a_retained_version(void **state)
{
	struct target_s3_config plain_c = base_cfg(E.lock_bucket, "mixed/");
	struct target_s3_config lock_c = base_cfg(E.lock_bucket, "mixed/");
	struct rv_buf out = RV_BUF_INIT(1024);
	struct target *plain, *locked;
	size_t entries, markers;
	ENV();

	plain = open_s3(&plain_c);
	lock_c.object_lock_days = 1;
	locked = open_s3(&lock_c);
	assert_int_equal(target_put_buf(plain, "snapshots/s", "old", 3), 0);
	assert_int_equal(target_put_buf(locked, "snapshots/s", "kept", 4), 0);
	assert_int_equal(target_put_buf(plain, "snapshots/s", "new1", 4), 0);
	assert_int_equal(target_put_buf(plain, "snapshots/s", "new2", 4), 0);
	lock_versions("mixed/snapshots/s", &entries, &markers);
	assert_int_equal(entries, 4);

	assert_int_equal(target_del(locked, "snapshots/s"), RV_LOCKED);
	assert_non_null(strstr(rv_err_msg(), "'snapshots/s' is retained by "
					     "Object Lock until 20"));
	/* only the retained version is left, and it is what one reads */
	lock_versions("mixed/snapshots/s", &entries, &markers);
	assert_int_equal(entries, 1);
	assert_int_equal(markers, 0);
	assert_int_equal(target_get(plain, "snapshots/s", &out), 0);
	assert_string_equal(rv_buf_cstr(&out), "kept");

	/* the plain handle's delete is the old plain DELETE: a marker */
	assert_int_equal(target_del(plain, "snapshots/s"), 0);
	lock_versions("mixed/snapshots/s", &entries, &markers);
	assert_int_equal(entries, 2);
	assert_int_equal(markers, 1);
	/* the lock handle removes the marker, keeps the retained version */
	assert_int_equal(target_del(locked, "snapshots/s"), RV_LOCKED);
	lock_versions("mixed/snapshots/s", &entries, &markers);
	assert_int_equal(entries, 1);
	assert_int_equal(markers, 0);
	rv_buf_release(&out);
	target_free(plain);
	target_free(locked);
}

static long put_legal_hold(const char *key, const char *version,
			   const char *status)
{
	char body[256], path[512], md5_hdr[64];
	unsigned char dig[16];
	char b64[32];
	const char *extra[] = {md5_hdr, NULL};

	snprintf(body, sizeof(body),
		 "<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/"
		 "\"><Status>%s</Status></LegalHold>",
		 status);
	assert_int_equal(
	    EVP_Digest(body, strlen(body), dig, NULL, EVP_md5(), NULL), 1);
	EVP_EncodeBlock((unsigned char *)b64, dig, 16);
	snprintf(md5_hdr, sizeof(md5_hdr), "Content-MD5: %s", b64);
	snprintf(path, sizeof(path), "/%s/%s?legal-hold=&versionId=%s",
		 E.lock_bucket, key, version);
	return raw_status("PUT", path, body, extra);
}

static void test_s3_lock_del_under_legal_hold_is_locked(void **state)
{
	struct target_s3_config plain_c = base_cfg(E.lock_bucket, "hold/");
	struct target_s3_config lock_c = base_cfg(E.lock_bucket, "hold/");
	struct target *plain, *locked;
	char path[512], version[256];
	size_t entries, markers;
	uint64_t size;
	struct raw r;
	ENV();

	plain = open_s3(&plain_c);
	lock_c.object_lock_days = 1;
	locked = open_s3(&lock_c);
	assert_int_equal(target_put_buf(plain, "keys/k", "slot", 4), 0);
	snprintf(path, sizeof(path), "/%s/hold/keys/k", E.lock_bucket);
	raw_req(&r, "HEAD", path, NULL, NULL);
	assert_int_equal(r.status, 200);
	snprintf(version, sizeof(version), "%s", r.version_id);
	raw_done(&r);
	assert_true(version[0] != '\0');
	assert_int_equal(put_legal_hold("hold/keys/k", version, "ON"), 200);

	assert_int_equal(target_del(locked, "keys/k"), RV_LOCKED);
	assert_string_equal(rv_err_msg(),
			    "s3 target 'offsite': 'keys/k' is under an Object "
			    "Lock legal hold; it can be deleted once the hold "
			    "is removed");
	assert_int_equal(target_stat(locked, "keys/k", &size), 0);

	assert_int_equal(put_legal_hold("hold/keys/k", version, "OFF"), 200);
	assert_int_equal(target_del(locked, "keys/k"), 0);
	assert_int_equal(target_stat(locked, "keys/k", &size), RV_NOTFOUND);
	lock_versions("hold/keys/k", &entries, &markers);
	assert_int_equal(entries, 0);
	target_free(plain);
	target_free(locked);
}

static void test_s3_lock_del_on_missing_bucket_is_notfound(void **state)
{
	struct target_s3_config c = base_cfg("rvtest-no-such-bucket", "");
	struct target *t;
	ENV();

	c.object_lock_days = 1;
	t = open_s3(&c);
	assert_int_equal(target_del(t, "packs/ab/x"), RV_NOTFOUND);
	assert_non_null(strstr(rv_err_msg(), "bucket 'rvtest-no-such-bucket' "
					     "does not exist"));
	target_free(t);
}

static void test_s3_object_lock_on_plain_bucket_says_why(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "nolock/");
	struct target *t;
	ENV();

	c.object_lock_days = 1;
	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, "x", "x", 1), RV_IO);
	assert_non_null(strstr(rv_err_msg(), "object lock enabled"));
	assert_non_null(strstr(rv_err_msg(), "'offsite'"));
	target_free(t);
}

static void test_s3_virtual_host_style_on_localhost(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "vh/");
	struct rv_buf out = RV_BUF_INIT(1024);
	struct rv_strlist names = RV_STRLIST_INIT;
	struct target *t;
	char endpoint[256];
	const char *hostport;
	ENV();

	/* libcurl resolves *.localhost to loopback itself; the fixture sets
	 * rgw dns name = localhost. Other endpoints: path style only. */
	hostport = strstr(E.endpoint, "://127.0.0.1:");
	if (!hostport) {
		skip();
		return;
	}
	snprintf(endpoint, sizeof(endpoint), "http://localhost%s",
		 hostport + strlen("://127.0.0.1"));
	c.endpoint = endpoint;
	c.path_style = 0;
	t = open_s3(&c);
	assert_int_equal(target_put_buf(t, "keys/k1", "slot", 4), 0);
	assert_int_equal(target_get(t, "keys/k1", &out), 0);
	assert_string_equal(rv_buf_cstr(&out), "slot");
	assert_int_equal(target_list(t, "keys/", &names), 0);
	assert_int_equal(names.n, 1);
	assert_string_equal(names.items[0], "keys/k1");
	assert_int_equal(target_del(t, "keys/k1"), 0);
	rv_strlist_release(&names);
	rv_buf_release(&out);
	target_free(t);
}

static void test_s3_refused_connection_is_net_error(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "");
	struct target *t;
	uint64_t size;
	ENV();

	c.endpoint = "http://127.0.0.1:1";
	t = open_s3(&c);
	target_s3_set_test_knobs(t, 0, 5);
	assert_int_equal(target_stat(t, "packs/x", &size), RV_NET);
	assert_non_null(strstr(rv_err_msg(), "s3 target 'offsite': cannot stat "
					     "'packs/x'"));
	assert_non_null(strstr(rv_err_msg(), "(after 4 tries)"));
	target_free(t);
}

static void test_s3_open_refuses_bad_config(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "");
	struct target *t = NULL;
	(void)state;

	c.endpoint = E.endpoint ? E.endpoint : "http://127.0.0.1:9";
	c.part_size = 1 * MiB;
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "part size"));
	c.part_size = 0;
	c.secret_access_key = "";
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	c.secret_access_key = "s";
	c.bucket = "Bad_Bucket";
	c.path_style = 0;
	c.endpoint = "http://localhost:9";
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	c.bucket = "good-bucket";
	c.endpoint = "http://127.0.0.1:9";
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "path_style"));
	c.path_style = 1;
	c.prefix = "../up";
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	c.prefix = "/abs";
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	c.prefix = "ok/";
	c.object_lock_days = -1;
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	c.object_lock_days = 0;
	c.endpoint = "ftp://x";
	assert_int_equal(target_s3_open(&t, &c), RV_INVALID);
	assert_null(t);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Figures, not assertions of speed: PUT and GET of a 64 MiB pack through
 * the target (single PUT at the default 64 MiB part size; then 16 MiB
 * parts). */
static void test_s3_bench_64mib(void **state)
{
	struct target_s3_config c = base_cfg(E.bucket, "bench/");
	struct rv_buf out = RV_BUF_INIT(80 * MiB);
	unsigned char *data = malloc(64 * MiB);
	struct target *t;
	char src[128];
	double t0, t1, t2;
	ENV();

	assert_non_null(data);
	fill_random(data, 64 * MiB, 11);
	snprintf(src, sizeof(src), "%s/bench", E.tmpdir);
	write_file(src, data, 64 * MiB);
	for (int pass = 0; pass < 2; pass++) {
		c.part_size = pass ? 16 * MiB : 0;
		t = open_s3(&c);
		t0 = now_s();
		assert_int_equal(target_put_file(t, "packs/bench", src), 0);
		t1 = now_s();
		rv_buf_reset(&out);
		assert_int_equal(target_get(t, "packs/bench", &out), 0);
		t2 = now_s();
		assert_int_equal(out.len, 64 * MiB);
		assert_memory_equal(out.data, data, out.len);
		printf("# s3 bench (%s): PUT 64 MiB %.2f s = %.0f MB/s, "
		       "GET %.2f s = %.0f MB/s\n",
		       pass ? "4 parts of 16 MiB" : "single PUT", t1 - t0,
		       64 * 1.048576 / (t1 - t0), t2 - t1,
		       64 * 1.048576 / (t2 - t1));
		assert_int_equal(target_del(t, "packs/bench"), 0);
		target_free(t);
	}
	free(data);
	rv_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_s3_put_get_range_stat_del),
	    cmocka_unit_test(test_s3_odd_key_characters_round_trip),
	    cmocka_unit_test(test_s3_list_pages_over_1100_keys),
	    cmocka_unit_test(test_s3_prefix_names_are_relative),
	    cmocka_unit_test(test_s3_multipart_put_file_20mib),
	    cmocka_unit_test(test_s3_wrong_secret_is_auth_error),
	    cmocka_unit_test(test_s3_missing_bucket_is_notfound),
	    cmocka_unit_test(test_s3_object_lock_refuses_delete_of_version),
	    cmocka_unit_test(
		test_s3_lock_del_of_retained_object_names_the_date),
	    cmocka_unit_test(
		test_s3_lock_del_removes_every_version_without_retention),
	    cmocka_unit_test(
		test_s3_lock_del_deletes_what_it_can_beside_a_retained_version),
	    cmocka_unit_test(test_s3_lock_del_under_legal_hold_is_locked),
	    cmocka_unit_test(test_s3_lock_del_on_missing_bucket_is_notfound),
	    cmocka_unit_test(test_s3_object_lock_on_plain_bucket_says_why),
	    cmocka_unit_test(test_s3_virtual_host_style_on_localhost),
	    cmocka_unit_test(test_s3_refused_connection_is_net_error),
	    cmocka_unit_test(test_s3_open_refuses_bad_config),
	};
	const struct CMUnitTest bench[] = {
	    cmocka_unit_test(test_s3_bench_64mib),
	};
	const char *b = getenv("REGVAULT_TEST_S3_BENCH");
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (b && !strcmp(b, "1"))
		rc = cmocka_run_group_tests(bench, group_setup, group_teardown);
	else
		rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	curl_global_cleanup();
	return rc;
}
