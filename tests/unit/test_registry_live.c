/* The registry client against a real registry (the CNCF distribution
 * server). Runs when REGVAULT_TEST_REGISTRY holds its base URL, e.g.
 * http://127.0.0.1:5000 (delete enabled); skipped otherwise. With
 * REGVAULT_TEST_REGISTRY_USER and REGVAULT_TEST_REGISTRY_PASSWORD set it
 * logs in (Basic, or Bearer through the registry's token server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/manifest.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/digest.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LAYER_SIZE ((size_t)3 * 1024 * 1024 + 17) /* > curl's 1 MiB chunks */
#define N_TAGS 1005  /* more than one page of 1000 */
#define N_REPOS 1001 /* more than one catalog page of 1000 */

struct live {
	struct reg *r;
	char repo[128];
	char repo2[128];
	unsigned char *layer;
	char layer_digest[RV_DIGEST_MAX];
	char config[256];
	char config_digest[RV_DIGEST_MAX];
	char *manifest;
	char manifest_digest[RV_DIGEST_MAX];
};

struct mem_src {
	const unsigned char *data;
	size_t len, off;
	size_t step; /* at most this much per call */
};

static int mem_source(void *arg, void *buf, size_t cap, size_t *got)
{
	struct mem_src *s = arg;
	size_t k = s->len - s->off;

	if (k > cap)
		k = cap;
	if (s->step && k > s->step)
		k = s->step;
	memcpy(buf, s->data + s->off, k);
	s->off += k;
	*got = k;
	return 0;
}

static int put_bytes(struct reg *r, const char *repo, const char *digest,
		     const void *data, size_t len)
{
	struct mem_src src = {data, len, 0, 65536};
	return reg_blob_put(r, repo, digest, (int64_t)len, mem_source, &src);
}

static int buf_sink(void *arg, const void *data, size_t len)
{
	return rv_buf_add(arg, data, len);
}

static int full_sink(void *arg, const void *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return rv_err_set(RV_NOSPC, "test sink: target full");
}

static int setup(void **state)
{
	const char *url = getenv("REGVAULT_TEST_REGISTRY");
	struct reg_config cfg = {.name = "live"};
	struct live *L;
	unsigned int seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	int n;

	*state = NULL;
	if (!url || !*url)
		return 0;
	L = calloc(1, sizeof(*L));
	assert_non_null(L);
	cfg.url = url;
	cfg.username = getenv("REGVAULT_TEST_REGISTRY_USER");
	cfg.password = getenv("REGVAULT_TEST_REGISTRY_PASSWORD");
	assert_int_equal(reg_new(&L->r, &cfg), 0);
	snprintf(L->repo, sizeof(L->repo), "regvault-test/live-%u", seed);
	snprintf(L->repo2, sizeof(L->repo2), "regvault-test/mount-%u", seed);

	L->layer = malloc(LAYER_SIZE);
	assert_non_null(L->layer);
	srand(seed);
	for (size_t i = 0; i < LAYER_SIZE; i++)
		L->layer[i] = (unsigned char)(rand() >> 7);
	assert_int_equal(rv_digest_of(L->layer_digest, L->layer, LAYER_SIZE),
			 0);
	n = snprintf(L->config, sizeof(L->config),
		     "{\"architecture\":\"amd64\",\"os\":\"linux\","
		     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
		     "\"regvault_seed\":%u}",
		     seed);
	assert_true(n > 0 && (size_t)n < sizeof(L->config));
	assert_int_equal(
	    rv_digest_of(L->config_digest, L->config, strlen(L->config)), 0);
	*state = L;
	return 0;
}

static int teardown(void **state)
{
	struct live *L = *state;
	if (!L)
		return 0;
	reg_free(L->r);
	free(L->layer);
	free(L->manifest);
	free(L);
	return 0;
}

#define LIVE(L)                                                                \
	struct live *L = *state;                                               \
	if (!L) {                                                              \
		skip(); /* REGVAULT_TEST_REGISTRY not set */                   \
		return;                                                        \
	}

static void test_live_blob_upload_then_head(void **state)
{
	int64_t size = 0;
	LIVE(L);

	assert_int_equal(reg_blob_head(&size, L->r, L->repo, L->layer_digest),
			 RV_NOTFOUND);
	assert_int_equal(
	    put_bytes(L->r, L->repo, L->layer_digest, L->layer, LAYER_SIZE), 0);
	assert_int_equal(put_bytes(L->r, L->repo, L->config_digest, L->config,
				   strlen(L->config)),
			 0);
	assert_int_equal(reg_blob_head(&size, L->r, L->repo, L->layer_digest),
			 0);
	assert_int_equal(size, LAYER_SIZE);
	assert_int_equal(reg_blob_head(&size, L->r, L->repo, L->config_digest),
			 0);
	assert_int_equal(size, strlen(L->config));
}

