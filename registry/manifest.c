/* manifest.c - parse OCI / Docker schema 2 manifests and indexes. Pure
 * functions of their input. */
#include "registry/manifest.h"
#include "registry/internal.h"
#include "util/err.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1_SIGNED                                                    \
	"application/vnd.docker.distribution.manifest.v1+prettyjws"
#define REFS_MAX 100000 /* descriptors in one manifest */

#define SCHEMA1_HINT                                                           \
	"Docker schema 1 manifests are not supported; convert the image to "   \
	"schema 2 / OCI first (e.g. pull and re-push it with a current "       \
	"client, or skopeo copy --format v2s2)"

void reg_media_type_copy(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	if (!cap)
		return;
	if (s) {
		s += strspn(s, " \t");
		for (; *s && *s != ';' && *s != ' ' && *s != '\t'; s++) {
			if (n + 1 >= cap)
				break;
			out[n++] = (char)tolower((unsigned char)*s);
		}
	}
	out[n] = '\0';
}

static int is_schema1_type(const char *mt)
{
	return !strcmp(mt, MT_DOCKER_V1) || !strcmp(mt, MT_DOCKER_V1_SIGNED);
}

static int is_index_type(const char *mt)
{
	return !strcmp(mt, REG_MT_OCI_INDEX) || !strcmp(mt, REG_MT_DOCKER_LIST);
}

static int is_image_type(const char *mt)
{
	return !strcmp(mt, REG_MT_OCI_MANIFEST) ||
	       !strcmp(mt, REG_MT_DOCKER_V2);
}

int reg_is_manifest_type(const char *media_type)
{
	char mt[REG_MEDIA_MAX];

	if (!media_type)
		return 0;
	reg_media_type_copy(mt, sizeof(mt), media_type);
	return is_index_type(mt) || is_image_type(mt);
}

int reg_schema1_check(char *body_mt, size_t cap, const void *body, size_t len,
		      const char *content_type, const char *what)
{
	char mt[REG_MEDIA_MAX];
	json_t *root = NULL;
	json_t *v;
	int schema1 = 0;

	if (cap)
		body_mt[0] = '\0';
	reg_media_type_copy(mt, sizeof(mt), content_type);
	if (is_schema1_type(mt))
		schema1 = 1;
	if (body && len) {
		root = json_loadb(body, len, 0, NULL);
		if (json_is_object(root)) {
			v = json_object_get(root, "schemaVersion");
			if (json_is_integer(v) && json_integer_value(v) == 1)
				schema1 = 1;
			v = json_object_get(root, "mediaType");
			if (json_is_string(v)) {
				reg_media_type_copy(body_mt, cap,
						    json_string_value(v));
				if (is_schema1_type(body_mt))
					schema1 = 1;
			}
		}
		json_decref(root);
	}
	if (!schema1)
		return 0;
	return rv_err_set(RV_REFUSED, "%s: " SCHEMA1_HINT, what);
}

/* Copy a string member of len < cap; absent -> "" when optional. */
static int get_str(char *out, size_t cap, json_t *obj, const char *key,
		   int required, const char *ctx)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	out[0] = '\0';
	if (!v) {
		if (!required)
			return 0;
		return rv_err_set(RV_CORRUPT, "manifest %s has no \"%s\"", ctx,
				  key);
	}
	if (!json_is_string(v))
		return rv_err_set(RV_CORRUPT,
				  "manifest %s: \"%s\" is not a string", ctx,
				  key);
	s = json_string_value(v);
	if (json_string_length(v) >= cap || strlen(s) != json_string_length(v))
		return rv_err_set(
		    RV_CORRUPT, "manifest %s: \"%s\" is too long or holds NUL",
		    ctx, key);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return rv_err_set(RV_CORRUPT,
					  "manifest %s: \"%s\" holds control "
					  "characters",
					  ctx, key);
	memcpy(out, s, json_string_length(v) + 1);
	return 0;
}

