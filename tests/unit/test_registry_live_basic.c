/* HTTP Basic auth against a real registry (distribution with htpasswd).
 * Runs when REGVAULT_TEST_REGISTRY_BASIC holds its base URL and
 * REGVAULT_TEST_REGISTRY_USER / REGVAULT_TEST_REGISTRY_PASSWORD a valid
 * account; skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/registry.h"
#include "util/digest.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct env {
	const char *url, *user, *password;
};

static int setup(void **state)
{
	static struct env e;

	e.url = getenv("REGVAULT_TEST_REGISTRY_BASIC");
	e.user = getenv("REGVAULT_TEST_REGISTRY_USER");
	e.password = getenv("REGVAULT_TEST_REGISTRY_PASSWORD");
	*state = e.url && *e.url && e.user && e.password ? &e : NULL;
	return 0;
}

#define ENV(E)                                                                 \
	struct env *E = *state;                                                \
	if (!E) {                                                              \
		skip(); /* REGVAULT_TEST_REGISTRY_BASIC not set */             \
		return;                                                        \
	}

struct mem_src {
	const char *data;
	size_t len, off;
};

static int mem_source(void *arg, void *buf, size_t cap, size_t *got)
{
	struct mem_src *s = arg;
	size_t k = s->len - s->off < cap ? s->len - s->off : cap;
	memcpy(buf, s->data + s->off, k);
	s->off += k;
	*got = k;
	return 0;
}

static void test_basic_anonymous_is_asked_for_credentials(void **state)
{
	struct reg_config cfg = {.name = "locked"};
	struct rv_strlist tags = RV_STRLIST_INIT;
	struct reg *r = NULL;
	ENV(E);

	cfg.url = E->url;
	assert_int_equal(reg_new(&r, &cfg), 0);
	assert_int_equal(reg_tags(r, "any/repo", &tags), RV_AUTH);
	assert_string_equal(rv_err_msg(),
			    "registry 'locked' asks for credentials; set "
			    "username and password_file");
	reg_free(r);
}

static void test_basic_wrong_password_is_auth_error(void **state)
{
	struct reg_config cfg = {.name = "locked"};
	struct reg_desc desc;
	struct reg *r = NULL;
	ENV(E);

	cfg.url = E->url;
	cfg.username = E->user;
	cfg.password = "definitely-not-the-password";
	assert_int_equal(reg_new(&r, &cfg), 0);
	assert_int_equal(reg_manifest_head(&desc, r, "any/repo", "latest"),
			 RV_AUTH);
	assert_non_null(strstr(rv_err_msg(), "401"));
	assert_null(strstr(rv_err_msg(), cfg.password));
	reg_free(r);
}

static void test_basic_credentials_allow_push_and_pull(void **state)
{
	struct reg_config cfg = {.name = "locked"};
	struct rv_strlist tags = RV_STRLIST_INIT;
	struct rv_strlist repos = RV_STRLIST_INIT;
	struct reg_desc desc;
	struct reg *r = NULL;
	char blob[64], digest[RV_DIGEST_MAX], repo[64], mf[1024];
	char mf_digest[RV_DIGEST_MAX];
	struct mem_src src;
	int64_t size;
	int n;
	ENV(E);

	cfg.url = E->url;
	cfg.username = E->user;
	cfg.password = E->password;
	assert_int_equal(reg_new(&r, &cfg), 0);
	snprintf(repo, sizeof(repo), "basic/t%ld-%d", (long)time(NULL),
		 (int)getpid());
	n = snprintf(blob, sizeof(blob), "{\"seed\":\"%s\"}", repo);
	assert_int_equal(rv_digest_of(digest, blob, (size_t)n), 0);
	src = (struct mem_src){blob, (size_t)n, 0};
	assert_int_equal(reg_blob_put(r, repo, digest, n, mem_source, &src), 0);
	assert_int_equal(reg_blob_head(&size, r, repo, digest), 0);
	assert_int_equal(size, n);
	n = snprintf(mf, sizeof(mf),
		     "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":"
		     "{\"mediaType\":\"application/vnd.oci.image.config.v1+"
		     "json\",\"digest\":\"%s\",\"size\":%lld},\"layers\":[]}",
		     REG_MT_OCI_MANIFEST, digest, (long long)size);
	assert_int_equal(rv_digest_of(mf_digest, mf, (size_t)n), 0);
	assert_int_equal(
	    reg_manifest_put(r, repo, "v1", REG_MT_OCI_MANIFEST, mf, (size_t)n),
	    0);
	assert_int_equal(reg_manifest_head(&desc, r, repo, "v1"), 0);
	assert_string_equal(desc.digest, mf_digest);
	assert_int_equal(reg_tags(r, repo, &tags), 0);
	assert_int_equal(tags.n, 1);
	assert_int_equal(reg_catalog(r, &repos), 0);
	assert_int_equal(rv_strlist_has(&repos, repo), 1);
	rv_strlist_release(&tags);
	rv_strlist_release(&repos);
	reg_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic_anonymous_is_asked_for_credentials),
	    cmocka_unit_test(test_basic_wrong_password_is_auth_error),
	    cmocka_unit_test(test_basic_credentials_allow_push_and_pull),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
