/* s3_xml.c - S3 XML bodies in, canonical URLs and query strings out.
 *
 * The XML reader handles the subset S3 servers send: a prolog, comments,
 * elements with attributes (xmlns), text with the five named entities and
 * character references, CDATA. DOCTYPE is refused (no entity expansion).
 * It walks the document once and calls back at each end tag with the
 * element's path ("ListBucketResult/Contents/Key") and its own text.
 */
#include "store/s3_xml.h"

#include "util/buf.h"
#include "util/err.h"
#include "util/strlist.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define XML_DEPTH_MAX 16
#define XML_NAME_MAX 64
#define XML_TEXT_MAX 8192

struct xml_node {
	const char *path; /* "Root/Child/Leaf" */
	int depth;	  /* 1 for the root */
	const char *text; /* the element's text, decoded, NUL-terminated */
	size_t len;	  /* bytes in text (at most XML_TEXT_MAX) */
	size_t full_len;  /* the text's real length (> len when cut) */
};

typedef int (*xml_cb)(void *ctx, const struct xml_node *node);

struct xml {
	const char *start, *p, *end;
	int depth, root_done;
	size_t path_len[XML_DEPTH_MAX + 1]; /* path length at each depth */
	char path[XML_DEPTH_MAX * (XML_NAME_MAX + 1) + 1];
	char text[XML_TEXT_MAX + 1];
	size_t text_len, text_full;
};

static int xml_bad(const struct xml *x, const char *what)
{
	return rv_err_set(RV_CORRUPT,
			  "malformed XML from the s3 server (%s at byte %zu)",
			  what, (size_t)(x->p - x->start));
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       c == ':' || c >= 0x80;
}

static int is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.';
}

static int starts(const struct xml *x, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(x->end - x->p) >= n && !memcmp(x->p, s, n);
}

/* Move past the next occurrence of s; RV_CORRUPT when there is none. */
static int skip_past(struct xml *x, const char *s, const char *what)
{
	size_t n = strlen(s);
	for (const char *q = x->p; (size_t)(x->end - q) >= n; q++) {
		if (!memcmp(q, s, n)) {
			x->p = q + n;
			return 0;
		}
	}
	x->p = x->end;
	return xml_bad(x, what);
}

static void skip_space(struct xml *x)
{
	while (x->p < x->end && is_space(*x->p))
		x->p++;
}

/* Read a name at x->p into name (XML_NAME_MAX+1 bytes). */
static int read_name(struct xml *x, char *name)
{
	size_t n = 0;

	if (x->p >= x->end || !is_name_start((unsigned char)*x->p))
		return xml_bad(x, "a tag without a name");
	while (x->p < x->end && is_name_char((unsigned char)*x->p)) {
		if (n >= XML_NAME_MAX)
			return xml_bad(x, "a tag name too long");
		name[n++] = *x->p++;
	}
	name[n] = '\0';
	return 0;
}

static void text_add(struct xml *x, const char *s, size_t n)
{
	size_t room = XML_TEXT_MAX - x->text_len;
	size_t k = n < room ? n : room;

	memcpy(x->text + x->text_len, s, k);
	x->text_len += k;
	x->text_full += n;
}

static int char_ok(unsigned long c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

static void text_add_utf8(struct xml *x, unsigned long c)
{
	char u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	text_add(x, u, n);
}

/* Decode one entity at x->p ('&'). */
static int read_entity(struct xml *x)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp;", '&'},
		     {"lt;", '<'},
		     {"gt;", '>'},
		     {"quot;", '"'},
		     {"apos;", '\''}};
	unsigned long c = 0;
	int digits = 0, hex = 0;

	x->p++;
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (starts(x, named[i].name)) {
			x->p += strlen(named[i].name);
			text_add(x, &named[i].c, 1);
			return 0;
		}
	}
	if (x->p >= x->end || *x->p != '#')
		return xml_bad(x, "an unknown entity");
	x->p++;
	if (x->p < x->end && *x->p == 'x') {
		hex = 1;
		x->p++;
	}
	for (; x->p < x->end && *x->p != ';'; x->p++) {
		char d = *x->p;
		unsigned v;
		if (d >= '0' && d <= '9')
			v = (unsigned)(d - '0');
		else if (hex && d >= 'a' && d <= 'f')
			v = (unsigned)(d - 'a' + 10);
		else if (hex && d >= 'A' && d <= 'F')
			v = (unsigned)(d - 'A' + 10);
		else
			return xml_bad(x, "a bad character reference");
		if (++digits > 8)
			return xml_bad(x, "a bad character reference");
		c = c * (hex ? 16 : 10) + v;
	}
	if (x->p >= x->end || !digits || !char_ok(c))
		return xml_bad(x, "a bad character reference");
	x->p++;
	text_add_utf8(x, c);
	return 0;
}