static void test_live_blob_head_unknown_is_notfound(void **state)
{
	int64_t size = 0;
	LIVE(L);

	assert_int_equal(reg_blob_head(&size, L->r, L->repo,
				       "sha256:00000000000000000000000000000000"
				       "00000000000000000000000000000000"),
			 RV_NOTFOUND);
	assert_non_null(strstr(rv_err_msg(), "'live'"));
	assert_non_null(strstr(rv_err_msg(), "404"));
}

static void test_live_upload_with_wrong_digest_is_refused(void **state)
{
	char wrong[RV_DIGEST_MAX];
	int64_t size = 0;
	LIVE(L);

	/* the digest of other bytes than those sent */
	assert_int_equal(rv_digest_of(wrong, "something else", 14), 0);
	assert_int_equal(put_bytes(L->r, L->repo, wrong, "not those bytes", 15),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "DIGEST_INVALID"));
	assert_int_equal(reg_blob_head(&size, L->r, L->repo, wrong),
			 RV_NOTFOUND);
}

static void test_live_blob_get_streams_and_verifies(void **state)
{
	struct rv_buf got = RV_BUF_INIT(LAYER_SIZE + 1024);
	struct reg_stats before, after;
	LIVE(L);

	reg_get_stats(&before, L->r);
	assert_int_equal(reg_blob_get(L->r, L->repo, L->layer_digest,
				      (int64_t)LAYER_SIZE, buf_sink, &got),
			 0);
	assert_int_equal(got.len, LAYER_SIZE);
	assert_memory_equal(got.data, L->layer, LAYER_SIZE);
	reg_get_stats(&after, L->r);
	assert_int_equal(after.blob_gets - before.blob_gets, 1);
	assert_int_equal(after.blob_bytes - before.blob_bytes, LAYER_SIZE);

	/* size unknown */
	rv_buf_reset(&got);
	assert_int_equal(
	    reg_blob_get(L->r, L->repo, L->layer_digest, -1, buf_sink, &got),
	    0);
	assert_int_equal(got.len, LAYER_SIZE);
	rv_buf_release(&got);
}

static void test_live_blob_get_wrong_size_is_corrupt(void **state)
{
	struct rv_buf got = RV_BUF_INIT(LAYER_SIZE + 1024);
	LIVE(L);

	/* longer than announced: stops as soon as the size is passed */
	assert_int_equal(reg_blob_get(L->r, L->repo, L->layer_digest,
				      (int64_t)LAYER_SIZE - 1, buf_sink, &got),
			 RV_CORRUPT);
	assert_true(got.len <= LAYER_SIZE - 1);
	assert_non_null(strstr(rv_err_msg(), "longer"));
	rv_buf_reset(&got);
	assert_int_equal(reg_blob_get(L->r, L->repo, L->layer_digest,
				      (int64_t)LAYER_SIZE + 1, buf_sink, &got),
			 RV_CORRUPT);
	assert_non_null(strstr(rv_err_msg(), "shorter"));
	rv_buf_release(&got);
}

static void test_live_blob_get_sink_error_passes_through(void **state)
{
	LIVE(L);

	assert_int_equal(reg_blob_get(L->r, L->repo, L->layer_digest,
				      (int64_t)LAYER_SIZE, full_sink, NULL),
			 RV_NOSPC);
	assert_string_equal(rv_err_msg(), "test sink: target full");
}

