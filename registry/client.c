/* client.c - listing (catalog, tags) and manifests. */
#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/err.h"
#include "util/log.h"
#include "util/set.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Referrer descriptors accepted for one subject (every page). */
#define REG_REFERRERS_MAX 10000

#define ACCEPT_MANIFESTS                                                       \
	REG_MT_OCI_INDEX ", " REG_MT_OCI_MANIFEST ", " REG_MT_DOCKER_LIST      \
			 ", " REG_MT_DOCKER_V2

/* "repo:tag" or "repo@sha256:..." for messages */
static void ref_name(char *out, size_t cap, const char *repo, const char *ref)
{
	snprintf(out, cap, "%s%s%s", repo, rv_digest_valid(ref) ? "@" : ":",
		 ref);
}

/* Append the names of one page; *count receives how many the page held
 * (invalid ones included), for the truncation check. */
static int add_names(size_t *count, struct reg *r, struct rv_strlist *list,
		     const struct rv_buf *body, const char *key,
		     const char *what, int repos)
{
	json_t *root = NULL, *arr, *v;
	size_t i;
	int rv = 0;

	*count = 0;
	root = json_loadb((const char *)body->data, body->len, 0, NULL);
	if (!json_is_object(root)) {
		rv = rv_err_set(RV_CORRUPT,
				"cannot %s on registry '%s': the answer is not "
				"a JSON object",
				what, r->name);
		goto done;
	}
	arr = json_object_get(root, key);
	if (!arr || json_is_null(arr))
		goto done;
	if (!json_is_array(arr)) {
		rv = rv_err_set(RV_CORRUPT,
				"cannot %s on registry '%s': \"%s\" is not a "
				"list",
				what, r->name, key);
		goto done;
	}
	*count = json_array_size(arr);
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);
		if (!s || strlen(s) != json_string_length(v)) {
			rv = rv_err_set(RV_CORRUPT,
					"cannot %s on registry '%s': a name is "
					"not a string",
					what, r->name);
			goto done;
		}
		if (repos ? !reg_repo_valid(s) : !reg_tag_valid(s)) {
			rv_warn("registry '%s': skipping invalid %s '%.200s' "
				"(%s)",
				r->name, repos ? "repository name" : "tag", s,
				what);
			continue;
		}
		if (list->n >= REG_NAMES_MAX) {
			rv = rv_err_set(RV_TOOBIG,
					"cannot %s on registry '%s': more than "
					"%d names (does the registry repeat its "
					"pages?)",
					what, r->name, REG_NAMES_MAX);
			goto done;
		}
		rv = rv_strlist_add(list, s);
		if (rv)
			goto done;
	}
done:
	json_decref(root);
	return rv;
}

/* How the walk of a paginated list ended. */
struct page_end {
	size_t last_count; /* entries on the last page */
	int asked_n;	   /* the n the last page's URL asked for (0: none) */
	int retried_without_n; /* the registry refused our n (400) */
};

/* The n=... of a page URL, 0 when absent or unreadable. */
static int url_page_n(const char *url)
{
	const char *q = strchr(url, '?');
	char *end;
	unsigned long long v;

	while (q) {
		q++;
		if (!strncmp(q, "n=", 2)) {
			v = strtoull(q + 2, &end, 10);
			if (end != q + 2 && (*end == '&' || !*end) &&
			    v <= 1000000)
				return (int)v;
			return 0;
		}
		q = strchr(q, '&');
	}
	return 0;
}

/* Follow the Link header of a page's answer: 1 with *url replaced by the
 * next page's URL, 0 when it was the last page, RV_CORRUPT for a
 * malformed header, RV_NET for a link elsewhere. */