static int is_foreign_type(const char *mt)
{
	return strstr(mt, ".foreign.") || strstr(mt, "nondistributable");
}

static int parse_platform(struct reg_ref *ref, json_t *plat, const char *ctx)
{
	char os[32], arch[32], variant[32];
	int n, rc;

	if (!plat)
		return 0;
	if (!json_is_object(plat))
		return rv_err_set(RV_CORRUPT,
				  "manifest %s: \"platform\" is not an object",
				  ctx);
	rc = get_str(os, sizeof(os), plat, "os", 1, ctx);
	if (!rc)
		rc = get_str(arch, sizeof(arch), plat, "architecture", 1, ctx);
	if (!rc)
		rc = get_str(variant, sizeof(variant), plat, "variant", 0, ctx);
	if (rc)
		return rc;
	if (strchr(os, '/') || strchr(arch, '/') || strchr(variant, '/'))
		return rv_err_set(RV_CORRUPT,
				  "manifest %s: platform field holds '/'", ctx);
	if (variant[0])
		n = snprintf(ref->platform, sizeof(ref->platform), "%s/%s/%s",
			     os, arch, variant);
	else
		n = snprintf(ref->platform, sizeof(ref->platform), "%s/%s", os,
			     arch);
	if (n < 0 || (size_t)n >= sizeof(ref->platform))
		return rv_err_set(RV_CORRUPT, "manifest %s: platform too long",
				  ctx);
	return 0;
}

static int parse_desc(struct reg_ref *ref, json_t *obj, int with_platform,
		      const char *ctx)
{
	json_t *v;
	int rc;

	memset(ref, 0, sizeof(*ref));
	if (!json_is_object(obj))
		return rv_err_set(
		    RV_CORRUPT, "manifest %s is not a descriptor object", ctx);
	rc = get_str(ref->media_type, sizeof(ref->media_type), obj, "mediaType",
		     0, ctx);
	if (!rc)
		rc = get_str(ref->digest, sizeof(ref->digest), obj, "digest", 1,
			     ctx);
	if (rc)
		return rc;
	if (!rv_digest_valid(ref->digest))
		return rv_err_set(RV_CORRUPT,
				  "manifest %s: bad digest '%.80s' (only "
				  "sha256:<64 lowercase hex> is supported)",
				  ctx, ref->digest);
	v = json_object_get(obj, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return rv_err_set(RV_CORRUPT,
				  "manifest %s: \"size\" of %s is missing or "
				  "negative",
				  ctx, ref->digest);
	ref->size = (int64_t)json_integer_value(v);
	v = json_object_get(obj, "urls");
	if (v && !json_is_array(v))
		return rv_err_set(RV_CORRUPT,
				  "manifest %s: \"urls\" is not an array", ctx);
	if ((v && json_array_size(v) > 0) || is_foreign_type(ref->media_type))
		ref->nondistributable = 1;
	if (with_platform)
		return parse_platform(ref, json_object_get(obj, "platform"),
				      ctx);
	return 0;
}

static int parse_list(struct reg_ref **out, size_t *n, json_t *arr,
		      int with_platform, const char *ctx)
{
	size_t count = json_array_size(arr);
	struct reg_ref *refs;
	int rc;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return rv_err_set(RV_CORRUPT, "manifest %s is not an array",
				  ctx);
	if (count > REFS_MAX)
		return rv_err_set(RV_CORRUPT,
				  "manifest %s lists %zu entries (at most %d)",
				  ctx, count, REFS_MAX);
	if (!count)
		return 0;
	refs = calloc(count, sizeof(*refs));
	if (!refs)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		rc = parse_desc(&refs[i], json_array_get(arr, i), with_platform,
				ctx);
		if (rc) {
			free(refs);
			return rc;
		}
	}
	*out = refs;
	*n = count;
	return 0;
}