static void test_live_manifest_put_head_get(void **state)
{
	struct rv_buf body = RV_BUF_INIT(1 << 20);
	struct reg_desc desc;
	struct reg_manifest *m = NULL;
	struct rv_buf mf = RV_BUF_INIT(4096);
	LIVE(L);

	assert_int_equal(
	    rv_buf_printf(&mf,
			  "{\"schemaVersion\":2,\"mediaType\":\"%s\","
			  "\"config\":{\"mediaType\":\"application/vnd.oci."
			  "image.config.v1+json\",\"digest\":\"%s\","
			  "\"size\":%zu},\"layers\":[{\"mediaType\":"
			  "\"application/vnd.oci.image.layer.v1.tar\","
			  "\"digest\":\"%s\",\"size\":%zu}]}",
			  REG_MT_OCI_MANIFEST, L->config_digest,
			  strlen(L->config), L->layer_digest, LAYER_SIZE),
	    0);
	L->manifest = rv_buf_detach(&mf, NULL);
	assert_int_equal(
	    rv_digest_of(L->manifest_digest, L->manifest, strlen(L->manifest)),
	    0);
	assert_int_equal(reg_manifest_put(L->r, L->repo, "v1",
					  REG_MT_OCI_MANIFEST, L->manifest,
					  strlen(L->manifest)),
			 0);

	assert_int_equal(reg_manifest_head(&desc, L->r, L->repo, "v1"), 0);
	assert_string_equal(desc.digest, L->manifest_digest);
	assert_string_equal(desc.media_type, REG_MT_OCI_MANIFEST);
	assert_int_equal(desc.size, strlen(L->manifest));

	assert_int_equal(reg_manifest_get(&body, &desc, L->r, L->repo, "v1"),
			 0);
	assert_int_equal(body.len, strlen(L->manifest));
	assert_memory_equal(body.data, L->manifest, body.len);
	assert_string_equal(desc.digest, L->manifest_digest);
	assert_string_equal(desc.media_type, REG_MT_OCI_MANIFEST);

	assert_int_equal(
	    reg_manifest_get(&body, &desc, L->r, L->repo, L->manifest_digest),
	    0);
	assert_string_equal(desc.digest, L->manifest_digest);
	assert_int_equal(
	    reg_manifest_parse(&m, body.data, body.len, desc.media_type), 0);
	assert_int_equal(m->kind, REG_KIND_IMAGE);
	assert_string_equal(m->config.digest, L->config_digest);
	assert_int_equal(m->n_layers, 1);
	assert_string_equal(m->layers[0].digest, L->layer_digest);
	reg_manifest_free(m);

	/* by digest too */
	assert_int_equal(reg_manifest_put(L->r, L->repo, L->manifest_digest,
					  REG_MT_OCI_MANIFEST, L->manifest,
					  strlen(L->manifest)),
			 0);
	/* a cap smaller than the manifest */
	body.max = 16;
	assert_int_equal(reg_manifest_get(&body, &desc, L->r, L->repo, "v1"),
			 RV_TOOBIG);
	rv_buf_release(&body);
	rv_buf_release(&mf);
}

static void test_live_manifest_unknown_is_notfound(void **state)
{
	struct rv_buf body = RV_BUF_INIT(1 << 20);
	struct reg_desc desc;
	struct rv_strlist tags = RV_STRLIST_INIT;
	LIVE(L);

	assert_int_equal(reg_manifest_head(&desc, L->r, L->repo, "nope"),
			 RV_NOTFOUND);
	assert_int_equal(reg_manifest_get(&body, &desc, L->r, L->repo, "nope"),
			 RV_NOTFOUND);
	assert_non_null(strstr(rv_err_msg(), "MANIFEST_UNKNOWN"));
	assert_non_null(strstr(rv_err_msg(), L->repo));
	assert_non_null(strstr(rv_err_msg(), "nope"));
	assert_int_equal(reg_tags(L->r, "regvault-test/does-not-exist", &tags),
			 RV_NOTFOUND);
	/* a manifest whose blobs are missing is refused */
	assert_int_not_equal(reg_manifest_put(L->r, L->repo2, "v1",
					      REG_MT_OCI_MANIFEST, L->manifest,
					      strlen(L->manifest)),
			     0);
	rv_buf_release(&body);
}

/* distribution 2.8 ignores ?n= on tags/list and answers with every tag in
 * one page; other registries page. Either way every tag must come back. */
static void test_live_tags_lists_every_tag(void **state)
{
	struct rv_strlist tags = RV_STRLIST_INIT;
	char tag[32];
	LIVE(L);

	for (int i = 0; i < N_TAGS; i++) {
		snprintf(tag, sizeof(tag), "t%04d", i);
		assert_int_equal(
		    reg_manifest_put(L->r, L->repo, tag, REG_MT_OCI_MANIFEST,
				     L->manifest, strlen(L->manifest)),
		    0);
	}
	assert_int_equal(reg_tags(L->r, L->repo, &tags), 0);
	assert_int_equal(tags.n, N_TAGS + 1);
	assert_int_equal(rv_strlist_has(&tags, "v1"), 1);
	assert_int_equal(rv_strlist_has(&tags, "t0000"), 1);
	assert_int_equal(rv_strlist_has(&tags, "t1004"), 1);
	rv_strlist_release(&tags);
}

