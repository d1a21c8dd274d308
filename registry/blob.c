/* blob.c - blobs: streamed verified GET, HEAD, upload, cross-repo mount. */
#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/err.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

struct blob_get {
	struct reg *r;
	const char *repo;
	const char *digest;
	int64_t size;
	int64_t got;
	struct rv_sha256 sha;
	reg_sink_fn sink;
	void *arg;
};

/* Between the transfer and the caller's sink: count, hash, bound. */
static int blob_sink(void *arg, const void *data, size_t len)
{
	struct blob_get *b = arg;
	int rc;

	if (b->size >= 0 && (uint64_t)(b->size - b->got) < len)
		return rv_err_set(RV_CORRUPT,
				  "blob %s from '%s' on registry '%s' is "
				  "longer than its size of %lld bytes",
				  b->digest, b->repo, b->r->name,
				  (long long)b->size);
	rc = rv_sha256_update(&b->sha, data, len);
	if (rc)
		return rc;
	b->got += (int64_t)len;
	b->r->stats.blob_bytes += len;
	return b->sink(b->arg, data, len);
}

static int blob_url(struct rv_buf *url, struct rv_buf *scope,
		    const struct reg *r, const char *repo, const char *digest,
		    const char *access)
{
	int rv = rv_buf_printf(url, "%s/v2/%s/blobs/%s", r->url, repo, digest);
	if (!rv)
		rv = rv_buf_printf(scope, "repository:%s:%s", repo, access);
	return rv;
}

int reg_blob_get(struct reg *r, const char *repo, const char *digest,
		 int64_t size, reg_sink_fn sink, void *arg)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct blob_get b;
	struct reg_resp resp;
	struct reg_req req;
	unsigned char sha[RV_SHA256_LEN];
	char what[450], got[RV_DIGEST_MAX];
	int rv;

	memset(&b, 0, sizeof(b));
	reg_resp_init(&resp);
	rv = reg_check_digest(r, repo, digest);
	if (rv)
		goto done;
	if (!sink) {
		rv = rv_err_set(RV_INVALID, "reg_blob_get: no sink");
		goto done;
	}
	snprintf(what, sizeof(what), "get blob %s from '%s'", digest, repo);
	rv = blob_url(&url, &scope, r, repo, digest, "pull");
	if (rv)
		goto done;
	b.r = r;
	b.repo = repo;
	b.digest = digest;
	b.size = size;
	b.sink = sink;
	b.arg = arg;
	rv = rv_sha256_init(&b.sha);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	req.sink = blob_sink;
	req.sink_arg = &b;
	r->stats.blob_gets++;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status != 200) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	if (size >= 0 && b.got != size) {
		rv = rv_err_set(RV_CORRUPT,
				"blob %s from '%s' on registry '%s' is shorter "
				"than its size (%lld of %lld bytes)",
				digest, repo, r->name, (long long)b.got,
				(long long)size);
		goto done;
	}
	rv = rv_sha256_final(&b.sha, sha);
	if (rv)
		goto done;
	rv_digest_format(got, sha);
	if (strcmp(got, digest)) {
		rv = rv_err_set(RV_CORRUPT,
				"blob %s from '%s' on registry '%s' does not "
				"match its digest (got %s)",
				digest, repo, r->name, got);
		goto done;
	}
	rv = 0;
done:
	rv_sha256_release(&b.sha);
	rv_buf_release(&url);
	rv_buf_release(&scope);
	reg_resp_release(&resp);
	return rv;
}

int reg_blob_head(int64_t *size, struct reg *r, const char *repo,
		  const char *digest)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct reg_resp resp;
	struct reg_req req;
	char what[450];
	int rv;

	*size = -1;
	reg_resp_init(&resp);
	rv = reg_check_digest(r, repo, digest);
	if (rv)
		goto done;
	snprintf(what, sizeof(what), "check blob %s in '%s'", digest, repo);
	rv = blob_url(&url, &scope, r, repo, digest, "pull");
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "HEAD";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status != 200) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	if (resp.digest && !strncmp(resp.digest, "sha256:", 7) &&
	    strcmp(resp.digest, digest)) {
		rv = rv_err_set(RV_CORRUPT,
				"check blob %s in '%s' on registry '%s': the "
				"registry answers with digest %.80s",
				digest, repo, r->name, resp.digest);
		goto done;
	}
	*size = resp.content_length;
done:
	rv_buf_release(&url);
	rv_buf_release(&scope);
	reg_resp_release(&resp);
	return rv;
}