int reg_manifest_parse(struct reg_manifest **out, const void *body, size_t len,
		       const char *content_type)
{
	struct reg_manifest *m = NULL;
	json_t *root = NULL;
	json_t *v, *manifests, *layers, *config;
	json_error_t jerr;
	char body_mt[REG_MEDIA_MAX] = "";
	char ct[REG_MEDIA_MAX];
	int rv;

	*out = NULL;
	reg_media_type_copy(ct, sizeof(ct), content_type);
	if (is_schema1_type(ct))
		return rv_err_set(RV_REFUSED, "manifest: " SCHEMA1_HINT);
	if (!body)
		return rv_err_set(RV_CORRUPT, "manifest is empty");
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rv = rv_err_set(RV_CORRUPT,
				"manifest is not valid JSON (line %d: %.100s)",
				jerr.line, jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		rv = rv_err_set(RV_CORRUPT, "manifest is not a JSON object");
		goto done;
	}
	v = json_object_get(root, "schemaVersion");
	if (json_is_integer(v) && json_integer_value(v) == 1) {
		rv = rv_err_set(RV_REFUSED, "manifest: " SCHEMA1_HINT);
		goto done;
	}
	if (v && (!json_is_integer(v) || json_integer_value(v) != 2)) {
		rv = rv_err_set(RV_CORRUPT,
				"manifest has an unknown schemaVersion");
		goto done;
	}
	rv = get_str(body_mt, sizeof(body_mt), root, "mediaType", 0,
		     "mediaType");
	if (rv)
		goto done;
	if (is_schema1_type(body_mt)) {
		rv = rv_err_set(RV_REFUSED, "manifest: " SCHEMA1_HINT);
		goto done;
	}

	m = calloc(1, sizeof(*m));
	if (!m) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	manifests = json_object_get(root, "manifests");
	layers = json_object_get(root, "layers");
	config = json_object_get(root, "config");
	/* the body's mediaType wins, then the Content-Type, then the shape */
	if (body_mt[0]) {
		memcpy(m->media_type, body_mt, sizeof(body_mt));
	} else if (is_index_type(ct) || is_image_type(ct)) {
		memcpy(m->media_type, ct, sizeof(ct));
	} else if (manifests && !layers) {
		memcpy(m->media_type, REG_MT_OCI_INDEX,
		       sizeof(REG_MT_OCI_INDEX));
	} else if (layers && !manifests) {
		memcpy(m->media_type, REG_MT_OCI_MANIFEST,
		       sizeof(REG_MT_OCI_MANIFEST));
	} else {
		rv = rv_err_set(RV_CORRUPT,
				"manifest has no mediaType and neither "
				"\"manifests\" nor \"layers\"");
		goto done;
	}
	if (is_index_type(m->media_type) ||
	    (!is_image_type(m->media_type) && manifests && !layers)) {
		m->kind = REG_KIND_INDEX;
		rv = parse_list(&m->manifests, &m->n_manifests, manifests, 1,
				"index \"manifests\"");
	} else if (is_image_type(m->media_type) ||
		   (layers && config && !manifests)) {
		m->kind = REG_KIND_IMAGE;
		if (!config) {
			rv = rv_err_set(RV_CORRUPT, "image manifest has no "
						    "\"config\"");
			goto done;
		}
		rv = parse_desc(&m->config, config, 0, "\"config\"");
		if (!rv)
			rv = parse_list(&m->layers, &m->n_layers, layers, 0,
					"\"layers\"");
	} else {
		rv = rv_err_set(RV_UNSUPPORTED,
				"unsupported manifest media type '%s'",
				m->media_type);
	}
	if (rv)
		goto done;
	v = json_object_get(root, "subject");
	if (v) {
		rv = parse_desc(&m->subject, v, 0, "\"subject\"");
		if (rv)
			goto done;
		m->has_subject = 1;
	}
	*out = m;
	m = NULL;
	rv = 0;
done:
	reg_manifest_free(m);
	json_decref(root);
	return rv;
}

void reg_manifest_free(struct reg_manifest *m)
{
	if (!m)
		return;
	free(m->layers);
	free(m->manifests);
	free(m);
}