static int next_page(char **url, const struct reg *r,
		     const struct reg_resp *resp, const char *what)
{
	char *link = NULL, *next = NULL;
	int rv;

	if (!resp->link)
		return 0;
	rv = reg_parse_link(&link, resp->link);
	if (rv == RV_NOTFOUND) {
		rv = 0;
		goto done;
	}
	if (rv) {
		rv = rv_err_set(RV_CORRUPT,
				"cannot %s on registry '%s': malformed "
				"Link header",
				what, r->name);
		goto done;
	}
	rv = reg_url_resolve(&next, resp->url, link);
	if (rv || !reg_same_origin(r, next)) {
		rv = rv_err_set(RV_NET,
				"cannot %s on registry '%s': the next "
				"page link points %s; refusing it",
				what, r->name,
				rv ? "nowhere usable" : "to another host");
		goto done;
	}
	free(*url);
	*url = next;
	next = NULL;
	rv = 1;
done:
	free(link);
	free(next);
	return rv;
}

static int list_pages(struct page_end *pe, struct reg *r,
		      struct rv_strlist *list, const char *first_url,
		      const char *retry_url, const char *scope,
		      const char *key, const char *what, int catalog)
{
	struct rv_buf body = RV_BUF_INIT(REG_PAGE_MAX);
	struct rv_set seen = RV_SET_INIT; /* page URLs read */
	struct reg_resp resp;
	struct reg_req req;
	char *url = NULL;
	size_t count;
	int rv;

	memset(pe, 0, sizeof(*pe));
	reg_resp_init(&resp);
	url = strdup(first_url);
	if (!url) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t page = 0;; page++) {
		if (page >= REG_PAGES_MAX) {
			rv = rv_err_set(RV_NET,
					"cannot %s on registry '%s': more than "
					"%d pages",
					what, r->name, REG_PAGES_MAX);
			goto done;
		}
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = url;
		req.what = what;
		req.scope = scope;
		req.accept = "application/json";
		req.out = &body;
		req.out_max = REG_PAGE_MAX;
		rv = reg_do(r, &req, &resp);
		if (rv)
			goto done;
		if (resp.status == 401 && r->auth == REG_AUTH_BASIC) {
			rv = rv_err_set(RV_AUTH,
					"cannot %s on registry '%s': the "
					"registry refused the credentials "
					"(HTTP 401); check username and "
					"password_file",
					what, r->name);
			goto done;
		}
		if (catalog && (resp.status == 404 || resp.status == 401 ||
				resp.status == 403)) {
			rv = rv_err_set(RV_UNSUPPORTED,
					"registry '%s' does not allow listing "
					"its catalog (HTTP %ld); list the "
					"repositories in the configuration "
					"instead",
					r->name, resp.status);
			goto done;
		}
		if (resp.status == 400 && page == 0 && retry_url &&
		    !pe->retried_without_n) {
			/* distribution with catalog.maxentries refuses an n
			 * above it (PAGINATION_NUMBER_INVALID): let the
			 * registry choose the page size */
			char code[64];
			reg_error_code(code, sizeof(code), &resp);
			rv_debug("registry '%s': %s: n refused (HTTP 400 %s); "
				 "asking without n",
				 r->name, what, code[0] ? code : "");
			pe->retried_without_n = 1;
			free(url);
			url = strdup(retry_url);
			if (!url) {
				rv = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
			page--;
			continue;
		}
		if (resp.status != 200) {
			rv = reg_status_error(r, &req, &resp);
			goto done;
		}
		rv = add_names(&count, r, list, &body, key, what, catalog);
		if (rv)
			goto done;
		pe->last_count = count;
		pe->asked_n = url_page_n(url);
		if (rv_set_add(&seen, url, strlen(url)) < 0) {
			rv = RV_NOMEM;
			goto done;
		}
		rv = next_page(&url, r, &resp, what);
		if (rv < 0)
			goto done;
		if (!rv)
			break;
		if (rv_set_has(&seen, url, strlen(url))) {
			rv = rv_err_set(RV_CORRUPT,
					"cannot %s on registry '%s': its "
					"next-page link leads back to a page "
					"already read (%.300s)",
					what, r->name, url);
			goto done;
		}
	}
	rv = 0;
done:
	rv_set_release(&seen);
	free(url);
	rv_buf_release(&body);
	reg_resp_release(&resp);
	return rv;
}