/* Resolve the upload Location of resp against the URL that sent it. */
static int upload_location(char **out, const struct reg *r,
			   const struct reg_req *req,
			   const struct reg_resp *resp)
{
	if (!resp->location ||
	    reg_url_resolve(out, resp->url ? resp->url : req->url,
			    resp->location))
		return rv_err_set(
		    RV_NET,
		    "cannot %s on registry '%s': HTTP %ld without "
		    "a usable Location",
		    req->what, r->name, resp->status);
	return 0;
}

int reg_blob_put(struct reg *r, const char *repo, const char *digest,
		 int64_t size, reg_source_fn src, void *arg)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf put_url = RV_BUF_INIT(16384);
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct reg_resp resp;
	struct reg_req req;
	char *loc = NULL;
	char what[450];
	int rv;

	reg_resp_init(&resp);
	rv = reg_check_digest(r, repo, digest);
	if (rv)
		goto done;
	snprintf(what, sizeof(what), "upload blob %s to '%s'", digest, repo);
	if (size < 0 || !src) {
		rv = rv_err_set(RV_INVALID,
				"cannot %s on registry '%s': no size or source",
				what, r->name);
		goto done;
	}
	rv = rv_buf_printf(&url, "%s/v2/%s/blobs/uploads/", r->url, repo);
	if (!rv)
		rv = rv_buf_printf(&scope, "repository:%s:pull,push", repo);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status != 202) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	rv = upload_location(&loc, r, &req, &resp);
	if (rv)
		goto done;
	rv = rv_buf_printf(&put_url, "%s%cdigest=", loc,
			   strchr(loc, '?') ? '&' : '?');
	if (!rv)
		rv = reg_urlenc(&put_url, digest);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.url = rv_buf_cstr(&put_url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	req.content_type = "application/octet-stream";
	req.src = src;
	req.src_arg = arg;
	req.src_len = size;
	r->stats.blob_puts++;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status != 201) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	if (resp.digest && !strncmp(resp.digest, "sha256:", 7) &&
	    strcmp(resp.digest, digest)) {
		rv = rv_err_set(RV_CORRUPT,
				"cannot %s on registry '%s': the registry "
				"stored digest %.80s",
				what, r->name, resp.digest);
		goto done;
	}
	rv = 0;
done:
	free(loc);
	rv_buf_release(&url);
	rv_buf_release(&put_url);
	rv_buf_release(&scope);
	reg_resp_release(&resp);
	return rv;
}

int reg_blob_mount(struct reg *r, const char *repo, const char *digest,
		   const char *from_repo)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct rv_buf scope = RV_BUF_INIT(2048);
	struct reg_resp resp, del_resp;
	struct reg_req req;
	char *loc = NULL;
	char what[700];
	int rv;

	reg_resp_init(&resp);
	reg_resp_init(&del_resp);
	rv = reg_check_digest(r, repo, digest);
	if (!rv)
		rv = reg_check_repo(r, from_repo);
	if (rv)
		goto done;
	snprintf(what, sizeof(what), "mount blob %s from '%s' into '%s'",
		 digest, from_repo, repo);
	rv =
	    rv_buf_printf(&url, "%s/v2/%s/blobs/uploads/?mount=", r->url, repo);
	if (!rv)
		rv = reg_urlenc(&url, digest);
	if (!rv)
		rv = rv_buf_puts(&url, "&from=");
	if (!rv)
		rv = reg_urlenc(&url, from_repo);
	if (!rv)
		rv = rv_buf_printf(&scope,
				   "repository:%s:pull,push repository:%s:pull",
				   repo, from_repo);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status == 201)
		goto done;
	if (resp.status != 202) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	/* the registry started an upload instead: cancel it (best effort;
	 * distribution wants the delete action for that, which the account
	 * may lack: the registry purges stale uploads in the end) */
	rv_buf_reset(&scope);
	if (!upload_location(&loc, r, &req, &resp) &&
	    !rv_buf_printf(&scope, "repository:%s:delete", repo)) {
		struct reg_req del;
		memset(&del, 0, sizeof(del));
		del.method = "DELETE";
		del.url = loc;
		del.what = what;
		del.scope = rv_buf_cstr(&scope);
		if (reg_do(r, &del, &del_resp) ||
		    (del_resp.status != 204 && del_resp.status != 200 &&
		     del_resp.status != 202))
			rv_debug("registry '%s': could not cancel the upload "
				 "started by a failed mount",
				 r->name);
	}
	rv = rv_err_set(RV_NOTFOUND,
			"cannot %s on registry '%s': the registry did not "
			"mount it (not present in '%s' or not allowed)",
			what, r->name, from_repo);
done:
	free(loc);
	rv_buf_release(&url);
	rv_buf_release(&scope);
	reg_resp_release(&resp);
	reg_resp_release(&del_resp);
	return rv;
}
