/* fuzz_manifest.c - reg_manifest_parse (manifests and indexes from a
 * registry), reg_schema1_check and reg_is_manifest_type.
 *
 * Input: the first byte picks the Content-Type, the rest is the body.
 * Invariants: only the documented codes; on success every digest valid,
 * sizes >= 0, the kind matches the lists, no control characters in any
 * string; and the parsed manifest, written back as JSON, parses to the
 * same manifest (round trip). */
#include "fuzz_common.h"

#include "registry/internal.h"
#include "registry/manifest.h"
#include "util/digest.h"

#include <jansson.h>

FUZZ_QUIET_INIT()

static const char *const content_types[] = {
    NULL,
    "",
    REG_MT_OCI_MANIFEST,
    REG_MT_OCI_INDEX,
    REG_MT_DOCKER_V2,
    REG_MT_DOCKER_LIST,
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/json; charset=utf-8",
};

static void check_ref(const struct reg_ref *r, int platform_ok)
{
	FUZZ_CHECK(rv_digest_valid(r->digest));
	FUZZ_CHECK(r->size >= 0);
	FUZZ_CHECK(memchr(r->media_type, '\0', sizeof(r->media_type)));
	FUZZ_CHECK(!fuzz_has_ctl(r->media_type));
	FUZZ_CHECK(memchr(r->platform, '\0', sizeof(r->platform)));
	FUZZ_CHECK(!fuzz_has_ctl(r->platform));
	if (!platform_ok)
		FUZZ_CHECK(r->platform[0] == '\0');
}

static json_t *desc_json(const struct reg_ref *r)
{
	json_t *o = json_pack("{s:s, s:I}", "digest", r->digest, "size",
			      (json_int_t)r->size);

	FUZZ_CHECK(o);
	if (r->media_type[0])
		json_object_set_new(o, "mediaType", json_string(r->media_type));
	if (r->nondistributable)
		json_object_set_new(o, "urls",
				    json_pack("[s]", "https://example.com/l"));
	if (r->platform[0]) {
		char os[96], *arch, *variant;
		json_t *p;

		snprintf(os, sizeof(os), "%s", r->platform);
		arch = strchr(os, '/');
		FUZZ_CHECK(arch);
		*arch++ = '\0';
		variant = strchr(arch, '/');
		if (variant)
			*variant++ = '\0';
		p = json_pack("{s:s, s:s}", "os", os, "architecture", arch);
		FUZZ_CHECK(p);
		if (variant)
			json_object_set_new(p, "variant", json_string(variant));
		json_object_set_new(o, "platform", p);
	}
	return o;
}

static int ref_eq(const struct reg_ref *a, const struct reg_ref *b)
{
	return !strcmp(a->digest, b->digest) &&
	       !strcmp(a->media_type, b->media_type) && a->size == b->size &&
	       !strcmp(a->platform, b->platform) &&
	       a->nondistributable == b->nondistributable;
}

static void round_trip(const struct reg_manifest *m)
{
	struct reg_manifest *again = NULL;
	json_t *doc = json_pack("{s:i, s:s}", "schemaVersion", 2, "mediaType",
				m->media_type);
	json_t *arr = json_array();
	char *text;
	int rc;

	FUZZ_CHECK(doc && arr);
	if (m->kind == REG_KIND_IMAGE) {
		json_object_set_new(doc, "config", desc_json(&m->config));
		for (size_t i = 0; i < m->n_layers; i++)
			json_array_append_new(arr, desc_json(&m->layers[i]));
		json_object_set_new(doc, "layers", arr);
	} else {
		for (size_t i = 0; i < m->n_manifests; i++)
			json_array_append_new(arr, desc_json(&m->manifests[i]));
		json_object_set_new(doc, "manifests", arr);
	}
	if (m->has_subject)
		json_object_set_new(doc, "subject", desc_json(&m->subject));
	text = json_dumps(doc, JSON_COMPACT);
	FUZZ_CHECK(text);
	rc = reg_manifest_parse(&again, text, strlen(text), NULL);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(again->kind == m->kind);
	FUZZ_CHECK(!strcmp(again->media_type, m->media_type));
	FUZZ_CHECK(again->n_layers == m->n_layers);
	FUZZ_CHECK(again->n_manifests == m->n_manifests);
	FUZZ_CHECK(again->has_subject == m->has_subject);
	if (m->kind == REG_KIND_IMAGE)
		FUZZ_CHECK(ref_eq(&again->config, &m->config));
	for (size_t i = 0; i < m->n_layers; i++)
		FUZZ_CHECK(ref_eq(&again->layers[i], &m->layers[i]));
	for (size_t i = 0; i < m->n_manifests; i++)
		FUZZ_CHECK(ref_eq(&again->manifests[i], &m->manifests[i]));
	if (m->has_subject)
		FUZZ_CHECK(ref_eq(&again->subject, &m->subject));
	reg_manifest_free(again);
	free(text);
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reg_manifest *m = NULL;
	const char *ct;
	char body_mt[REG_MEDIA_MAX];
	int rc;

	if (size < 1)
		return 0;
	ct = content_types[data[0] %
			   (sizeof(content_types) / sizeof(content_types[0]))];
	data++;
	size--;

	rc = reg_manifest_parse(&m, data, size, ct);
	FUZZ_CHECK(
	    FUZZ_CODE_IN(rc, RV_CORRUPT, RV_REFUSED, RV_UNSUPPORTED, RV_NOMEM));
	FUZZ_CHECK(rc ? m == NULL : m != NULL);
	if (m) {
		FUZZ_CHECK(m->kind == REG_KIND_IMAGE ||
			   m->kind == REG_KIND_INDEX);
		FUZZ_CHECK(m->media_type[0] && !fuzz_has_ctl(m->media_type));
		FUZZ_CHECK(m->n_layers <= 100000 && m->n_manifests <= 100000);
		FUZZ_CHECK((m->n_layers == 0) == (m->layers == NULL));
		FUZZ_CHECK((m->n_manifests == 0) == (m->manifests == NULL));
		if (m->kind == REG_KIND_IMAGE) {
			FUZZ_CHECK(m->n_manifests == 0);
			check_ref(&m->config, 0);
		} else {
			FUZZ_CHECK(m->n_layers == 0);
		}
		for (size_t i = 0; i < m->n_layers; i++)
			check_ref(&m->layers[i], 0);
		for (size_t i = 0; i < m->n_manifests; i++)
			check_ref(&m->manifests[i], 1);
		if (m->has_subject)
			check_ref(&m->subject, 0);
		round_trip(m);
		reg_manifest_free(m);
	}

	rc =
	    reg_schema1_check(body_mt, sizeof(body_mt), data, size, ct, "fuzz");
	FUZZ_CHECK(rc == 0 || rc == RV_REFUSED);
	FUZZ_CHECK(memchr(body_mt, '\0', sizeof(body_mt)));
	(void)reg_is_manifest_type(body_mt);
	return 0;
}
