/* Docker config.json credentials (registry/credentials.c): "auths" keys
 * matched as Docker matches them, identity tokens, credHelpers and
 * credsStore run through tests/tools/docker-credential-rvtest (copied
 * into a temporary folder put on PATH), and every way of failing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/credentials.h"
#include "registry/registry.h"
#include "util/err.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECRET "s3cr3t-pw-9f8e7d"
#define HELPER_SRC_REL "/../tools/docker-credential-rvtest"

struct fx {
	char dir[64];
	char config[128];
	char secret_file[128];
	char log[128];
	char *old_path;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void copy_helper(const char *dir)
{
	char src[4096], dst[160], buf[8192];
	const char *here = __FILE__;
	const char *slash = strrchr(here, '/');
	FILE *in, *out;
	size_t n;

	assert_non_null(slash);
	assert_true(snprintf(src, sizeof(src), "%.*s%s", (int)(slash - here),
			     here, HELPER_SRC_REL) < (int)sizeof(src));
	snprintf(dst, sizeof(dst), "%s/docker-credential-rvtest", dir);
	in = fopen(src, "r");
	assert_non_null(in);
	out = fopen(dst, "w");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(chmod(dst, 0755), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *path = getenv("PATH");
	char newpath[8192];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-creds-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->config, sizeof(f->config), "%s/config.json", f->dir);
	snprintf(f->secret_file, sizeof(f->secret_file), "%s/secret", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/helper.log", f->dir);
	write_file(f->secret_file, SECRET "\n");
	copy_helper(f->dir);
	f->old_path = path ? strdup(path) : NULL;
	snprintf(newpath, sizeof(newpath), "%s:%s", f->dir,
		 path ? path : "/usr/bin:/bin");
	setenv("PATH", newpath, 1);
	setenv("RVTEST_SECRET_FILE", f->secret_file, 1);
	setenv("RVTEST_LOG", f->log, 1);
	unsetenv("RVTEST_MODE");
	unsetenv("RVTEST_USER");
	unsetenv("RVTEST_SERVER");
	unsetenv("RVTEST_FORBID_ENV");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	if (f->old_path)
		setenv("PATH", f->old_path, 1);
	free(f->old_path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* base64 of "alice:" SECRET */
static const char *alice_b64(void)
{
	static char out[128];
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789+/";
	const unsigned char *in = (const unsigned char *)"alice:" SECRET;
	size_t n = strlen((const char *)in), o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = in[i] << 16;
		if (i + 1 < n)
			v |= in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static void write_auths_key(const struct fx *f, const char *key)
{
	char text[512];
	snprintf(text, sizeof(text), "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}",
		 key, alice_b64());
	write_file(f->config, text);
}

static void assert_no_secret_in_msg(void)
{
	assert_null(strstr(rv_err_msg(), SECRET));
	assert_null(strstr(rv_err_msg(), alice_b64()));
}

static void assert_alice(const struct reg_creds *c)
{
	assert_non_null(c->username);
	assert_string_equal(c->username, "alice");
	assert_non_null(c->password);
	assert_string_equal(c->password, SECRET);
	assert_null(c->identity_token);
}

static void assert_anonymous(const struct reg_creds *c)
{
	assert_null(c->username);
	assert_null(c->password);
	assert_null(c->identity_token);
}

/* ---- auths ----------------------------------------------------------*/

static void test_creds_auth_gives_user_and_password(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_auths_key(f, "127.0.0.1:5000");
	assert_int_equal(reg_creds_lookup(&c, f->config, "127.0.0.1:5000", 5),
			 0);
	assert_alice(&c);
	assert_string_equal(c.source, "auths");
	reg_creds_release(&c);
	assert_null(c.username);
}

static void test_creds_auth_keys_match_as_docker_does(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;
	static const char *keys[] = {"https://127.0.0.1:5000",
				     "http://127.0.0.1:5000/v2/",
				     "https://127.0.0.1:5000/v1/"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		write_auths_key(f, keys[i]);
		assert_int_equal(
		    reg_creds_lookup(&c, f->config, "127.0.0.1:5000", 5), 0);
		assert_alice(&c);
		reg_creds_release(&c);
		/* another port is another registry */
		assert_int_equal(
		    reg_creds_lookup(&c, f->config, "127.0.0.1:5001", 5), 0);
		assert_anonymous(&c);
	}
	write_auths_key(f, "http://r.example.com");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example.com", 5),
			 0);
	assert_alice(&c);
	reg_creds_release(&c);
}