static int open_tag(struct xml *x)
{
	char name[XML_NAME_MAX + 1];
	size_t plen;
	int rc;

	x->p++; /* '<' */
	if (x->root_done)
		return xml_bad(x, "a second root element");
	if (x->depth >= XML_DEPTH_MAX)
		return xml_bad(x, "elements nested too deep");
	rc = read_name(x, name);
	if (rc)
		return rc;
	plen = x->path_len[x->depth];
	if (x->depth)
		x->path[plen++] = '/';
	memcpy(x->path + plen, name, strlen(name) + 1);
	x->depth++;
	x->path_len[x->depth] = plen + strlen(name);
	x->text_len = x->text_full = 0;
	/* attributes: name = "value" | 'value'; values are skipped */
	for (;;) {
		char attr[XML_NAME_MAX + 1], q;
		skip_space(x);
		if (x->p >= x->end)
			return xml_bad(x, "an unterminated tag");
		if (*x->p == '>') {
			x->p++;
			return 0;
		}
		if (*x->p == '/') {
			if (x->p + 1 >= x->end || x->p[1] != '>')
				return xml_bad(x, "a bad empty tag");
			x->p += 2;
			return 1; /* empty element: the caller closes it */
		}
		rc = read_name(x, attr);
		if (rc)
			return rc;
		skip_space(x);
		if (x->p >= x->end || *x->p != '=')
			return xml_bad(x, "an attribute without a value");
		x->p++;
		skip_space(x);
		if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
			return xml_bad(x, "an unquoted attribute");
		q = *x->p++;
		while (x->p < x->end && *x->p != q) {
			if (*x->p == '<')
				return xml_bad(x, "'<' in an attribute");
			x->p++;
		}
		if (x->p >= x->end)
			return xml_bad(x, "an unterminated attribute");
		x->p++;
	}
}

/* Close the innermost element: call back, then pop. */
static int close_elem(struct xml *x, xml_cb cb, void *ctx)
{
	struct xml_node node;
	int rc;

	x->path[x->path_len[x->depth]] = '\0';
	x->text[x->text_len] = '\0';
	node.path = x->path;
	node.depth = x->depth;
	node.text = x->text;
	node.len = x->text_len;
	node.full_len = x->text_full;
	rc = cb(ctx, &node);
	if (rc)
		return rc;
	x->depth--;
	x->text_len = x->text_full = 0;
	if (x->depth == 0)
		x->root_done = 1;
	return 0;
}

static int end_tag(struct xml *x, xml_cb cb, void *ctx)
{
	char name[XML_NAME_MAX + 1];
	const char *top;
	int rc;

	x->p += 2; /* "</" */
	if (x->depth == 0)
		return xml_bad(x, "an end tag without a start tag");
	rc = read_name(x, name);
	if (rc)
		return rc;
	skip_space(x);
	if (x->p >= x->end || *x->p != '>')
		return xml_bad(x, "an unterminated end tag");
	x->p++;
	top = x->path + x->path_len[x->depth - 1] + (x->depth > 1 ? 1 : 0);
	if (strlen(name) != x->path_len[x->depth] - (size_t)(top - x->path) ||
	    memcmp(top, name, strlen(name)))
		return xml_bad(x, "a mismatched end tag");
	return close_elem(x, cb, ctx);
}

