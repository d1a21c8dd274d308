/* registry.h - an OCI distribution client over libcurl.
 *
 * One struct reg per registry; it owns one curl easy handle, so the
 * connection is reused across requests (keep-alive). Not thread-safe: use
 * one struct reg per thread.
 *
 * Auth: anonymous first; on 401 the WWW-Authenticate challenge decides:
 *   Basic  -> username/password from the config;
 *   Bearer -> GET realm?service=..&scope=repository:NAME:pull (or pull,push
 *             for writes), with Basic credentials when configured; the token
 *             is cached per scope until it expires.
 * Redirects are followed by hand (at most 5); the Authorization header is
 * sent only to the registry's own scheme://host:port.
 *
 * Every response body has a size cap. Errors set the thread's message
 * (util/err.h) naming the registry, repository and object; secrets
 * (passwords, tokens) never appear in messages or logs.
 */
#ifndef REG_REGISTRY_H
#define REG_REGISTRY_H

#include "util/buf.h"
#include "util/digest.h"
#include "util/strlist.h"

#include <stddef.h>
#include <stdint.h>

struct reg;

struct reg_config {
	const char *name;     /* for messages, e.g. "prod" */
	const char *url;      /* base URL: "https://r.example.com", "http://127.0.0.1:5000" */
	const char *username; /* NULL: anonymous (still does Bearer anonymously) */
	const char *password; /* secret; never logged */
	const char *ca_file;  /* PEM bundle to trust, or NULL for the system's */
	int insecure;         /* 1: do not verify TLS peer/host (explicit opt-in) */
	/* Docker's config.json (registry/credentials.c): when set and no
	 * username is configured, the entry for this registry's host is
	 * used: "auths" {"auth": base64 user:pass} or {"identitytoken": an
	 * OAuth2 refresh token}, else "credHelpers"[host] or "credsStore",
	 * which run `docker-credential-<name> get` with the host on stdin.
	 * "" or NULL: not used. */
	const char *docker_config;
	/* Mutual TLS: a client certificate and its key (PEM files). */
	const char *client_cert;
	const char *client_key;
	/* Politeness (registry/http.c): at most this many requests in the
	 * life of the client (0: no budget; RV_REFUSED-free: RV_NET with a
	 * message naming the budget once spent); retries of a failed
	 * request (5xx, 429, a dropped connection) with exponential backoff
	 * from retry_base_ms, doubled each time, with jitter, capped at
	 * retry_max_ms; a 429's Retry-After is honoured up to
	 * retry_after_max_s. 0 = defaults: 5 retries, 500 ms, 30 s, 300 s. */
	uint64_t request_budget;
	int retries;
	int retry_base_ms;
	int retry_max_ms;
	int retry_after_max_s;
	/* Uploads larger than this go in PATCH chunks of this size
	 * (registry/upload.c); 0 = default 64 MiB. */
	uint64_t upload_chunk;
};

#define REG_MEDIA_MAX 128

/* What a manifest HEAD/GET/PUT tells about a manifest. */
struct reg_desc {
	char digest[RV_DIGEST_MAX];    /* "sha256:..." */
	char media_type[REG_MEDIA_MAX];/* Content-Type without parameters */
	int64_t size;                  /* bytes */
};

/* The four manifest media types we send in Accept and accept back. */
#define REG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REG_MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MT_DOCKER_V2 "application/vnd.docker.distribution.manifest.v2+json"

/* Create a client (copies every string in cfg). RV_INVALID for a bad URL. */
int reg_new(struct reg **out, const struct reg_config *cfg);
void reg_free(struct reg *r);
/* A second client for the same registry, for another thread: the same
 * settings, credentials and cached tokens, its own connection. A request
 * budget is one counter (atomic) for r and all its clones, so together
 * they never exceed it; `share` caps the clone's own requests besides (0:
 * no cap of its own). r must outlive its clones. RV_UNSUPPORTED for a
 * client that holds an OAuth2 identity token (a rotating refresh token
 * cannot be shared): work with one client then. */
int reg_clone(struct reg **out, struct reg *r, uint64_t share);

/* After a clone's thread ended: its stats are added into r's, so reports
 * count every request. Then free the clone. */
void reg_stats_add(struct reg *r, const struct reg *clone);

/* The base URL as configured, without a trailing slash. */
const char *reg_url(const struct reg *r);

/* Append every repository of GET /v2/_catalog to repos, following Link
 * pages. RV_UNSUPPORTED (message says so) when the registry disables the
 * catalog (404, 401/403 after auth). */
int reg_catalog(struct reg *r, struct rv_strlist *repos);

/* Append every tag of GET /v2/<repo>/tags/list, following Link pages.
 * RV_NOTFOUND if the repository does not exist. */
int reg_tags(struct reg *r, const char *repo, struct rv_strlist *tags);

/* HEAD /v2/<repo>/manifests/<ref> with all four media types in Accept.
 * ref is a tag or a digest. Fills out from Docker-Content-Digest,
 * Content-Type and Content-Length. RV_NOTFOUND if absent. When the
 * registry sends no Docker-Content-Digest, RV_UNSUPPORTED-free fallback:
 * the function GETs the body and hashes it. */
int reg_manifest_head(struct reg_desc *out, struct reg *r, const char *repo,
		      const char *ref);

/* GET a manifest; body receives the exact bytes (body->max caps it; the
 * caller inits body). The digest is computed from the bytes: when ref is a
 * digest it must equal it, and a Docker-Content-Digest header must agree;
 * RV_CORRUPT otherwise. Schema 1 manifests are refused with
 * RV_REFUSED and a message that says how to convert them. */