/* The catalog does honour ?n=: more than 1000 repositories take several
 * pages joined by Link headers. */
static void test_live_catalog_follows_link_pages(void **state)
{
	struct rv_strlist repos = RV_STRLIST_INIT;
	struct reg_stats before, after;
	struct rv_buf mf = RV_BUF_INIT(4096);
	char repo[160];
	size_t found = 0;
	LIVE(L);

	/* a config-only manifest: one mount and one PUT per repository */
	assert_int_equal(
	    rv_buf_printf(&mf,
			  "{\"schemaVersion\":2,\"mediaType\":\"%s\","
			  "\"config\":{\"mediaType\":\"application/vnd.oci."
			  "image.config.v1+json\",\"digest\":\"%s\","
			  "\"size\":%zu},\"layers\":[]}",
			  REG_MT_OCI_MANIFEST, L->config_digest,
			  strlen(L->config)),
	    0);
	for (int i = 0; i < N_REPOS; i++) {
		snprintf(repo, sizeof(repo), "%s-cat/r%04d", L->repo, i);
		assert_int_equal(
		    reg_blob_mount(L->r, repo, L->config_digest, L->repo), 0);
		assert_int_equal(reg_manifest_put(L->r, repo, "latest",
						  REG_MT_OCI_MANIFEST, mf.data,
						  mf.len),
				 0);
	}
	reg_get_stats(&before, L->r);
	assert_int_equal(reg_catalog(L->r, &repos), 0);
	reg_get_stats(&after, L->r);
	assert_int_equal(rv_strlist_has(&repos, L->repo), 1);
	for (size_t i = 0; i < repos.n; i++)
		if (!strncmp(repos.items[i], L->repo, strlen(L->repo)) &&
		    strstr(repos.items[i], "-cat/r"))
			found++;
	assert_int_equal(found, N_REPOS);
	/* pages of 1000: one request per page (a last empty page at most) */
	assert_true(after.requests - before.requests >= (repos.n + 999) / 1000);
	assert_true(after.requests - before.requests <=
		    (repos.n + 999) / 1000 + 1);
	assert_true(after.requests - before.requests >= 2);
	rv_strlist_release(&repos);
	rv_buf_release(&mf);
}

static void test_live_mount_across_repos(void **state)
{
	int64_t size = 0;
	LIVE(L);

	assert_int_equal(reg_blob_head(&size, L->r, L->repo2, L->layer_digest),
			 RV_NOTFOUND);
	assert_int_equal(
	    reg_blob_mount(L->r, L->repo2, L->layer_digest, L->repo), 0);
	assert_int_equal(reg_blob_head(&size, L->r, L->repo2, L->layer_digest),
			 0);
	assert_int_equal(size, LAYER_SIZE);
	/* a blob the source repo lacks: an upload starts and is cancelled */
	assert_int_equal(
	    reg_blob_mount(L->r, L->repo2,
			   "sha256:00000000000000000000000000000000"
			   "00000000000000000000000000000000",
			   L->repo),
	    RV_NOTFOUND);
}

static void test_live_stats_count_requests(void **state)
{
	struct reg_stats st;
	LIVE(L);

	reg_get_stats(&st, L->r);
	assert_true(st.requests > N_TAGS);
	assert_true(st.manifest_heads >= 2);
	assert_true(st.manifest_gets >= 3);
	assert_true(st.blob_puts >= 2);
	assert_true(st.bytes_sent >= LAYER_SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_live_blob_upload_then_head),
	    cmocka_unit_test(test_live_blob_head_unknown_is_notfound),
	    cmocka_unit_test(test_live_upload_with_wrong_digest_is_refused),
	    cmocka_unit_test(test_live_blob_get_streams_and_verifies),
	    cmocka_unit_test(test_live_blob_get_wrong_size_is_corrupt),
	    cmocka_unit_test(test_live_blob_get_sink_error_passes_through),
	    cmocka_unit_test(test_live_manifest_put_head_get),
	    cmocka_unit_test(test_live_manifest_unknown_is_notfound),
	    cmocka_unit_test(test_live_tags_lists_every_tag),
	    cmocka_unit_test(test_live_catalog_follows_link_pages),
	    cmocka_unit_test(test_live_mount_across_repos),
	    cmocka_unit_test(test_live_stats_count_requests),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