static int xml_walk(const char *doc, size_t len, xml_cb cb, void *ctx)
{
	struct xml *x;
	int rc = 0;

	if (len > S3_XML_MAX)
		return rv_err_set(RV_CORRUPT,
				  "malformed XML from the s3 server (%zu "
				  "bytes, more than %u)",
				  len, S3_XML_MAX);
	x = calloc(1, sizeof(*x));
	if (!x)
		return rv_err_set(RV_NOMEM, "out of memory");
	x->start = x->p = doc;
	x->end = doc + len;
	/* a UTF-8 byte order mark */
	if (len >= 3 && !memcmp(doc, "\xef\xbb\xbf", 3))
		x->p += 3;
	while (x->p < x->end && !rc) {
		char c = *x->p;
		if (c == '<') {
			if (starts(x, "<?")) {
				rc = skip_past(x, "?>", "an unterminated '<?'");
			} else if (starts(x, "<!--")) {
				rc = skip_past(x, "-->",
					       "an unterminated comment");
			} else if (starts(x, "<![CDATA[")) {
				const char *s = x->p + 9;
				if (!x->depth) {
					rc = xml_bad(x, "CDATA outside the "
							"root");
					break;
				}
				x->p = s;
				rc = skip_past(x, "]]>",
					       "an unterminated CDATA");
				if (!rc)
					text_add(x, s, (size_t)(x->p - 3 - s));
			} else if (starts(x, "<!")) {
				rc = xml_bad(x, "a DOCTYPE or declaration");
			} else if (starts(x, "</")) {
				rc = end_tag(x, cb, ctx);
			} else {
				rc = open_tag(x);
				if (rc == 1)
					rc = close_elem(x, cb, ctx);
			}
		} else if (!x->depth) {
			if (!is_space(c))
				rc = xml_bad(x, "text outside the root");
			x->p++;
		} else if (c == '&') {
			rc = read_entity(x);
		} else if ((unsigned char)c < 0x20 && !is_space(c)) {
			rc = xml_bad(x, "a control character");
		} else {
			const char *s = x->p;
			while (
			    x->p < x->end && *x->p != '<' && *x->p != '&' &&
			    ((unsigned char)*x->p >= 0x20 || is_space(*x->p)))
				x->p++;
			text_add(x, s, (size_t)(x->p - s));
		}
	}
	if (!rc && (x->depth || !x->root_done))
		rc = xml_bad(x, x->root_done ? "a missing end tag"
					     : "no root element");
	free(x);
	return rc;
}

/* ---- ListObjectsV2 ---------------------------------------------------*/

struct list_ctx {
	struct s3_list_page *page;
	size_t added;
	int root_ok, truncated_seen;
};

static int list_cb(void *arg, const struct xml_node *n)
{
	struct list_ctx *c = arg;
	struct s3_list_page *page = c->page;

	if (n->depth == 1) {
		c->root_ok = !strcmp(n->path, "ListBucketResult");
		return 0;
	}
	if (strncmp(n->path, "ListBucketResult/", 17))
		return 0;
	if (!strcmp(n->path, "ListBucketResult/Contents/Key")) {
		if (n->full_len == 0 || n->full_len > S3_KEY_MAX)
			return rv_err_set(RV_CORRUPT,
					  "s3 listing has a key of %zu bytes "
					  "(want 1 to %d)",
					  n->full_len, S3_KEY_MAX);
		if (strlen(n->text) != n->len)
			return rv_err_set(RV_CORRUPT,
					  "s3 listing has a key with a NUL");
		if (c->added >= S3_PAGE_KEYS_MAX)
			return rv_err_set(RV_CORRUPT,
					  "s3 listing page has more than %d "
					  "keys",
					  S3_PAGE_KEYS_MAX);
		if (rv_strlist_add(page->keys, n->text))
			return RV_NOMEM;
		c->added++;
	} else if (!strcmp(n->path, "ListBucketResult/IsTruncated")) {
		if (!strcmp(n->text, "true"))
			page->truncated = 1;
		else if (!strcmp(n->text, "false"))
			page->truncated = 0;
		else
			return rv_err_set(RV_CORRUPT,
					  "s3 listing has IsTruncated '%.20s'",
					  n->text);
		c->truncated_seen = 1;
	} else if (!strcmp(n->path, "ListBucketResult/NextContinuationToken")) {
		if (n->full_len == 0 || n->full_len > S3_TOKEN_MAX)
			return rv_err_set(RV_CORRUPT,
					  "s3 listing has a continuation "
					  "token of %zu bytes",
					  n->full_len);
		if (strlen(n->text) != n->len) /* a NUL from CDATA */
			return rv_err_set(RV_CORRUPT,
					  "s3 listing has a continuation "
					  "token with a NUL");
		free(page->next_token);
		page->next_token = strdup(n->text);
		if (!page->next_token)
			return rv_err_set(RV_NOMEM, "out of memory");
	}
	return 0;
}