/* Entries distribution (and registries modelled on it) return when no n
 * is given, and the most some cap a page at whatever n asks. */
#define REG_CATALOG_DEFAULT_CAP 100

int reg_catalog(struct reg *r, struct rv_strlist *repos)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf bare = RV_BUF_INIT(4096);
	struct page_end pe;
	int rv;

	r->catalog_truncated = 0;
	rv = rv_buf_printf(&url, "%s/v2/_catalog?n=%d", r->url, REG_PAGE_N);
	if (!rv)
		rv = rv_buf_printf(&bare, "%s/v2/_catalog", r->url);
	if (!rv)
		rv = list_pages(&pe, r, repos, rv_buf_cstr(&url),
				rv_buf_cstr(&bare), "registry:catalog:*",
				"repositories", "list the catalog", 1);
	/* the last page came without a next link: if it is exactly full
	 * (the n we asked for, or the registry's silent cap), more
	 * repositories may exist that the registry will not list */
	if (!rv && pe.last_count > 0 &&
	    (pe.last_count == REG_CATALOG_DEFAULT_CAP ||
	     (pe.asked_n > 0 && pe.last_count == (size_t)pe.asked_n)))
		r->catalog_truncated = 1;
	rv_buf_release(&url);
	rv_buf_release(&bare);
	return rv;
}

int reg_catalog_truncated(const struct reg *r)
{
	return r->catalog_truncated;
}

int reg_ping(struct reg *r)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf body = RV_BUF_INIT(REG_ERRBODY_MAX);
	struct reg_resp resp;
	struct reg_req req;
	int rv;

	reg_resp_init(&resp);
	rv = rv_buf_printf(&url, "%s/v2/", r->url);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = rv_buf_cstr(&url);
	req.what = "check the API";
	req.accept = "application/json";
	req.out = &body;
	req.out_max = REG_ERRBODY_MAX;
	rv = reg_do(r, &req, &resp);
	if (!rv && resp.status == 401)
		rv = rv_err_set(RV_AUTH,
				"registry '%s' refused the credentials (HTTP "
				"401 on /v2/); check username and "
				"password_file",
				r->name);
	else if (!rv && resp.status != 200)
		rv = reg_status_error(r, &req, &resp);
done:
	rv_buf_release(&url);
	rv_buf_release(&body);
	reg_resp_release(&resp);
	return rv;
}

int reg_tags(struct reg *r, const char *repo, struct rv_strlist *tags)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf bare = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct page_end pe;
	char what[400];
	int rv;

	rv = reg_check_repo(r, repo);
	if (rv)
		return rv;
	snprintf(what, sizeof(what), "list the tags of '%s'", repo);
	rv = rv_buf_printf(&url, "%s/v2/%s/tags/list?n=%d", r->url, repo,
			   REG_PAGE_N);
	if (!rv)
		rv = rv_buf_printf(&bare, "%s/v2/%s/tags/list", r->url, repo);
	if (!rv)
		rv = rv_buf_printf(&scope, "repository:%s:pull", repo);
	if (!rv)
		rv = list_pages(&pe, r, tags, rv_buf_cstr(&url),
				rv_buf_cstr(&bare), rv_buf_cstr(&scope), "tags",
				what, 0);
	rv_buf_release(&url);
	rv_buf_release(&bare);
	rv_buf_release(&scope);
	return rv;
}

static int desc_fill(struct reg_desc *out, const char *digest,
		     const char *media_type, int64_t size)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->digest, sizeof(out->digest), "%s", digest);
	reg_media_type_copy(out->media_type, sizeof(out->media_type),
			    media_type);
	out->size = size;
	return 0;
}

