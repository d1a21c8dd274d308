/* Parsers of the registry client: manifests, Link, WWW-Authenticate, URL
 * resolution. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/manifest.h"
#include "registry/registry.h"
#include "util/err.h"

#include <stdlib.h>
#include <string.h>

#define D1                                                                     \
	"sha256:"                                                              \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                     \
	"sha256:"                                                              \
	"2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                     \
	"sha256:"                                                              \
	"3333333333333333333333333333333333333333333333333333333333333333"
#define D4                                                                     \
	"sha256:"                                                              \
	"4444444444444444444444444444444444444444444444444444444444444444"

static int parse(struct reg_manifest **m, const char *json, const char *ct)
{
	return reg_manifest_parse(m, json, strlen(json), ct);
}

/* ---- manifests ---------------------------------------------------------*/

static const char *OCI_INDEX =
    "{\"schemaVersion\":2,"
    "\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":["
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"digest\":\"" D1 "\",\"size\":500,"
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"digest\":\"" D2 "\",\"size\":501,"
    "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
    "\"variant\":\"v7\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"digest\":\"" D3 "\",\"size\":502,"
    "\"annotations\":{\"vnd.docker.reference.type\":"
    "\"attestation-manifest\"}}]}";

static void test_manifest_parses_oci_index_with_platforms(void **state)
{
	struct reg_manifest *m = NULL;
	(void)state;

	assert_int_equal(parse(&m, OCI_INDEX, REG_MT_OCI_INDEX), 0);
	assert_int_equal(m->kind, REG_KIND_INDEX);
	assert_string_equal(m->media_type, REG_MT_OCI_INDEX);
	assert_int_equal(m->n_manifests, 3);
	assert_int_equal(m->n_layers, 0);
	assert_string_equal(m->manifests[0].digest, D1);
	assert_int_equal(m->manifests[0].size, 500);
	assert_string_equal(m->manifests[0].platform, "linux/amd64");
	assert_string_equal(m->manifests[1].platform, "linux/arm/v7");
	assert_string_equal(m->manifests[2].platform, "");
	assert_string_equal(m->manifests[2].media_type, REG_MT_OCI_MANIFEST);
	assert_int_equal(m->has_subject, 0);
	reg_manifest_free(m);
}

static void test_manifest_parses_docker_list(void **state)
{
	struct reg_manifest *m = NULL;
	const char *j =
	    "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_LIST
	    "\",\"manifests\":[{\"mediaType\":\"" REG_MT_DOCKER_V2
	    "\",\"digest\":\"" D1 "\",\"size\":7143,\"platform\":"
	    "{\"architecture\":\"arm64\",\"os\":\"linux\","
	    "\"variant\":\"v8\"}}]}";
	(void)state;

	assert_int_equal(parse(&m, j, REG_MT_DOCKER_LIST), 0);
	assert_int_equal(m->kind, REG_KIND_INDEX);
	assert_string_equal(m->media_type, REG_MT_DOCKER_LIST);
	assert_int_equal(m->n_manifests, 1);
	assert_string_equal(m->manifests[0].platform, "linux/arm64/v8");
	assert_string_equal(m->manifests[0].media_type, REG_MT_DOCKER_V2);
	reg_manifest_free(m);
}

static const char *OCI_IMAGE =
    "{\"schemaVersion\":2,"
    "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
    "\"digest\":\"" D1 "\",\"size\":1470},"
    "\"layers\":["
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
    "\"digest\":\"" D2 "\",\"size\":3000000},"
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\","
    "\"digest\":\"" D3 "\",\"size\":0}],"
    "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"digest\":\"" D4 "\",\"size\":42},"
    "\"annotations\":{\"a\":\"b\"}}";

static void test_manifest_parses_oci_image_with_subject(void **state)
{
	struct reg_manifest *m = NULL;
	(void)state;

	assert_int_equal(parse(&m, OCI_IMAGE, NULL), 0);
	assert_int_equal(m->kind, REG_KIND_IMAGE);
	assert_string_equal(m->media_type, REG_MT_OCI_MANIFEST);
	assert_string_equal(m->config.digest, D1);
	assert_int_equal(m->config.size, 1470);
	assert_string_equal(m->config.media_type,
			    "application/vnd.oci.image.config.v1+json");
	assert_int_equal(m->n_layers, 2);
	assert_string_equal(m->layers[0].digest, D2);
	assert_int_equal(m->layers[0].size, 3000000);
	assert_int_equal(m->layers[0].nondistributable, 0);
	assert_string_equal(m->layers[1].digest, D3);
	assert_int_equal(m->layers[1].size, 0);
	assert_int_equal(m->has_subject, 1);
	assert_string_equal(m->subject.digest, D4);
	assert_int_equal(m->subject.size, 42);
	reg_manifest_free(m);
}

static void test_manifest_marks_foreign_layers_nondistributable(void **state)
{
	struct reg_manifest *m = NULL;
	const char *j =
	    "{\"schemaVersion\":2,\"mediaType\":\"" REG_MT_DOCKER_V2 "\","
	    "\"config\":{\"mediaType\":\"application/vnd.docker.container."
	    "image.v1+json\",\"digest\":\"" D1 "\",\"size\":10},"
	    "\"layers\":["
	    "{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign."
	    "diff.tar.gzip\",\"digest\":\"" D2 "\",\"size\":100,"
	    "\"urls\":[\"https://go.microsoft.com/fwlink/?linkid=1\"]},"
	    "{\"mediaType\":\"application/vnd.oci.image.layer."
	    "nondistributable.v1.tar+gzip\",\"digest\":\"" D3 "\",\"size\":5},"
	    "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar."
	    "gzip\",\"digest\":\"" D4 "\",\"size\":6}]}";
	(void)state;

	assert_int_equal(parse(&m, j, REG_MT_DOCKER_V2), 0);
	assert_int_equal(m->kind, REG_KIND_IMAGE);
	assert_string_equal(m->media_type, REG_MT_DOCKER_V2);
	assert_int_equal(m->n_layers, 3);
	assert_int_equal(m->layers[0].nondistributable, 1);
	assert_int_equal(m->layers[1].nondistributable, 1);
	assert_int_equal(m->layers[2].nondistributable, 0);
	reg_manifest_free(m);
}

static void test_manifest_refuses_schema1_by_media_type(void **state)
{
	struct reg_manifest *m = NULL;
	const char *j = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd."
			"docker.distribution.manifest.v1+prettyjws\"}";
	(void)state;

	assert_int_equal(parse(&m, j, NULL), RV_REFUSED);
	assert_null(m);
	assert_non_null(strstr(rv_err_msg(), "schema 2"));
	/* and by Content-Type alone, whatever the body */
	assert_int_equal(parse(&m, OCI_IMAGE,
			       "application/vnd.docker.distribution.manifest."
			       "v1+json; charset=utf-8"),
			 RV_REFUSED);
	assert_null(m);
}

static void test_manifest_refuses_schema1_by_schema_version(void **state)
{
	struct reg_manifest *m = NULL;
	const char *j = "{\"schemaVersion\":1,\"name\":\"a/b\",\"tag\":\"x\","
			"\"fsLayers\":[{\"blobSum\":\"" D1 "\"}]}";
	(void)state;

	assert_int_equal(parse(&m, j, "application/json"), RV_REFUSED);
	assert_null(m);
	assert_non_null(strstr(rv_err_msg(), "convert"));
}

static void test_manifest_rejects_malformed_json(void **state)
{
	struct reg_manifest *m = NULL;
	(void)state;

	assert_int_equal(parse(&m, "{\"schemaVersion\":2,", NULL), RV_CORRUPT);
	assert_int_equal(parse(&m, "[1,2]", NULL), RV_CORRUPT);
	assert_int_equal(parse(&m, "", NULL), RV_CORRUPT);
	/* duplicate keys could be read two ways by two parsers */
	assert_int_equal(parse(&m, "{\"layers\":[],\"layers\":[]}", NULL),
			 RV_CORRUPT);
	/* neither mediaType nor a recognisable shape */
	assert_int_equal(parse(&m, "{\"schemaVersion\":2}", NULL), RV_CORRUPT);
	/* an image without config */
	assert_int_equal(parse(&m,
			       "{\"mediaType\":\"" REG_MT_OCI_MANIFEST
			       "\",\"layers\":[]}",
			       NULL),
			 RV_CORRUPT);
	assert_int_equal(parse(&m, "{\"schemaVersion\":3,\"layers\":[]}", NULL),
			 RV_CORRUPT);
	assert_null(m);
}

static void test_manifest_rejects_bad_digest_and_negative_size(void **state)
{
	struct reg_manifest *m = NULL;
	(void)state;

	/* uppercase hex */
	assert_int_equal(
	    parse(&m,
		  "{\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
		  "\"sha256:AAAA111111111111111111111111111111111111111111111"
		  "111111111111111\",\"size\":1}]}",
		  NULL),
	    RV_CORRUPT);
	/* another algorithm */
	assert_int_equal(
	    parse(&m,
		  "{\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
		  "\"sha512:abcd\",\"size\":1}]}",
		  NULL),
	    RV_CORRUPT);
	/* path traversal attempt in a digest */
	assert_int_equal(
	    parse(&m,
		  "{\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
		  "\"../../etc/passwd\",\"size\":1}]}",
		  NULL),
	    RV_CORRUPT);
	assert_int_equal(
	    parse(&m,
		  "{\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
		  "\"" D1 "\",\"size\":-1}]}",
		  NULL),
	    RV_CORRUPT);
	assert_int_equal(
	    parse(&m,
		  "{\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
		  "\"" D1 "\",\"size\":\"12\"}]}",
		  NULL),
	    RV_CORRUPT);
	assert_int_equal(
	    parse(&m,
		  "{\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
		  "\"" D1 "\"}]}",
		  NULL),
	    RV_CORRUPT);
	/* config with a negative size */
	assert_int_equal(parse(&m,
			       "{\"config\":{\"digest\":\"" D1
			       "\",\"size\":-5},\"layers\":[]}",
			       NULL),
			 RV_CORRUPT);
	assert_null(m);
}

static void test_manifest_body_media_type_wins_over_content_type(void **state)
{
	struct reg_manifest *m = NULL;
	(void)state;

	/* body says index, header says image: the body wins */
	assert_int_equal(parse(&m, OCI_INDEX, REG_MT_OCI_MANIFEST), 0);
	assert_int_equal(m->kind, REG_KIND_INDEX);
	assert_string_equal(m->media_type, REG_MT_OCI_INDEX);
	reg_manifest_free(m);
	m = NULL;

	/* no mediaType in the body: the Content-Type (with params) decides */
	assert_int_equal(parse(&m, "{\"schemaVersion\":2,\"manifests\":[]}",
			       " application/vnd.docker.distribution.manifest."
			       "list.v2+json; charset=utf-8"),
			 0);
	assert_int_equal(m->kind, REG_KIND_INDEX);
	assert_string_equal(m->media_type, REG_MT_DOCKER_LIST);
	assert_int_equal(m->n_manifests, 0);
	reg_manifest_free(m);
	m = NULL;

	/* neither: the shape decides */
	assert_int_equal(
	    parse(&m,
		  "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1
		  "\",\"size\":1},\"layers\":[]}",
		  "application/json"),
	    0);
	assert_int_equal(m->kind, REG_KIND_IMAGE);
	assert_string_equal(m->media_type, REG_MT_OCI_MANIFEST);
	reg_manifest_free(m);
}

static void test_is_manifest_type(void **state)
{
	(void)state;
	assert_int_equal(reg_is_manifest_type(REG_MT_OCI_INDEX), 1);
	assert_int_equal(reg_is_manifest_type(REG_MT_OCI_MANIFEST), 1);
	assert_int_equal(reg_is_manifest_type(REG_MT_DOCKER_LIST), 1);
	assert_int_equal(reg_is_manifest_type(REG_MT_DOCKER_V2 "; x=y"), 1);
	assert_int_equal(reg_is_manifest_type("application/json"), 0);
	assert_int_equal(
	    reg_is_manifest_type("application/vnd.docker.distribution.manifest."
				 "v1+prettyjws"),
	    0);
	assert_int_equal(reg_is_manifest_type(NULL), 0);
}

/* ---- Link ------------------------------------------------------------*/

static void test_link_relative_next(void **state)
{
	char *next = NULL;
	(void)state;

	assert_int_equal(
	    reg_parse_link(&next, "</v2/_catalog?last=x&n=100>; rel=\"next\""),
	    0);
	assert_string_equal(next, "/v2/_catalog?last=x&n=100");
	free(next);
}

static void test_link_absolute_and_unquoted_rel(void **state)
{
	char *next = NULL;
	(void)state;

	assert_int_equal(reg_parse_link(&next,
					"<https://r.example.com/v2/a/tags/"
					"list?last=v1&n=1000>;rel=next"),
			 0);
	assert_string_equal(
	    next, "https://r.example.com/v2/a/tags/list?last=v1&n=1000");
	free(next);
}

static void test_link_picks_next_among_several_rels(void **state)
{
	char *next = NULL;
	(void)state;

	assert_int_equal(
	    reg_parse_link(&next, "</v2/a/tags/list?last=a>; rel=\"prev\", "
				  "</v2/a/tags/list?n=5,6>; title=\"x, y;z\"; "
				  "rel=\"last next\", "
				  "</v2/other>; rel=\"next\""),
	    0);
	/* the first next wins; commas inside <> and quotes are data */
	assert_string_equal(next, "/v2/a/tags/list?n=5,6");
	free(next);
}

static void test_link_without_next_is_notfound(void **state)
{
	char *next = NULL;
	(void)state;

	assert_int_equal(reg_parse_link(&next, "</v2/x>; rel=\"prev\""),
			 RV_NOTFOUND);
	assert_null(next);
	assert_int_equal(reg_parse_link(&next, ""), RV_NOTFOUND);
	assert_int_equal(reg_parse_link(&next, NULL), RV_NOTFOUND);
	assert_null(next);
}

static void test_link_malformed_is_corrupt(void **state)
{
	char *next = NULL;
	(void)state;

	assert_int_equal(reg_parse_link(&next, "/v2/x; rel=\"next\""),
			 RV_CORRUPT);
	assert_int_equal(reg_parse_link(&next, "</v2/x; rel=\"next\""),
			 RV_CORRUPT);
	assert_int_equal(reg_parse_link(&next, "</v2/x>; rel=\"next"),
			 RV_CORRUPT);
	assert_int_equal(reg_parse_link(&next, "<>; rel=\"next\""), RV_CORRUPT);
	assert_int_equal(reg_parse_link(&next, "</v2/x> junk"), RV_CORRUPT);
	assert_int_equal(reg_parse_link(&next, "</v2/a b>; rel=next"),
			 RV_CORRUPT);
	assert_null(next);
}

/* ---- WWW-Authenticate ---------------------------------------------------*/

static void test_www_authenticate_bearer_quoted_params(void **state)
{
	struct reg_challenge c;
	(void)state;

	assert_int_equal(reg_parse_www_authenticate(
			     &c,
			     "Bearer realm=\"https://auth.docker.io/token\","
			     "service=\"registry.docker.io\","
			     "scope=\"repository:samalba/my-app:pull,push\""),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:samalba/my-app:pull,push");
	assert_null(c.error);
	reg_challenge_release(&c);
}

static void test_www_authenticate_escapes_order_and_spaces(void **state)
{
	struct reg_challenge c;
	(void)state;

	assert_int_equal(
	    reg_parse_www_authenticate(
		&c, "BEARER  error=insufficient_scope ,  "
		    "scope=\"a:b:pull\" , realm=\"http://h/t?\\\"q\\\\\","
		    "service=svc, foo=\"bar,baz\""),
	    0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "http://h/t?\"q\\");
	assert_string_equal(c.service, "svc");
	assert_string_equal(c.scope, "a:b:pull");
	assert_string_equal(c.error, "insufficient_scope");
	reg_challenge_release(&c);
}

static void test_www_authenticate_basic_realm(void **state)
{
	struct reg_challenge c;
	(void)state;

	assert_int_equal(
	    reg_parse_www_authenticate(&c, "Basic realm=\"Registry Realm\", "
					   "charset=\"UTF-8\""),
	    0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "Registry Realm");
	assert_null(c.service);
	reg_challenge_release(&c);

	assert_int_equal(reg_parse_www_authenticate(&c, "Basic"), 0);
	assert_string_equal(c.scheme, "basic");
	assert_null(c.realm);
	reg_challenge_release(&c);
}

static void test_www_authenticate_unknown_scheme_unsupported(void **state)
{
	struct reg_challenge c;
	(void)state;

	assert_int_equal(
	    reg_parse_www_authenticate(&c, "Digest realm=\"x\", nonce=\"abc\""),
	    RV_UNSUPPORTED);
	assert_null(c.realm);
	assert_int_equal(reg_parse_www_authenticate(
			     &c, "Averyveryverylongschemename realm=x"),
			 RV_UNSUPPORTED);
}

static void test_www_authenticate_garbage_is_corrupt(void **state)
{
	struct reg_challenge c;
	(void)state;

	assert_int_equal(reg_parse_www_authenticate(&c, ""), RV_CORRUPT);
	assert_int_equal(reg_parse_www_authenticate(&c, NULL), RV_CORRUPT);
	assert_int_equal(reg_parse_www_authenticate(&c, "Bearer realm=\"x"),
			 RV_CORRUPT);
	assert_int_equal(reg_parse_www_authenticate(&c, "Bearer realm"),
			 RV_CORRUPT);
	assert_int_equal(reg_parse_www_authenticate(&c, "Bearer =x"),
			 RV_CORRUPT);
	assert_int_equal(
	    reg_parse_www_authenticate(&c, "Bearer realm=\"a\" service=b"),
	    RV_CORRUPT);
	assert_int_equal(reg_parse_www_authenticate(&c, "\"Bearer\" realm=a"),
			 RV_CORRUPT);
	/* Bearer without realm is useless */
	assert_int_equal(reg_parse_www_authenticate(&c, "Bearer service=x"),
			 RV_CORRUPT);
	assert_null(c.realm);
	assert_null(c.service);
}

/* ---- URLs ---------------------------------------------------------------*/

static void check_resolve(const char *base, const char *ref, const char *want)
{
	char *out = NULL;
	assert_int_equal(reg_url_resolve(&out, base, ref), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_url_resolve(void **state)
{
	char *out = NULL;
	(void)state;

	check_resolve("http://127.0.0.1:5000/v2/_catalog?n=1000",
		      "/v2/_catalog?last=x&n=1000",
		      "http://127.0.0.1:5000/v2/_catalog?last=x&n=1000");
	check_resolve(
	    "https://r.example.com/v2/a/blobs/uploads/",
	    "/v2/a/blobs/uploads/uuid?_state=abc",
	    "https://r.example.com/v2/a/blobs/uploads/uuid?_state=abc");
	check_resolve("https://r.example.com/v2/a/blobs/uploads/", "uuid",
		      "https://r.example.com/v2/a/blobs/uploads/uuid");
	check_resolve("https://r.example.com/v2/a/b",
		      "https://storage.example.net/x/y?sig=1",
		      "https://storage.example.net/x/y?sig=1");
	check_resolve("https://r.example.com/v2/a/b", "//cdn.example.net/z",
		      "https://cdn.example.net/z");
	assert_int_equal(
	    reg_url_resolve(&out, "http://h/v2/", "file:///etc/passwd"),
	    RV_INVALID);
	assert_int_equal(reg_url_resolve(&out, "http://h/v2/", "ftp://h/x"),
			 RV_INVALID);
	assert_int_equal(reg_url_resolve(&out, "not a url", "/x"), RV_INVALID);
	assert_int_equal(reg_url_resolve(&out, "http://h/", ""), RV_INVALID);
	assert_null(out);
}

static void test_reg_new_validates_url(void **state)
{
	struct reg *r = NULL;
	struct reg_config cfg = {.name = "t", .url = "ftp://h"};
	(void)state;

	assert_int_equal(reg_new(&r, &cfg), RV_INVALID);
	assert_null(r);
	cfg.url = "http://user:pw@h:5000";
	assert_int_equal(reg_new(&r, &cfg), RV_INVALID);
	assert_null(strstr(rv_err_msg(), "pw"));
	cfg.url = "http://127.0.0.1:5000//";
	assert_int_equal(reg_new(&r, &cfg), 0);
	assert_string_equal(reg_url(r), "http://127.0.0.1:5000");
	reg_free(r);
}

static void test_names_are_validated_before_use(void **state)
{
	struct reg *r = NULL;
	/* retries -1: the one network failure below is expected at once */
	struct reg_config cfg = {
	    .name = "t", .url = "http://127.0.0.1:9", .retries = -1};
	struct reg_desc desc;
	struct rv_strlist tags = RV_STRLIST_INIT;
	int64_t size;
	(void)state;

	assert_int_equal(reg_new(&r, &cfg), 0);
	/* nothing listens on port 9: these fail before any request */
	assert_int_equal(reg_manifest_head(&desc, r, "../etc", "latest"),
			 RV_INVALID);
	assert_int_equal(reg_manifest_head(&desc, r, "Upper/case", "latest"),
			 RV_INVALID);
	assert_int_equal(reg_manifest_head(&desc, r, "a//b", "latest"),
			 RV_INVALID);
	assert_int_equal(reg_manifest_head(&desc, r, "a/b", "../x"),
			 RV_INVALID);
	assert_int_equal(reg_manifest_head(&desc, r, "a/b", ".hidden"),
			 RV_INVALID);
	assert_int_equal(reg_tags(r, "a/b?x=1", &tags), RV_INVALID);
	assert_int_equal(reg_blob_head(&size, r, "a", "sha256:../../x"),
			 RV_INVALID);
	assert_int_equal(reg_blob_mount(r, "a", D1, "b/../../c"), RV_INVALID);
	assert_int_equal(
	    reg_manifest_put(r, "a", D1, REG_MT_OCI_MANIFEST, "{}", 2),
	    RV_INVALID); /* digest ref must match the body */
	assert_int_equal(tags.n, 0);
	/* valid names that exercise every separator still pass validation
	 * and fail only on the network */
	assert_int_equal(
	    reg_manifest_head(&desc, r, "a.b/c_d/e__f/g--h/i-j", "v1.2_3-x"),
	    RV_NET);
	reg_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest_parses_oci_index_with_platforms),
	    cmocka_unit_test(test_manifest_parses_docker_list),
	    cmocka_unit_test(test_manifest_parses_oci_image_with_subject),
	    cmocka_unit_test(
		test_manifest_marks_foreign_layers_nondistributable),
	    cmocka_unit_test(test_manifest_refuses_schema1_by_media_type),
	    cmocka_unit_test(test_manifest_refuses_schema1_by_schema_version),
	    cmocka_unit_test(test_manifest_rejects_malformed_json),
	    cmocka_unit_test(
		test_manifest_rejects_bad_digest_and_negative_size),
	    cmocka_unit_test(
		test_manifest_body_media_type_wins_over_content_type),
	    cmocka_unit_test(test_is_manifest_type),
	    cmocka_unit_test(test_link_relative_next),
	    cmocka_unit_test(test_link_absolute_and_unquoted_rel),
	    cmocka_unit_test(test_link_picks_next_among_several_rels),
	    cmocka_unit_test(test_link_without_next_is_notfound),
	    cmocka_unit_test(test_link_malformed_is_corrupt),
	    cmocka_unit_test(test_www_authenticate_bearer_quoted_params),
	    cmocka_unit_test(test_www_authenticate_escapes_order_and_spaces),
	    cmocka_unit_test(test_www_authenticate_basic_realm),
	    cmocka_unit_test(test_www_authenticate_unknown_scheme_unsupported),
	    cmocka_unit_test(test_www_authenticate_garbage_is_corrupt),
	    cmocka_unit_test(test_url_resolve),
	    cmocka_unit_test(test_reg_new_validates_url),
	    cmocka_unit_test(test_names_are_validated_before_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
