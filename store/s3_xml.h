/* s3_xml.h - the S3 wire format without the network: the XML bodies S3
 * answers with (ListObjectsV2 and ListObjectVersions pages, errors,
 * multipart uploads), and the URLs and query strings we sign (libcurl
 * 7.88 signs them exactly as written, so they must already be canonical).
 *
 * The XML reader is hand-written and bounded: a body larger than
 * S3_XML_MAX, nesting deeper than 16, a text node longer than its cap, an
 * unknown entity, a missing or mismatched end tag, or a second root all
 * give RV_CORRUPT with a message. Nothing here logs or does I/O.
 */
#ifndef STORE_S3_XML_H
#define STORE_S3_XML_H

#include <stddef.h>
#include <stdint.h>

struct rv_buf;
struct rv_strlist;

#define S3_XML_MAX (1u << 20)  /* any XML body we accept */
#define S3_KEY_MAX 1024	       /* S3's own limit on a key */
#define S3_PAGE_KEYS_MAX 10000 /* keys in one ListObjectsV2 page */
#define S3_TOKEN_MAX 4096      /* continuation tokens, upload ids */
#define S3_ERR_CODE_MAX 64     /* <Code> kept (longer is cut) */
#define S3_ERR_MSG_MAX 256     /* <Message> kept (longer is cut) */

/* One ListObjectsV2 page. keys hold the full object keys, decoded. */
struct s3_list_page {
	struct rv_strlist *keys; /* appended to; owned by the caller */
	int truncated;		 /* <IsTruncated>true */
	char *next_token;	 /* <NextContinuationToken> or NULL; owned */
};

/* Parse a ListObjectsV2 result into page (keys appended to page->keys,
 * next_token set when present). RV_CORRUPT on malformed XML, a root other
 * than ListBucketResult, a key longer than S3_KEY_MAX or empty, more than
 * S3_PAGE_KEYS_MAX keys, or IsTruncated true without a token. RV_NOMEM. */
int s3_xml_parse_list(struct s3_list_page *page, const char *xml, size_t len);

#define S3_VERSION_ID_MAX 1024 /* a VersionId we accept */

/* One ListObjectVersions page (GET ?versions). Each <Version> and each
 * <DeleteMarker> appends its Key to keys and its VersionId to
 * version_ids, in document order, so the two lists stay in step. */
struct s3_versions_page {
	struct rv_strlist *keys;	/* appended to; owned by the caller */
	struct rv_strlist *version_ids; /* appended to; owned by the caller */
	int truncated;			/* <IsTruncated>true */
	char *next_key_marker;		/* <NextKeyMarker> or NULL; owned */
	char *next_version_id_marker;	/* <NextVersionIdMarker> or NULL;
					   owned */
};

/* Parse a ListVersionsResult into page. RV_CORRUPT on malformed XML, a
 * root other than ListVersionsResult, an entry without Key or VersionId,
 * a key empty or longer than S3_KEY_MAX, a version id empty or longer
 * than S3_VERSION_ID_MAX, more than S3_PAGE_KEYS_MAX entries, or
 * IsTruncated true without NextKeyMarker (NextVersionIdMarker may be
 * absent). On failure nothing is left appended and the markers are NULL.
 * RV_NOMEM. */
int s3_xml_parse_versions(struct s3_versions_page *page, const char *xml,
			  size_t len);

/* An S3 error body: <Error><Code>..</Code><Message>..</Message>.. */
struct s3_error {
	char code[S3_ERR_CODE_MAX];   /* "" when absent */
	char message[S3_ERR_MSG_MAX]; /* "" when absent; cut at a char */
	char request_id[S3_ERR_CODE_MAX];
};

/* Parse an error body. Returns 0 with err filled when the root is
 * <Error>; RV_CORRUPT (message set) when it is not XML or not an error;
 * err is always initialised, so a caller may ignore the return. */
int s3_xml_parse_error(struct s3_error *err, const char *xml, size_t len);

/* The UploadId of an InitiateMultipartUploadResult, malloc'd into *out.
 * RV_CORRUPT when malformed, missing, empty or longer than S3_TOKEN_MAX. */
int s3_xml_parse_initiate(char **out, const char *xml, size_t len);

/* A CompleteMultipartUpload answer arrives with 200 even when it failed:
 * 0 when the root is CompleteMultipartUploadResult; 1 with err filled
 * when the root is Error; RV_CORRUPT otherwise. */
int s3_xml_parse_complete(struct s3_error *err, const char *xml, size_t len);

/* Append s with & < > " ' escaped for XML text. */
int s3_xml_escape(struct rv_buf *out, const char *s);

/* Append s percent-encoded as SigV4 wants: every byte but A-Z a-z 0-9
 * - . _ ~ becomes %XX (uppercase); '/' is kept when keep_slash is 1 (an
 * object key in a path) and encoded when 0 (a query value). */
int s3_uri_encode(struct rv_buf *out, const char *s, int keep_slash);

/* Parts of an endpoint "http[s]://host[:port][/]". */
struct s3_endpoint {
	char scheme[8];	    /* "http" or "https" */
	char host[256];	    /* without brackets for IPv6 */
	char hostport[264]; /* host as written plus ":port" when given */
	int is_ip;	    /* an IPv4/IPv6 literal: no virtual-host style */
};

/* Parse and check an endpoint. RV_INVALID (message names what) when it is
 * not http/https, has a user, a path other than "/", a query, or a host
 * that is empty or too long. */
int s3_endpoint_parse(struct s3_endpoint *ep, const char *endpoint);

/* Append the URL of key (already including the target's prefix; NULL or
 * "" for the bucket itself) with query (canonical, from s3_query_*; NULL
 * for none) to out: path style "SCHEME://HOSTPORT/BUCKET/KEY", virtual
 * host style "SCHEME://BUCKET.HOSTPORT/KEY". The key is percent-encoded. */
int s3_url(struct rv_buf *out, const struct s3_endpoint *ep, const char *bucket,
	   int path_style, const char *key, const char *query);

/* A canonical query string: pairs sorted by name (byte order), names and
 * values fully percent-encoded, "name=" for an empty value, joined by
 * '&'. n pairs in names[]/values[] (a NULL value is ""). Appended to
 * out. RV_INVALID for a duplicate name. */
int s3_query(struct rv_buf *out, const char *const *names,
	     const char *const *values, size_t n);

/* 1 when bucket is a name we can address: 3-63 of [a-z0-9.-] starting
 * and ending with a letter or digit (virtual host style), or also
 * A-Z and '_' for path style. */
int s3_bucket_valid(const char *bucket, int path_style);

/* Format t (seconds since the epoch) as RFC 3339 UTC
 * "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void s3_time_rfc3339(char out[32], int64_t t);

#endif