static void test_creds_legacy_hub_key_only_for_docker_io(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_auths_key(f, "https://index.docker.io/v1/");
	assert_int_equal(reg_creds_lookup(&c, f->config, "docker.io", 5), 0);
	assert_alice(&c);
	reg_creds_release(&c);
	assert_int_equal(
	    reg_creds_lookup(&c, f->config, "registry-1.docker.io", 5), 0);
	assert_alice(&c);
	reg_creds_release(&c);
	assert_int_equal(reg_creds_lookup(&c, f->config, "quay.io", 5), 0);
	assert_anonymous(&c);
}

static void test_creds_identitytoken_is_a_refresh_token(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_file(f->config,
		   "{\"auths\":{\"reg.example:443\":{\"identitytoken\":"
		   "\"refresh-" SECRET "\"}}}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "reg.example:443", 5),
			 0);
	assert_null(c.username);
	assert_non_null(c.identity_token);
	assert_string_equal(c.identity_token, "refresh-" SECRET);
	reg_creds_release(&c);
}

static void test_creds_no_entry_is_anonymous(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_file(f->config, "{\"auths\":{\"other:1\":{\"auth\":\"eDp5\"},"
			      "\"r.example\":{}}}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5), 0);
	assert_anonymous(&c);
	write_file(f->config, "{}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5), 0);
	assert_anonymous(&c);
}

/* ---- helpers --------------------------------------------------------*/

static void read_log(char *out, size_t cap, const struct fx *f)
{
	FILE *l = fopen(f->log, "r");
	size_t n;

	assert_non_null(l);
	n = fread(out, 1, cap - 1, l);
	out[n] = '\0';
	fclose(l);
}

static void test_creds_helper_for_host_answers(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;
	char log[256];

	/* an empty auths entry (what docker login leaves with a helper)
	 * does not stop the lookup */
	write_file(f->config,
		   "{\"auths\":{\"127.0.0.1:5000\":{}},"
		   "\"credHelpers\":{\"127.0.0.1:5000\":\"rvtest\"}}");
	setenv("RVTEST_USER", "bob", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "127.0.0.1:5000", 5),
			 0);
	assert_string_equal(c.username, "bob");
	assert_string_equal(c.password, SECRET);
	assert_null(c.identity_token);
	assert_string_equal(c.source, "docker-credential-rvtest");
	reg_creds_release(&c);
	read_log(log, sizeof(log), f);
	assert_string_equal(log, "127.0.0.1:5000\n"); /* stdin: the server */
}

static void test_creds_helper_does_not_get_regvault_env(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_file(f->config, "{\"credHelpers\":{\"r.example\":\"rvtest\"}}");
	setenv("RVTEST_FORBID_ENV", "REGVAULT_PASSWORD", 1);
	setenv("REGVAULT_PASSWORD", "store-" SECRET, 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5), 0);
	assert_string_equal(c.password, SECRET);
	reg_creds_release(&c);
	/* the check itself works: a variable that is passed is caught */
	setenv("RVTEST_FORBID_ENV", "RVTEST_LOG", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_AUTH);
	assert_non_null(strstr(rv_err_msg(), "exit 4"));
	unsetenv("REGVAULT_PASSWORD");
	unsetenv("RVTEST_FORBID_ENV");
}

