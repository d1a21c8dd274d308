/* upload.c - chunked blob uploads: POST, PATCH chunks with Content-Range,
 * PUT ?digest=; after a cut connection, a 5xx or a 416 the registry is
 * asked how far it got (GET <location>, Range header) and the upload goes
 * on from there. When the status query answers 404 the registry has lost
 * the upload, and it starts again from byte 0 with a new POST:
 * distribution 2.8 keeps the bytes of a PATCH whose body was cut, so its
 * file no longer matches the offset in the Location's _state, and the
 * status query then cancels the upload (404 BLOB_UPLOAD_INVALID). */
#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/err.h"
#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Status queries in a row that may find no progress before we give up. */
#define UPLOAD_RESUMES_MAX 5
/* Uploads the registry lost (404 on the status query) started again. */
#define UPLOAD_RESTARTS_MAX 3

uint64_t reg_upload_chunk_size(const struct reg *r)
{
	uint64_t chunk =
	    r->upload_chunk ? r->upload_chunk : REG_UPLOAD_CHUNK_DEFAULT;
	return chunk < REG_UPLOAD_CHUNK_MIN ? REG_UPLOAD_CHUNK_MIN : chunk;
}

static int parse_u64(uint64_t *out, const char *s, size_t len)
{
	char num[24];
	char *end = NULL;
	unsigned long long v;

	if (!len || len >= sizeof(num))
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)num[i]))
			return -1;
	errno = 0;
	v = strtoull(num, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int reg_upload_parse_range(uint64_t *held, int *ambiguous, const char *value,
			   uint64_t max)
{
	const char *p = value, *dash;
	uint64_t start, end;
	size_t len;

	*held = 0;
	*ambiguous = 0;
	if (!value)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!strncasecmp(p, "bytes=", 6))
		p += 6;
	len = strlen(p);
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	dash = memchr(p, '-', len);
	if (!dash || parse_u64(&start, p, (size_t)(dash - p)) ||
	    parse_u64(&end, dash + 1, len - (size_t)(dash - p) - 1))
		return rv_err_set(RV_CORRUPT,
				  "upload status Range '%.40s' is not 0-N",
				  value);
	if (start != 0 || end < start)
		return rv_err_set(RV_CORRUPT,
				  "upload status Range '%.40s' does not start "
				  "at 0",
				  value);
	if (end >= max)
		return rv_err_set(RV_CORRUPT,
				  "upload status Range '%.40s' is past the "
				  "blob's %llu bytes",
				  value, (unsigned long long)max);
	*held = end + 1;
	*ambiguous = end == 0;
	return 0;
}

int reg_upload_content_range(char *out, size_t cap, uint64_t start,
			     uint64_t len)
{
	int n;

	if (!len || start > UINT64_MAX - len)
		return rv_err_set(RV_INVALID, "empty or overflowing range");
	n = snprintf(out, cap, "%llu-%llu", (unsigned long long)start,
		     (unsigned long long)(start + len - 1));
	if (n < 0 || (size_t)n >= cap)
		return rv_err_set(RV_INVALID, "content range does not fit");
	return 0;
}

/* Where the bytes come from: a seekable source, or a forward-only one. */
struct up_src {
	reg_source_at_fn at;
	reg_source_fn fwd;
	void *arg;
	uint64_t pos; /* next offset the source gives */
};

static int up_read(void *arg, void *buf, size_t cap, size_t *got)
{
	struct up_src *u = arg;
	int rc;

	*got = 0;
	rc = u->at ? u->at(u->arg, u->pos, buf, cap, got)
		   : u->fwd(u->arg, buf, cap, got);
	if (!rc)
		u->pos += *got;
	return rc;
}

int reg_upload_loc(char **loc, const struct reg *r, const char *what,
		   const struct reg_req *req, const struct reg_resp *resp)
{
	char *next = NULL;

	if (!resp->location ||
	    reg_url_resolve(&next, resp->url ? resp->url : req->url,
			    resp->location))
		return rv_err_set(RV_NET,
				  "cannot %s on registry '%s': HTTP %ld "
				  "without a usable Location",
				  what, r->name, resp->status);
	free(*loc);
	*loc = next;
	return 0;
}