int reg_manifest_get(struct rv_buf *body, struct reg_desc *out, struct reg *r,
		     const char *repo, const char *ref)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct reg_resp resp;
	struct reg_req req;
	char name[400], what[450], digest[RV_DIGEST_MAX];
	char body_mt[REG_MEDIA_MAX];
	const char *mt;
	int rv;

	reg_resp_init(&resp);
	memset(out, 0, sizeof(*out));
	rv = reg_check_ref(r, repo, ref);
	if (rv)
		goto done;
	rv_buf_reset(body);
	ref_name(name, sizeof(name), repo, ref);
	snprintf(what, sizeof(what), "get manifest '%s'", name);
	rv = rv_buf_printf(&url, "%s/v2/%s/manifests/%s", r->url, repo, ref);
	if (!rv)
		rv = rv_buf_printf(&scope, "repository:%s:pull", repo);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	req.accept = ACCEPT_MANIFESTS;
	req.out = body;
	req.out_max = body->max < r->manifest_max ? body->max : r->manifest_max;
	r->stats.manifest_gets++;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status != 200) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	rv = rv_digest_of(digest, body->data ? body->data : (void *)"",
			  body->len);
	if (rv)
		goto done;
	if (rv_digest_valid(ref) && strcmp(ref, digest)) {
		rv = rv_err_set(RV_CORRUPT,
				"manifest '%s' on registry '%s' does not match "
				"its digest (got %s)",
				name, r->name, digest);
		goto done;
	}
	if (resp.digest && !strncmp(resp.digest, "sha256:", 7) &&
	    strcmp(resp.digest, digest)) {
		rv =
		    rv_err_set(RV_CORRUPT,
			       "manifest '%s' on registry '%s': the registry "
			       "says its digest is %.80s but its bytes hash to "
			       "%s",
			       name, r->name, resp.digest, digest);
		goto done;
	}
	rv = reg_schema1_check(body_mt, sizeof(body_mt), body->data, body->len,
			       resp.content_type, what);
	if (rv)
		goto done;
	/* a generic Content-Type (application/json) says less than the body */
	mt = resp.content_type;
	if ((!mt || !reg_is_manifest_type(mt)) && body_mt[0])
		mt = body_mt;
	desc_fill(out, digest, mt, (int64_t)body->len);
done:
	rv_buf_release(&url);
	rv_buf_release(&scope);
	reg_resp_release(&resp);
	return rv;
}

int reg_manifest_head(struct reg_desc *out, struct reg *r, const char *repo,
		      const char *ref)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct rv_buf body = RV_BUF_INIT(REG_MANIFEST_MAX);
	struct reg_resp resp;
	struct reg_req req;
	char name[400], what[450];
	int rv;

	reg_resp_init(&resp);
	memset(out, 0, sizeof(*out));
	rv = reg_check_ref(r, repo, ref);
	if (rv)
		goto done;
	ref_name(name, sizeof(name), repo, ref);
	snprintf(what, sizeof(what), "check manifest '%s'", name);
	rv = rv_buf_printf(&url, "%s/v2/%s/manifests/%s", r->url, repo, ref);
	if (!rv)
		rv = rv_buf_printf(&scope, "repository:%s:pull", repo);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "HEAD";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	req.accept = ACCEPT_MANIFESTS;
	r->stats.manifest_heads++;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status == 405 || resp.status == 501) {
		/* a registry without HEAD on manifests: hash a GET instead */
		rv = reg_manifest_get(&body, out, r, repo, ref);
		goto done;
	}
	if (resp.status != 200) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	rv = reg_schema1_check(NULL, 0, NULL, 0, resp.content_type, what);
	if (rv)
		goto done;
	if (!resp.digest || !rv_digest_valid(resp.digest) ||
	    resp.content_length < 0 || !resp.content_type ||
	    !reg_is_manifest_type(resp.content_type)) {
		/* not enough in the headers: hash the body ourselves */
		rv_debug("registry '%s': %s: incomplete HEAD answer, using GET",
			 r->name, what);
		rv = reg_manifest_get(&body, out, r, repo, ref);
		goto done;
	}
	if (rv_digest_valid(ref) && strcmp(ref, resp.digest)) {
		rv = rv_err_set(RV_CORRUPT,
				"manifest '%s' on registry '%s': the registry "
				"answers with digest %s",
				name, r->name, resp.digest);
		goto done;
	}
	desc_fill(out, resp.digest, resp.content_type, resp.content_length);
