/* target_s3.h - a target in an S3-compatible bucket (AWS S3, Ceph RGW,
 * MinIO, ...), over libcurl with AWS Signature V4.
 *
 * Names map to keys "<prefix><name>". An S3 PUT is atomic by nature
 * (readers see the old object or the new one), and so is a multipart
 * upload (the object appears at completion), so no temporary keys are
 * used. Every request carries x-amz-content-sha256: the real sha256 of
 * in-memory bodies and XML; for files streamed from disk, the real hash
 * (one extra read of the file, from the page cache) over plain http and
 * whenever object lock needs Content-MD5 anyway, UNSIGNED-PAYLOAD over
 * https otherwise (TLS protects the bytes in transit).
 *
 * Idempotent requests (GET, HEAD, PUT of an object or of one part,
 * DELETE, list pages, completion) are tried up to 4 times, after about
 * 0.2 s, 0.8 s and 3.2 s (+-50 % jitter), on connection errors, timeouts,
 * 5xx, 429 and S3's SlowDown/RequestTimeout. Starting a multipart upload
 * is retried only when the server refused it (503/429) or no connection
 * was made. A failed multipart upload is aborted.
 *
 * Errors name the target, the object and S3's Code and Message:
 * 403 -> RV_AUTH; NoSuchBucket -> RV_NOTFOUND ("bucket ... does not
 * exist"); a missing object -> RV_NOTFOUND; 507, EntityTooLarge,
 * QuotaExceeded -> RV_NOSPC; other 4xx -> RV_IO; transport errors and
 * 5xx after the retries -> RV_NET; a short object -> RV_CORRUPT; bad
 * answers (XML, Content-Range) -> RV_CORRUPT or RV_NET. The secret key is
 * never put in a message or log line.
 *
 * Deleting: without object_lock_days a plain DELETE (on a versioned
 * bucket that only adds a delete marker). With object_lock_days the
 * bucket is versioned, so del lists every version and delete marker of
 * exactly that key (ListObjectVersions, paged) and deletes each by
 * versionId. A version that Object Lock keeps (403 AccessDenied) is left
 * as it is while the others go; del then gives RV_LOCKED, naming the
 * retain-until date read with a HEAD of that version (the latest date
 * when several are kept), or the legal hold. Absent is not an error.
 *
 * A target holds one libcurl handle (kept alive between requests): use
 * it from one thread at a time; open one target per thread otherwise.
 *
 * Virtual-host style (path_style = 0) addresses "BUCKET.HOST"; it needs a
 * host name, not an IP literal, and a bucket name that is a DNS label
 * set. Names "*.localhost" are resolved to loopback by libcurl itself, so
 * a local server with `rgw dns name = localhost` is reachable as
 * http://localhost:PORT in virtual-host style without /etc/hosts.
 */
#ifndef STORE_TARGET_S3_H
#define STORE_TARGET_S3_H

#include <stdint.h>

struct target;

struct target_s3_config {
	const char *name;     /* target name, for messages */
	const char *endpoint; /* "https://s3.eu-central-1.amazonaws.com" or
				 "http://127.0.0.1:8480" */
	const char *bucket;
	const char *prefix; /* "" or e.g. "regvault/" (a trailing '/' is added
			       when missing) */
	const char *region; /* "us-east-1" default when NULL */
	int path_style;	    /* 1: endpoint/bucket/key; 0: bucket.host/key */
	const char *access_key_id; /* secrets, already read by the caller;
				      never logged */
	const char *secret_access_key;
	int object_lock_days; /* 0: none; else COMPLIANCE retention of N days
				 on every put (1 to 36500) */
	const char *ca_file;  /* optional */
	int insecure;
	uint64_t part_size; /* multipart above this size; 0 = 64 MiB; min 5
			       MiB, max 5 GiB */
};

/* Open an s3 target. Copies everything it needs from cfg (the caller may
 * wipe its secrets afterwards). Makes no request: a missing bucket or
 * wrong credentials show on first use. RV_INVALID (message names the
 * setting) for a bad endpoint, bucket, prefix, region, part size or lock
 * period, or missing keys; RV_NOMEM. Free with target_free(). */
int target_s3_open(struct target **out, const struct target_s3_config *cfg);

/* Tests only: list pages of page_keys keys (1 to 1000; default 1000)
 * and a first retry delay of retry_ms milliseconds (default 200; 0
 * leaves it). t must come from target_s3_open. */
void target_s3_set_test_knobs(struct target *t, unsigned page_keys,
			      unsigned retry_ms);

#endif