static void test_creds_helper_token_user_gives_identity_token(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_file(f->config, "{\"credHelpers\":{\"r.example\":\"rvtest\"}}");
	setenv("RVTEST_USER", "<token>", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5), 0);
	assert_null(c.username);
	assert_null(c.password);
	assert_string_equal(c.identity_token, SECRET);
	reg_creds_release(&c);
}

static void test_creds_store_used_without_helper_for_host(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;
	char log[256];

	write_file(f->config, "{\"credsStore\":\"rvtest\","
			      "\"credHelpers\":{\"other\":\"nosuch\"}}");
	setenv("RVTEST_SERVER", "https://index.docker.io/v1/", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "docker.io", 5), 0);
	assert_string_equal(c.username, "rvtest");
	assert_string_equal(c.password, SECRET);
	reg_creds_release(&c);
	read_log(log, sizeof(log), f);
	assert_string_equal(log, "https://index.docker.io/v1/\n");
	/* the store has nothing for another host: anonymous */
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5), 0);
	assert_anonymous(&c);
}

static void test_creds_auths_entry_wins_over_store(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"credsStore\":\"nosuch\",\"auths\":{\"r.example\":"
		 "{\"auth\":\"%s\"}}}",
		 alice_b64());
	write_file(f->config, text);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5), 0);
	assert_alice(&c);
	reg_creds_release(&c);
}

static void test_creds_helper_not_found_is_anonymous(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_file(f->config, "{\"credsStore\":\"rvtest\"}");
	setenv("RVTEST_MODE", "notfound", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5), 0);
	assert_anonymous(&c);
}

static void test_creds_helper_failure_names_helper(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_file(f->config, "{\"credHelpers\":{\"r.example\":\"rvtest\"}}");
	setenv("RVTEST_MODE", "fail", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_AUTH);
	assert_non_null(strstr(rv_err_msg(), "'docker-credential-rvtest'"));
	assert_non_null(strstr(rv_err_msg(), "exit 3"));
	assert_non_null(strstr(rv_err_msg(), "keychain is locked"));
	assert_anonymous(&c);

	setenv("RVTEST_MODE", "garbage", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_AUTH);
	assert_non_null(strstr(rv_err_msg(), "docker-credential-rvtest"));

	setenv("RVTEST_MODE", "flood", 1);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_AUTH);
	assert_non_null(strstr(rv_err_msg(), "more than 65536 bytes"));
}

static void test_creds_helper_timeout_kills_it(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;
	struct timespec t0, t1;
	double secs;

	write_file(f->config, "{\"credHelpers\":{\"r.example\":\"rvtest\"}}");
	setenv("RVTEST_MODE", "sleep", 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 1),
			 RV_AUTH);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.9 && secs < 5.0);
	assert_non_null(strstr(rv_err_msg(), "did not answer within 1 s"));
	assert_anonymous(&c);
}

static void test_creds_bad_helper_name_refused(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;
	static const char *names[] = {"../rvtest", "rv test", "RVTEST",
				      "rvtest;id", "a/b"};
	char text[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(text, sizeof(text), "{\"credsStore\":\"%s\"}",
			 names[i]);
		write_file(f->config, text);
		assert_int_equal(
		    reg_creds_lookup(&c, f->config, "r.example", 5),
		    RV_INVALID);
		assert_non_null(strstr(rv_err_msg(), "[a-z0-9._-]+"));
		assert_non_null(strstr(rv_err_msg(), f->config));
	}
	/* nothing ran */
	assert_int_equal(access(f->log, F_OK), -1);
}

