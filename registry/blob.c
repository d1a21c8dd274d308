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
	int64_t got; /* bytes hashed and handed to the sink */
	struct rv_sha256 sha;
	reg_sink_fn sink;
	void *arg;
	/* resume: the current request asked for bytes from `from` on; the
	 * first `skip` bytes of its body were sunk already (a 200 answer to
	 * a Range request) */
	const struct reg_resp *resp;
	int64_t from;
	int64_t skip;
	int64_t body; /* body bytes of the current response, skipped ones too */
	int started;  /* the current response's start was checked */
};

/* On the first body bytes of a response: does it continue at b->from? */
static int blob_check_start(struct blob_get *b)
{
	const struct reg_resp *resp = b->resp;
	int64_t start, last, total;

	b->skip = 0;
	if (b->from == 0)
		return 0;
	if (resp->status == 200) {
		/* the server ignored Range: drop what we have */
		b->skip = b->from;
		return 0;
	}
	if (resp->status == 206 &&
	    !reg_content_range_parse(&start, &last, &total,
				     resp->content_range) &&
	    start == b->from && (total < 0 || b->size < 0 || total == b->size))
		return 0;
	return rv_err_set(RV_NET,
			  "cannot resume blob %s from '%s' on registry '%s': "
			  "asked for bytes from %lld, got HTTP %ld with "
			  "Content-Range '%.80s'",
			  b->digest, b->repo, b->r->name, (long long)b->from,
			  resp->status,
			  resp->content_range ? resp->content_range : "");
}

/* Between the transfer and the caller's sink: count, hash, bound. */
static int blob_sink(void *arg, const void *data, size_t len)
{
	struct blob_get *b = arg;
	int rc;

	if (!b->started) {
		rc = blob_check_start(b);
		if (rc)
			return rc;
		b->started = 1;
	}
	b->body += (int64_t)len;
	if (b->skip > 0) {
		size_t k = (uint64_t)b->skip < len ? (size_t)b->skip : len;
		data = (const unsigned char *)data + k;
		len -= k;
		b->skip -= (int64_t)k;
		if (!len)
			return 0;
	}
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

/* After a download broke off at b->got (or ended short): may it resume?
 * Logs the resume and waits a backoff. RV_NET/RV_CORRUPT with the message
 * set when it may not. */
static int blob_resume_ok(struct blob_get *b, int resumes, int rv,
			  const struct reg_resp *resp)
{
	struct reg *r = b->r;
	char reason[CURL_ERROR_SIZE + 64];

	if (rv) {
		if (!resp->broken || b->got == 0)
			return rv; /* not a cut, or reg_do retried already */
		snprintf(reason, sizeof(reason), "%s%s%s%s",
			 curl_easy_strerror(r->last_cc),
			 r->curl_err[0] ? " (" : "", r->curl_err,
			 r->curl_err[0] ? ")" : "");
	} else {
		snprintf(reason, sizeof(reason), "the body ended short");
	}
	if (resumes >= r->retries) {
		if (rv)
			return rv_err_set(rv,
					  "%s (gave up after %d resumes of "
					  "the download)",
					  rv_err_msg(), resumes);
		return rv_err_set(RV_CORRUPT,
				  "blob %s from '%s' on registry '%s' is "
				  "shorter than its size (%lld of %lld bytes, "
				  "after %d resumes)",
				  b->digest, b->repo, r->name,
				  (long long)b->got, (long long)b->size,
				  resumes);
	}
	rv_err_clear();
	rv_warn("registry '%s': resuming blob %s of '%s' at byte %lld of "
		"%lld: %s",
		r->name, b->digest, b->repo, (long long)b->got,
		(long long)b->size, reason);
	reg_sleep_ms(reg_backoff_ms(resumes, r->retry_base_ms, r->retry_max_ms,
				    reg_rand(&r->rng)));
	return 0;
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
	char *storage_url = NULL; /* a redirect target to resume from */
	int rv, resumes = 0;

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
	b.resp = &resp;
	rv = rv_sha256_init(&b.sha);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.what = what;
	req.scope = rv_buf_cstr(&scope);
	req.sink = blob_sink;
	req.sink_arg = &b;
	r->stats.blob_gets++;
	for (;;) {
		/* a resume goes to the storage URL the registry redirected
		 * to (no Authorization there); when that one has expired,
		 * back to the registry, which redirects afresh */
		req.url = storage_url ? storage_url : rv_buf_cstr(&url);
		req.range_from = b.got;
		b.from = b.got;
		b.body = 0;
		b.started = 0;
		rv = reg_do(r, &req, &resp);
		if (!rv && resp.status != 200 &&
		    !(resp.status == 206 && b.from > 0)) {
			if (storage_url) {
				rv_info("registry '%s': the storage URL of "
					"blob %s answered HTTP %ld; resuming "
					"through the registry",
					r->name, digest, resp.status);
				free(storage_url);
				storage_url = NULL;
				continue;
			}
			rv = reg_status_error(r, &req, &resp);
			goto done;
		}
		if (!rv && (size < 0 || b.got >= size))
			break;
		if (!rv && resp.content_length >= 0 &&
		    b.body >= resp.content_length) {
			/* all the registry meant to send: not a cut */
			rv = rv_err_set(RV_CORRUPT,
					"blob %s from '%s' on registry '%s' is "
					"shorter than its size (%lld of %lld "
					"bytes)",
					digest, repo, r->name, (long long)b.got,
					(long long)size);
			goto done;
		}
		rv = blob_resume_ok(&b, resumes, rv, &resp);
		if (rv)
			goto done;
		resumes++;
		r->stats.resumed++;
		if (!storage_url && resp.url && !reg_same_origin(r, resp.url)) {
			storage_url = strdup(resp.url);
			if (!storage_url) {
				rv = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
		}
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
	free(storage_url);
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

int reg_blob_put(struct reg *r, const char *repo, const char *digest,
		 int64_t size, reg_source_fn src, void *arg)
{
	struct rv_buf scope = RV_BUF_INIT(1024);
	char *loc = NULL;
	char what[450];
	int rv;

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
	if ((uint64_t)size > reg_upload_chunk_size(r)) {
		rv = reg_upload_stream(r, repo, digest, (uint64_t)size, src,
				       arg);
		goto done;
	}
	rv = rv_buf_printf(&scope, "repository:%s:pull,push", repo);
	if (!rv)
		rv = reg_upload_begin(&loc, r, repo, rv_buf_cstr(&scope), what);
	if (rv)
		goto done;
	r->stats.blob_puts++;
	rv = reg_upload_finish(r, loc, digest, rv_buf_cstr(&scope), what, src,
			       arg, size);
done:
	free(loc);
	rv_buf_release(&scope);
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
	if (!reg_upload_loc(&loc, r, what, &req, &resp) &&
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