int s3_xml_parse_list(struct s3_list_page *page, const char *xml, size_t len)
{
	struct list_ctx c = {page, 0, 0, 0};
	size_t before = page->keys->n;
	int rc;

	page->truncated = 0;
	page->next_token = NULL;
	rc = xml_walk(xml, len, list_cb, &c);
	if (!rc && !c.root_ok)
		rc = rv_err_set(RV_CORRUPT,
				"s3 listing is not a ListBucketResult");
	if (!rc && page->truncated && !page->next_token)
		rc = rv_err_set(RV_CORRUPT, "s3 listing is truncated but has "
					    "no NextContinuationToken");
	if (rc) {
		while (page->keys->n > before)
			free(page->keys->items[--page->keys->n]);
		free(page->next_token);
		page->next_token = NULL;
		page->truncated = 0;
	}
	return rc;
}

/* ---- ListObjectVersions -----------------------------------------------*/

struct versions_ctx {
	struct s3_versions_page *page;
	char *key, *version_id; /* of the entry being read */
	size_t added;
	int root_ok;
};

/* Replace *slot with a copy of a text node of 1 to max bytes. */
static int text_dup(char **slot, const struct xml_node *n, size_t max,
		    const char *what)
{
	if (n->full_len == 0 || n->full_len > max)
		return rv_err_set(RV_CORRUPT,
				  "s3 version listing has a %s of %zu bytes "
				  "(want 1 to %zu)",
				  what, n->full_len, max);
	if (strlen(n->text) != n->len)
		return rv_err_set(
		    RV_CORRUPT, "s3 version listing has a %s with a NUL", what);
	free(*slot);
	*slot = strdup(n->text);
	return *slot ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

static int versions_cb(void *arg, const struct xml_node *n)
{
	struct versions_ctx *c = arg;
	struct s3_versions_page *page = c->page;
	const char *p = n->path;
	const char *entry;
	int rc;

	if (n->depth == 1) {
		c->root_ok = !strcmp(p, "ListVersionsResult");
		return 0;
	}
	if (strncmp(p, "ListVersionsResult/", 19))
		return 0;
	p += 19;
	if (!strcmp(p, "IsTruncated")) {
		if (!strcmp(n->text, "true"))
			page->truncated = 1;
		else if (!strcmp(n->text, "false"))
			page->truncated = 0;
		else
			return rv_err_set(RV_CORRUPT,
					  "s3 version listing has IsTruncated "
					  "'%.20s'",
					  n->text);
		return 0;
	}
	if (!strcmp(p, "NextKeyMarker"))
		return n->full_len ? text_dup(&page->next_key_marker, n,
					      S3_KEY_MAX, "NextKeyMarker")
				   : 0;
	if (!strcmp(p, "NextVersionIdMarker"))
		return n->full_len
			   ? text_dup(&page->next_version_id_marker, n,
				      S3_VERSION_ID_MAX, "NextVersionIdMarker")
			   : 0;
	if (!strncmp(p, "Version", 7) && (p[7] == '/' || !p[7]))
		entry = p + 7;
	else if (!strncmp(p, "DeleteMarker", 12) && (p[12] == '/' || !p[12]))
		entry = p + 12;
	else
		return 0;
	if (!strcmp(entry, "/Key"))
		return text_dup(&c->key, n, S3_KEY_MAX, "key");
	if (!strcmp(entry, "/VersionId"))
		return text_dup(&c->version_id, n, S3_VERSION_ID_MAX,
				"version id");
	if (*entry) /* another field of an entry */
		return 0;
	/* the end of one <Version> or <DeleteMarker> */
	if (!c->key || !c->version_id)
		return rv_err_set(RV_CORRUPT,
				  "s3 version listing has a %s without %s", p,
				  c->key ? "VersionId" : "Key");
	if (c->added >= S3_PAGE_KEYS_MAX)
		return rv_err_set(RV_CORRUPT,
				  "s3 version listing page has more than %d "
				  "entries",
				  S3_PAGE_KEYS_MAX);
	/* rv_strlist_take owns the string even when it fails */
	rc = rv_strlist_take(page->keys, c->key);
	c->key = NULL;
	if (rc)
		return rc;
	rc = rv_strlist_take(page->version_ids, c->version_id);
	c->version_id = NULL;
	if (rc) {
		free(page->keys->items[--page->keys->n]); /* keep in step */
		return rc;
	}
	c->added++;
	return 0;
}

int s3_xml_parse_versions(struct s3_versions_page *page, const char *xml,
			  size_t len)
{
	struct versions_ctx c = {page, NULL, NULL, 0, 0};
	size_t keys0 = page->keys->n, ids0 = page->version_ids->n;
	int rc;

	page->truncated = 0;
	page->next_key_marker = NULL;
	page->next_version_id_marker = NULL;
	rc = xml_walk(xml, len, versions_cb, &c);
	if (!rc && !c.root_ok)
		rc = rv_err_set(RV_CORRUPT, "s3 version listing is not a "
					    "ListVersionsResult");
	if (!rc && page->truncated && !page->next_key_marker)
		rc = rv_err_set(RV_CORRUPT, "s3 version listing is truncated "
					    "but has no NextKeyMarker");
	if (rc) {
		while (page->keys->n > keys0)
			free(page->keys->items[--page->keys->n]);
		while (page->version_ids->n > ids0)
			free(page->version_ids->items[--page->version_ids->n]);
		free(page->next_key_marker);
		free(page->next_version_id_marker);
		page->next_key_marker = NULL;
		page->next_version_id_marker = NULL;
		page->truncated = 0;
	}
	free(c.key);
	free(c.version_id);
	return rc;
}

/* ---- errors, multipart -----------------------------------------------*/

/* Copy text into a fixed field: cut at a UTF-8 boundary, control
 * characters turned into spaces so that messages stay on one line. */
static void field_copy(char *dst, size_t cap, const char *s, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	if (n < len)
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	dst[n] = '\0';
}

struct err_ctx {
	struct s3_error *err;
	char root[XML_NAME_MAX + 1];
};

static int err_cb(void *arg, const struct xml_node *n)
{
	struct err_ctx *c = arg;
	struct s3_error *e = c->err;

	if (n->depth == 1)
		field_copy(c->root, sizeof(c->root), n->path, strlen(n->path));
	else if (!strcmp(n->path, "Error/Code"))
		field_copy(e->code, sizeof(e->code), n->text, n->len);
	else if (!strcmp(n->path, "Error/Message"))
		field_copy(e->message, sizeof(e->message), n->text, n->len);
	else if (!strcmp(n->path, "Error/RequestId"))
		field_copy(e->request_id, sizeof(e->request_id), n->text,
			   n->len);
	return 0;
}

int s3_xml_parse_error(struct s3_error *err, const char *xml, size_t len)
{
	struct err_ctx c = {err, ""};
	int rc;

	memset(err, 0, sizeof(*err));
	rc = xml_walk(xml, len, err_cb, &c);
	if (!rc && strcmp(c.root, "Error"))
		rc = rv_err_set(RV_CORRUPT, "s3 answer is not an Error");
	if (rc)
		memset(err, 0, sizeof(*err));
	return rc;
}

int s3_xml_parse_complete(struct s3_error *err, const char *xml, size_t len)
{
	struct err_ctx c = {err, ""};
	int rc;

	memset(err, 0, sizeof(*err));
	rc = xml_walk(xml, len, err_cb, &c);
	if (rc)
		return rc;
	if (!strcmp(c.root, "CompleteMultipartUploadResult"))
		return 0;
	if (!strcmp(c.root, "Error"))
		return 1;
	return rv_err_set(RV_CORRUPT,
			  "s3 answer to a multipart completion is a '%s'",
			  c.root);
}

struct init_ctx {
	char **upload_id;
	int root_ok;
	int rc;
};

static int init_cb(void *arg, const struct xml_node *n)
{
	struct init_ctx *c = arg;

	if (n->depth == 1) {
		c->root_ok = !strcmp(n->path, "InitiateMultipartUploadResult");
	} else if (!strcmp(n->path, "InitiateMultipartUploadResult/UploadId")) {
		if (n->full_len == 0 || n->full_len > S3_TOKEN_MAX ||
		    strlen(n->text) != n->len)
			return rv_err_set(RV_CORRUPT,
					  "s3 gave an upload id of %zu bytes",
					  n->full_len);
		free(*c->upload_id);
		*c->upload_id = strdup(n->text);
		if (!*c->upload_id)
			return rv_err_set(RV_NOMEM, "out of memory");
	}
	return 0;
}

int s3_xml_parse_initiate(char **out, const char *xml, size_t len)
{
	struct init_ctx c = {out, 0, 0};
	int rc;

	*out = NULL;
	rc = xml_walk(xml, len, init_cb, &c);
	if (!rc && (!c.root_ok || !*out))
		rc = rv_err_set(RV_CORRUPT, "s3 answer to a multipart upload "
					    "start has no UploadId");
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int s3_xml_escape(struct rv_buf *out, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		switch (*s) {
		case '&':
			rc = rv_buf_puts(out, "&amp;");
			break;
		case '<':
			rc = rv_buf_puts(out, "&lt;");
			break;
		case '>':
			rc = rv_buf_puts(out, "&gt;");
			break;
		case '"':
			rc = rv_buf_puts(out, "&quot;");
			break;
		case '\'':
			rc = rv_buf_puts(out, "&apos;");
			break;
		default:
			rc = rv_buf_add(out, s, 1);
		}
	}
	return rc;
}

/* ---- URLs --------------------------------------------------------------*/

int s3_uri_encode(struct rv_buf *out, const char *s, int keep_slash)
{
	static const char hexd[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && keep_slash)) {
			rc = rv_buf_add(out, s, 1);
		} else {
			char e[3] = {'%', hexd[c >> 4], hexd[c & 15]};
			rc = rv_buf_add(out, e, 3);
		}
	}
	return rc;
}