done:
	rv_buf_release(&url);
	rv_buf_release(&scope);
	rv_buf_release(&body);
	reg_resp_release(&resp);
	return rv;
}

int reg_manifest_put(struct reg *r, const char *repo, const char *ref,
		     const char *media_type, const void *body, size_t len)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct reg_resp resp;
	struct reg_req req;
	char name[400], what[450], digest[RV_DIGEST_MAX];
	int rv;

	reg_resp_init(&resp);
	rv = reg_check_ref(r, repo, ref);
	if (rv)
		goto done;
	ref_name(name, sizeof(name), repo, ref);
	if (!media_type || !*media_type ||
	    strlen(media_type) >= REG_MEDIA_MAX ||
	    strpbrk(media_type, "\r\n")) {
		rv = rv_err_set(RV_INVALID,
				"cannot put manifest '%s' on registry '%s': "
				"bad media type",
				name, r->name);
		goto done;
	}
	if (len > r->manifest_max) {
		rv = rv_err_set(RV_TOOBIG,
				"cannot put manifest '%s' on registry '%s': "
				"%zu bytes is more than %zu",
				name, r->name, len, r->manifest_max);
		goto done;
	}
	rv = rv_digest_of(digest, body ? body : "", len);
	if (rv)
		goto done;
	if (rv_digest_valid(ref) && strcmp(ref, digest)) {
		rv =
		    rv_err_set(RV_INVALID,
			       "cannot put manifest '%s' on registry '%s': its "
			       "bytes hash to %s",
			       name, r->name, digest);
		goto done;
	}
	snprintf(what, sizeof(what), "put manifest '%s'", name);
	rv = rv_buf_printf(&url, "%s/v2/%s/manifests/%s", r->url, repo, ref);
	if (!rv)
		rv = rv_buf_printf(&scope, "repository:%s:pull,push", repo);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	req.content_type = media_type;
	req.body = body ? body : "";
	req.body_len = len;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status != 201 && resp.status != 200) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	if (resp.digest && !strncmp(resp.digest, "sha256:", 7) &&
	    strcmp(resp.digest, digest)) {
		rv = rv_err_set(RV_CORRUPT,
				"put manifest '%s' on registry '%s': the "
				"registry stored digest %.80s, expected %s",
				name, r->name, resp.digest, digest);
		goto done;
	}
	rv = 0;
done:
	rv_buf_release(&url);
	rv_buf_release(&scope);
	reg_resp_release(&resp);
	return rv;
}

/* Referrer descriptors of one answer page: append each object of the
 * index's "manifests" to arr. RV_CORRUPT when it is not an index. */