int reg_manifest_get(struct rv_buf *body, struct reg_desc *out, struct reg *r,
		     const char *repo, const char *ref);

/* PUT a manifest under ref (a tag or its digest) with Content-Type
 * media_type. When the registry answers with Docker-Content-Digest it must
 * equal sha256(body): RV_CORRUPT otherwise. */
int reg_manifest_put(struct reg *r, const char *repo, const char *ref,
		     const char *media_type, const void *body, size_t len);

/* Receives blob bytes as they arrive; return 0, or a negative code to
 * abort the transfer (that code is returned by reg_blob_get). */
typedef int (*reg_sink_fn)(void *arg, const void *data, size_t len);

/* Stream GET /v2/<repo>/blobs/<digest> into sink. sha256 and size are
 * checked as bytes arrive; a mismatch (wrong digest, longer or shorter
 * than size) returns RV_CORRUPT after the sink saw the bytes, so the
 * caller must discard what it received. size < 0: size unknown. */
int reg_blob_get(struct reg *r, const char *repo, const char *digest,
		 int64_t size, reg_sink_fn sink, void *arg);

/* HEAD a blob: 0 and *size when present, RV_NOTFOUND when absent. */
int reg_blob_head(int64_t *size, struct reg *r, const char *repo,
		  const char *digest);

/* Supplies upload bytes: fill up to cap bytes into buf, set *got (0 at the
 * end). Return 0 or a negative code to abort. */
typedef int (*reg_source_fn)(void *arg, void *buf, size_t cap, size_t *got);

/* Upload a blob of known size: POST /v2/<repo>/blobs/uploads/ then one
 * streaming PUT <location>?digest=<digest>; a blob larger than the
 * client's upload_chunk goes in PATCH chunks instead (registry/upload.c),
 * and a chunk cut off (a dropped connection) or refused with 416 resumes
 * from the offset the registry reports (GET <location> Range header), so
 * the source must also be able to seek: see reg_blob_put_seekable. The
 * registry verifies the digest; a refusal is RV_CORRUPT when it says
 * DIGEST_INVALID. */
int reg_blob_put(struct reg *r, const char *repo, const char *digest,
		 int64_t size, reg_source_fn src, void *arg);

/* Supplies upload bytes from an offset: fill up to cap bytes of the
 * blob starting at `offset` into buf, *got = bytes (0 only at the end).
 * Lets a chunked upload resume anywhere. */
typedef int (*reg_source_at_fn)(void *arg, uint64_t offset, void *buf,
				size_t cap, size_t *got);

/* Like reg_blob_put, but the source can be read from any offset, so a
 * chunked upload can resume after a cut. Chunked when size is above the
 * client's upload_chunk, one PUT otherwise. */
int reg_blob_put_seekable(struct reg *r, const char *repo, const char *digest,
			  int64_t size, reg_source_at_fn src, void *arg);

/* Try a cross-repository mount (POST ...?mount=<digest>&from=<from_repo>).
 * 0 when mounted; RV_NOTFOUND when the registry started an upload instead
 * (the upload is cancelled); other codes on error. */
int reg_blob_mount(struct reg *r, const char *repo, const char *digest,
		   const char *from_repo);

/* The OCI 1.1 referrers of a manifest: GET /v2/<repo>/referrers/<digest>
 * (following Link pages), the descriptors of every page appended to
 * *out as a JSON array text of descriptors (mediaType, digest, size,
 * artifactType, annotations) — the "manifests" of the image index the
 * API returns. RV_UNSUPPORTED when the registry has no referrers API
 * (404 without an OCI index body, 405, 400); then the caller uses the
 * fallback tag schema (`sha256-<hex of digest>`, OCI distribution spec
 * 1.1, "Referrers Tag Schema"). */
int reg_referrers(struct rv_buf *out, struct reg *r, const char *repo,
		  const char *digest);

/* 1 when the last reg_catalog() call looked truncated: the registry
 * returned a page of exactly the default page size or of the 100 entries
 * distribution caps it at, without a Link header to a next page. */
int reg_catalog_truncated(const struct reg *r);
/* GET /v2/ (the API version check), authenticating as a real request
 * would: 0 when the registry answers 200. RV_AUTH when it refuses the
 * credentials, another code (message set) when it cannot be reached or
 * answers something else. */
int reg_ping(struct reg *r);

/* Counters since reg_new, for reports and tests. */
struct reg_stats {
	uint64_t requests;
	uint64_t retries;      /* requests sent again after a failure */
	uint64_t throttled;    /* 429 answers */
	uint64_t resumed;      /* blob downloads resumed with Range */
	uint64_t chunks_sent;  /* PATCH chunks of chunked uploads */
	uint64_t manifest_heads;
	uint64_t manifest_gets;
	uint64_t blob_gets;
	uint64_t blob_bytes;   /* blob body bytes received */
	uint64_t blob_puts;
	uint64_t bytes_sent;
};
void reg_get_stats(struct reg_stats *out, const struct reg *r);

/* 1 when repo (a repository name: lowercase path components, no "..",
 * no leading or trailing '/', at most 255 bytes) or tag (the OCI tag
 * grammar, at most 128 bytes) may go into a URL, a message or the
 * catalog; 0 otherwise. */
int reg_repo_valid(const char *repo);
int reg_tag_valid(const char *tag);

#endif