int reg_upload_begin(char **loc, struct reg *r, const char *repo,
		     const char *scope, const char *what)
{
	struct rv_buf url = RV_BUF_INIT(4096);
	struct reg_resp resp;
	struct reg_req req;
	int rv;

	reg_resp_init(&resp);
	rv = rv_buf_printf(&url, "%s/v2/%s/blobs/uploads/", r->url, repo);
	if (rv)
		goto done;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = rv_buf_cstr(&url);
	req.what = what;
	req.scope = scope;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status != 202) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	rv = reg_upload_loc(loc, r, what, &req, &resp);
done:
	rv_buf_release(&url);
	reg_resp_release(&resp);
	return rv;
}

int reg_upload_finish(struct reg *r, const char *loc, const char *digest,
		      const char *scope, const char *what, reg_source_fn src,
		      void *arg, int64_t len)
{
	struct rv_buf put_url = RV_BUF_INIT(16384);
	struct reg_resp resp;
	struct reg_req req;
	int rv;

	reg_resp_init(&resp);
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
	req.scope = scope;
	req.content_type = "application/octet-stream";
	req.src = src;
	req.src_arg = arg;
	req.src_len = src ? len : 0;
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
	rv_buf_release(&put_url);
	reg_resp_release(&resp);
	return rv;
}

/* GET the upload's status: how many bytes the registry holds; *lost
 * set (and 0 returned) when the registry no longer knows the upload
 * (404). */
static int upload_status(uint64_t *held, int *ambiguous, int *lost,
			 struct reg *r, char **loc, const char *scope,
			 const char *what, uint64_t size)
{
	struct reg_resp resp;
	struct reg_req req;
	int rv;

	reg_resp_init(&resp);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = *loc;
	req.what = what;
	req.scope = scope;
	*lost = 0;
	rv = reg_do(r, &req, &resp);
	if (rv)
		goto done;
	if (resp.status == 404) {
		*lost = 1;
		goto done;
	}
	if (resp.status != 204 && resp.status != 200) {
		rv = reg_status_error(r, &req, &resp);
		goto done;
	}
	rv = reg_upload_parse_range(held, ambiguous, resp.range, size);
	if (rv) {
		rv = rv_err_set(RV_NET, "cannot %s on registry '%s': %s", what,
				r->name, rv_err_msg());
		goto done;
	}
	if (resp.location)
		rv = reg_upload_loc(loc, r, what, &req, &resp);
done:
	reg_resp_release(&resp);
	return rv;
}