static int ep_bad(const char *endpoint, const char *why)
{
	/* an endpoint with a user part may hold a password: never echo it */
	if (strchr(endpoint, '@'))
		return rv_err_set(RV_INVALID,
				  "bad s3 endpoint: %s (want "
				  "http[s]://host[:port]; credentials go in "
				  "access_key_id and secret_access_key)",
				  why);
	return rv_err_set(RV_INVALID,
			  "bad s3 endpoint '%.200s': %s (want "
			  "http[s]://host[:port])",
			  endpoint, why);
}

int s3_endpoint_parse(struct s3_endpoint *ep, const char *endpoint)
{
	const char *auth, *auth_end, *host, *host_end, *port = NULL;
	size_t hlen, alen;

	memset(ep, 0, sizeof(*ep));
	if (!endpoint || !*endpoint)
		return rv_err_set(RV_INVALID, "the s3 endpoint is empty");
	if (!strncasecmp(endpoint, "https://", 8)) {
		memcpy(ep->scheme, "https", 6);
		auth = endpoint + 8;
	} else if (!strncasecmp(endpoint, "http://", 7)) {
		memcpy(ep->scheme, "http", 5);
		auth = endpoint + 7;
	} else {
		return ep_bad(endpoint, "not http:// or https://");
	}
	auth_end = auth + strcspn(auth, "/?#");
	if (*auth_end && strcmp(auth_end, "/"))
		return ep_bad(endpoint, "it has a path or query");
	alen = (size_t)(auth_end - auth);
	if (memchr(auth, '@', alen))
		return ep_bad(endpoint, "it has a user part");
	if (alen == 0 || alen >= sizeof(ep->hostport))
		return ep_bad(endpoint, "the host is empty or too long");
	if (*auth == '[') {
		host = auth + 1;
		host_end = memchr(auth, ']', alen);
		if (!host_end)
			return ep_bad(endpoint, "an unclosed '['");
		if (host_end + 1 < auth_end) {
			if (host_end[1] != ':')
				return ep_bad(endpoint, "junk after ']'");
			port = host_end + 2;
		}
		ep->is_ip = 1;
	} else {
		host = auth;
		host_end = memchr(auth, ':', alen);
		if (host_end)
			port = host_end + 1;
		else
			host_end = auth_end;
	}
	hlen = (size_t)(host_end - host);
	if (hlen == 0 || hlen >= sizeof(ep->host))
		return ep_bad(endpoint, "the host is empty or too long");
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)host[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_' || (ep->is_ip && c == ':')))
			return ep_bad(endpoint, "the host has a bad character");
	}
	if (port) {
		unsigned long v = 0;
		if (port == auth_end)
			return ep_bad(endpoint, "an empty port");
		for (const char *q = port; q < auth_end; q++) {
			if (*q < '0' || *q > '9' || q - port > 5)
				return ep_bad(endpoint, "a bad port");
			v = v * 10 + (unsigned long)(*q - '0');
		}
		if (v == 0 || v > 65535)
			return ep_bad(endpoint, "a bad port");
	}
	memcpy(ep->host, host, hlen);
	memcpy(ep->hostport, auth, alen);
	if (!ep->is_ip) {
		int ipv4 = 1;
		for (size_t i = 0; i < hlen; i++)
			if (!(host[i] == '.' ||
			      (host[i] >= '0' && host[i] <= '9')))
				ipv4 = 0;
		ep->is_ip = ipv4;
	}
	return 0;
}