static int referrers_page(json_t *arr, struct reg *r, const char *what,
			  const void *data, size_t len)
{
	json_t *root = NULL, *list, *v;
	size_t i;
	int rv = 0;

	root = json_loadb(data ? data : "", len, 0, NULL);
	list = json_is_object(root) ? json_object_get(root, "manifests")
				    : NULL;
	if (!json_is_array(list)) {
		rv = rv_err_set(RV_CORRUPT,
				"cannot %s on registry '%s': the answer is "
				"not an image index",
				what, r->name);
		goto done;
	}
	json_array_foreach(list, i, v)
	{
		const char *digest =
		    json_string_value(json_object_get(v, "digest"));
		if (!json_is_object(v) || !digest || !rv_digest_valid(digest)) {
			rv_warn("registry '%s': %s: skipping a descriptor "
				"without a sha256 digest",
				r->name, what);
			continue;
		}
		if (json_array_size(arr) >= REG_REFERRERS_MAX) {
			rv = rv_err_set(RV_TOOBIG,
					"cannot %s on registry '%s': more "
					"than %d referrers",
					what, r->name, REG_REFERRERS_MAX);
			goto done;
		}
		if (json_array_append(arr, v)) {
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
	}
done:
	json_decref(root);
	return rv;
}

/* 1 when a 404 body is an OCI image index (a registry with the API that
 * answers 404 for an unknown subject yet sends the empty list). */
static int body_is_index(const struct rv_buf *b)
{
	json_t *root = json_loadb(b->data ? (const char *)b->data : "",
				  b->len, 0, NULL);
	int yes = json_is_object(root) &&
		  json_is_array(json_object_get(root, "manifests"));
	json_decref(root);
	return yes;
}

int reg_referrers(struct rv_buf *out, struct reg *r, const char *repo,
		  const char *digest)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct rv_buf body = RV_BUF_INIT(REG_PAGE_MAX);
	struct reg_resp resp;
	struct reg_req req;
	char what[450];
	char *page_url = NULL, *text = NULL;
	json_t *arr = NULL;
	int rv;

	reg_resp_init(&resp);
	rv = reg_check_digest(r, repo, digest);
	if (rv)
		goto done;
	snprintf(what, sizeof(what), "list the referrers of '%s@%s'", repo,
		 digest);
	rv = rv_buf_printf(&url, "%s/v2/%s/referrers/%s", r->url, repo,
			   digest);
	if (!rv)
		rv = rv_buf_printf(&scope, "repository:%s:pull", repo);
	if (rv)
		goto done;
	arr = json_array();
	page_url = strdup(rv_buf_cstr(&url));
	if (!arr || !page_url) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (size_t page = 0;; page++) {
		if (page >= REG_PAGES_MAX) {
			rv = rv_err_set(RV_NET,
					"cannot %s on registry '%s': more than "
					"%d pages",
					what, r->name, REG_PAGES_MAX);
			goto done;
		}
		rv_buf_reset(&body);
		reg_resp_release(&resp);
		reg_resp_init(&resp);
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = page_url;
		req.what = what;
		req.scope = rv_buf_cstr(&scope);
		req.accept = REG_MT_OCI_INDEX;
		req.out = &body;
		req.out_max = REG_PAGE_MAX;
		rv = reg_do(r, &req, &resp);
		if (rv)
			goto done;
		if (resp.status == 404 && body_is_index(&resp.err_body)) {
			rv = referrers_page(arr, r, what, resp.err_body.data,
					    resp.err_body.len);
			if (rv)
				goto done;
			break;
		}
		if (page == 0 && (resp.status == 404 || resp.status == 400 ||
				  resp.status == 405 || resp.status == 501)) {
			rv = rv_err_set(RV_UNSUPPORTED,
					"registry '%s' has no referrers API "
					"(HTTP %ld for '%s'); the "
					"sha256-<hex> tags are used instead",
					r->name, resp.status, repo);
			goto done;
		}
		if (resp.status != 200) {
			rv = reg_status_error(r, &req, &resp);
			goto done;
		}
		rv = referrers_page(arr, r, what, body.data, body.len);
		if (rv)
			goto done;
		rv = next_page(&page_url, r, &resp, what);
		if (rv < 0)
			goto done;
		if (!rv)
			break;
	}
	text = json_dumps(arr, JSON_COMPACT);
	if (!text) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rv = rv_buf_puts(out, text);
done:
	free(text);
	json_decref(arr);
	free(page_url);
	rv_buf_release(&url);
	rv_buf_release(&scope);
	rv_buf_release(&body);
	reg_resp_release(&resp);
	return rv;
}