static int upload_chunked(struct reg *r, const char *repo, const char *digest,
			  uint64_t size, struct up_src *u)
{
	struct rv_buf scope = RV_BUF_INIT(1024);
	struct reg_resp resp;
	struct reg_req req;
	uint64_t chunk = reg_upload_chunk_size(r), off = 0, held;
	char *loc = NULL;
	char what[450], range[48], why[64];
	int rv, ambiguous, lost, stalls = 0, refused_at_zero = 0, restarts = 0;

	reg_resp_init(&resp);
	snprintf(what, sizeof(what), "upload blob %s to '%s'", digest, repo);
	rv = rv_buf_printf(&scope, "repository:%s:pull,push", repo);
	if (!rv)
		rv = reg_upload_begin(&loc, r, repo, rv_buf_cstr(&scope), what);
	if (rv)
		goto done;
	r->stats.blob_puts++;
	while (off < size) {
		uint64_t len = size - off < chunk ? size - off : chunk;
		int cut;

		if (!u->at && u->pos != off) {
			rv = rv_err_set(RV_NET,
					"cannot %s on registry '%s': the "
					"upload was cut at byte %llu and the "
					"source cannot go back to it",
					what, r->name, (unsigned long long)off);
			goto done;
		}
		u->pos = off;
		rv = reg_upload_content_range(range, sizeof(range), off, len);
		if (rv)
			goto done;
		memset(&req, 0, sizeof(req));
		req.method = "PATCH";
		req.url = loc;
		req.what = what;
		req.scope = rv_buf_cstr(&scope);
		req.content_type = "application/octet-stream";
		req.content_range = range;
		req.src = up_read;
		req.src_arg = u;
		req.src_len = (int64_t)len;
		rv = reg_do(r, &req, &resp);
		if (!rv && resp.status == 202) {
			r->stats.chunks_sent++;
			stalls = 0;
			refused_at_zero = 0;
			rv = reg_upload_loc(&loc, r, what, &req, &resp);
			if (rv)
				goto done;
			off += len;
			if (resp.range) {
				/* the registry's count is the truth */
				rv = reg_upload_parse_range(&held, &ambiguous,
							    resp.range, size);
				if (!rv && held != off && !ambiguous) {
					rv_debug("registry '%s': upload of %s "
						 "holds %llu bytes, not %llu",
						 r->name, digest,
						 (unsigned long long)held,
						 (unsigned long long)off);
					off = held;
				}
				rv_err_clear();
				rv = 0;
			}
			continue;
		}
		/* a cut connection, a server error or a refused range:
		 * ask the registry where it stands and go on from there */
		cut = rv == RV_NET ||
		      (!rv && (resp.status == 416 || resp.status >= 500));
		if (!cut) {
			if (!rv)
				rv = reg_status_error(r, &req, &resp);
			goto done;
		}
		if (!rv && resp.status == 416 && off == 0)
			refused_at_zero = 1;
		if (++stalls > UPLOAD_RESUMES_MAX) {
			if (!rv)
				rv = reg_status_error(r, &req, &resp);
			rv = rv_err_set(RV_NET,
					"cannot %s on registry '%s': no "
					"progress after %d resumes (%s)",
					what, r->name, UPLOAD_RESUMES_MAX,
					rv_err_msg());
			goto done;
		}
		rv_info("registry '%s': upload of %s stopped at chunk %llu "
			"(%s); asking where to resume",
			r->name, digest, (unsigned long long)off,
			rv ? rv_err_msg() : "HTTP status");
		if (rv)
			snprintf(why, sizeof(why), "the connection dropped");
		else
			snprintf(why, sizeof(why), "HTTP %ld", resp.status);
		rv_err_clear();
		rv = upload_status(&held, &ambiguous, &lost, r, &loc,
				   rv_buf_cstr(&scope), what, size);
		if (rv)
			goto done;
		if (lost) {
			if (++restarts > UPLOAD_RESTARTS_MAX) {
				rv = rv_err_set(
				    RV_NET,
				    "cannot %s on registry '%s': the "
				    "registry lost the upload %d "
				    "times (HTTP 404 on its status "
				    "after %s)",
				    what, r->name, restarts, why);
				goto done;
			}
			rv_warn("registry '%s': upload of %s to '%s' is gone "
				"from the registry after byte %llu (%s; HTTP "
				"404 on its status); starting it again from "
				"byte 0 (restart %d of %d)",
				r->name, digest, repo, (unsigned long long)off,
				why, restarts, UPLOAD_RESTARTS_MAX);
			rv = reg_upload_begin(&loc, r, repo,
					      rv_buf_cstr(&scope), what);
			if (rv)
				goto done;
			stalls = 0;
			refused_at_zero = 0;
			off = 0;
			continue;
		}
		/* "0-0" means 0 or 1 byte; a 416 at 0 says it is 1 */
		if (ambiguous && refused_at_zero)
			held = 1;
		else if (ambiguous)
			held = 0;
		rv_warn("registry '%s': upload of %s to '%s' resumes at byte "
			"%llu (%s)",
			r->name, digest, repo, (unsigned long long)held, why);
		off = held;
	}
	rv = reg_upload_finish(r, loc, digest, rv_buf_cstr(&scope), what, NULL,
			       NULL, 0);
done:
	free(loc);
	rv_buf_release(&scope);
	reg_resp_release(&resp);
	return rv;
}

int reg_upload_stream(struct reg *r, const char *repo, const char *digest,
		      uint64_t size, reg_source_fn src, void *arg)
{
	struct up_src u = {NULL, src, arg, 0};

	return upload_chunked(r, repo, digest, size, &u);
}

int reg_blob_put_seekable(struct reg *r, const char *repo, const char *digest,
			  int64_t size, reg_source_at_fn src, void *arg)
{
	struct up_src u = {src, NULL, arg, 0};
	int rv = reg_check_digest(r, repo, digest);

	if (rv)
		return rv;
	if (size < 0 || !src)
		return rv_err_set(RV_INVALID,
				  "cannot upload blob %s to '%s' on registry "
				  "'%s': no size or source",
				  digest, repo, r->name);
	if ((uint64_t)size > reg_upload_chunk_size(r))
		return upload_chunked(r, repo, digest, (uint64_t)size, &u);
	return reg_blob_put(r, repo, digest, size, up_read, &u);
}