int s3_url(struct rv_buf *out, const struct s3_endpoint *ep, const char *bucket,
	   int path_style, const char *key, const char *query)
{
	int rc;

	if (path_style)
		rc = rv_buf_printf(out, "%s://%s/%s", ep->scheme, ep->hostport,
				   bucket);
	else
		rc = rv_buf_printf(out, "%s://%s.%s", ep->scheme, bucket,
				   ep->hostport);
	if (!rc)
		rc = rv_buf_puts(out, "/");
	if (!rc && key && *key)
		rc = s3_uri_encode(out, key, 1);
	if (!rc && query && *query)
		rc = rv_buf_printf(out, "?%s", query);
	return rc;
}

int s3_query(struct rv_buf *out, const char *const *names,
	     const char *const *values, size_t n)
{
	size_t order[16];
	int rc = 0;

	if (n > sizeof(order) / sizeof(order[0]))
		return rv_err_set(RV_INVALID, "too many query parameters");
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		while (j > 0 && strcmp(names[order[j - 1]], names[i]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		const char *v = values[order[i]] ? values[order[i]] : "";
		if (i && !strcmp(names[order[i]], names[order[i - 1]]))
			return rv_err_set(RV_INVALID,
					  "query parameter '%s' given twice",
					  names[order[i]]);
		if (i)
			rc = rv_buf_puts(out, "&");
		if (!rc)
			rc = s3_uri_encode(out, names[order[i]], 0);
		if (!rc)
			rc = rv_buf_puts(out, "=");
		if (!rc)
			rc = s3_uri_encode(out, v, 0);
	}
	return rc;
}

int s3_bucket_valid(const char *bucket, int path_style)
{
	size_t n = bucket ? strlen(bucket) : 0;

	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)bucket[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (path_style && ((c >= 'A' && c <= 'Z') || c == '_'))
			alnum = 1;
		if ((i == 0 || i == n - 1) && !alnum)
			return 0;
		if (!alnum && c != '.' && c != '-')
			return 0;
		if (c == '.' && bucket[i + 1] == '.')
			return 0;
	}
	return 1;
}

void s3_time_rfc3339(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		out[0] = '\0';
}