static void test_creds_helper_not_on_path(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;

	write_file(f->config, "{\"credsStore\":\"nosuch-rv\"}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "docker-credential-nosuch-rv"));
	assert_non_null(strstr(rv_err_msg(), "PATH"));
}

/* ---- malformed files ------------------------------------------------*/

static void test_creds_malformed_file_refused(void **state)
{
	struct fx *f = *state;
	struct reg_creds c;
	char *big;

	/* the bad token is the secret itself: it must not be quoted */
	write_file(f->config, "{\"auths\": " SECRET "}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), f->config));
	assert_non_null(strstr(rv_err_msg(), "line 1"));
	assert_no_secret_in_msg();

	write_file(f->config, "[1,2]");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	write_file(f->config, "{\"auths\":[]}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	write_file(f->config, "{\"auths\":{\"r.example\":{\"auth\":\"%%%\"}}}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "base64"));
	/* base64 without a colon */
	write_file(f->config,
		   "{\"auths\":{\"r.example\":{\"auth\":\"YWxpY2U=\"}}}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	write_file(f->config, "{\"credHelpers\":{\"r.example\":7}}");
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);

	big = malloc(REG_CREDS_FILE_MAX + 16);
	assert_non_null(big);
	memset(big, ' ', REG_CREDS_FILE_MAX + 8);
	big[0] = '{';
	big[REG_CREDS_FILE_MAX + 6] = '}';
	big[REG_CREDS_FILE_MAX + 7] = '\0';
	write_file(f->config, big);
	free(big);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "larger than"));

	unlink(f->config);
	assert_int_equal(reg_creds_lookup(&c, f->config, "r.example", 5),
			 RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "does not exist"));
	assert_anonymous(&c);
}

static void test_creds_host_of_url(void **state)
{
	char *h = NULL;

	(void)state;
	assert_int_equal(reg_creds_host(&h, "https://R.Example.com:5000/"), 0);
	assert_string_equal(h, "r.example.com:5000");
	free(h);
	assert_int_equal(reg_creds_host(&h, "http://127.0.0.1:5000"), 0);
	assert_string_equal(h, "127.0.0.1:5000");
	free(h);
	assert_int_equal(reg_creds_host(&h, "https://"), RV_INVALID);
	assert_null(h);
}

/* ---- mutual TLS settings of reg_new ------------------------------------*/

static void test_reg_new_client_cert_and_key_go_together(void **state)
{
	struct fx *f = *state;
	struct reg_config cfg;
	struct reg *r = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "mtls";
	cfg.url = "https://127.0.0.1:5000";
	cfg.client_cert = f->secret_file;
	assert_int_equal(reg_new(&r, &cfg), RV_INVALID);
	assert_null(r);
	assert_non_null(strstr(rv_err_msg(), "go together"));
	cfg.client_cert = NULL;
	cfg.client_key = f->secret_file;
	assert_int_equal(reg_new(&r, &cfg), RV_INVALID);
	cfg.client_cert = "/nonexistent/rv-client.pem";
	assert_int_equal(reg_new(&r, &cfg), RV_INVALID);
	assert_non_null(strstr(rv_err_msg(), "client_cert"));
	assert_non_null(strstr(rv_err_msg(), "/nonexistent/rv-client.pem"));
	cfg.client_cert = f->secret_file;
	cfg.docker_config = f->config; /* read only at the first challenge */
	assert_int_equal(reg_new(&r, &cfg), 0);
	assert_non_null(r);
	reg_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
	    T(test_creds_auth_gives_user_and_password),
	    T(test_creds_auth_keys_match_as_docker_does),
	    T(test_creds_legacy_hub_key_only_for_docker_io),
	    T(test_creds_identitytoken_is_a_refresh_token),
	    T(test_creds_no_entry_is_anonymous),
	    T(test_creds_helper_for_host_answers),
	    T(test_creds_helper_token_user_gives_identity_token),
	    T(test_creds_helper_does_not_get_regvault_env),
	    T(test_creds_store_used_without_helper_for_host),
	    T(test_creds_auths_entry_wins_over_store),
	    T(test_creds_helper_not_found_is_anonymous),
	    T(test_creds_helper_failure_names_helper),
	    T(test_creds_helper_timeout_kills_it),
	    T(test_creds_bad_helper_name_refused),
	    T(test_creds_helper_not_on_path),
	    T(test_creds_malformed_file_refused),
	    T(test_creds_host_of_url),
	    T(test_reg_new_client_cert_and_key_go_together),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
