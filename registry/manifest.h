/* manifest.h - parse OCI/Docker manifests and the headers the protocol
 * depends on. Pure functions of their input: no I/O. */
#ifndef REG_MANIFEST_H
#define REG_MANIFEST_H

#include "registry/registry.h"

#include <stddef.h>
#include <stdint.h>

enum reg_manifest_kind {
	REG_KIND_IMAGE = 1, /* OCI image manifest or Docker schema 2 */
	REG_KIND_INDEX = 2, /* OCI index or Docker manifest list */
};

/* A descriptor: a reference from a manifest to a blob or manifest. */
struct reg_ref {
	char digest[RV_DIGEST_MAX];
	char media_type[REG_MEDIA_MAX];
	int64_t size;
	char platform[96];   /* index entries: "os/arch[/variant]", else "" */
	int nondistributable;/* foreign layer (has "urls" / foreign media type) */
};

struct reg_manifest {
	enum reg_manifest_kind kind;
	char media_type[REG_MEDIA_MAX]; /* the manifest's own media type */
	struct reg_ref config;          /* IMAGE: the config blob */
	struct reg_ref *layers;         /* IMAGE: layers in order */
	size_t n_layers;
	struct reg_ref *manifests;      /* INDEX: child manifests */
	size_t n_manifests;
	int has_subject;                /* OCI 1.1 "subject" present */
	struct reg_ref subject;
};

/* Parse body. content_type is the HTTP Content-Type (may be NULL or
 * generic): the body's "mediaType" wins when present; when both are
 * absent the shape decides (manifests[] -> index, layers[] -> image).
 * Every digest is validated (sha256 only), sizes must be >= 0.
 * RV_REFUSED for schema 1 (schemaVersion 1 or a ...v1+prettyjws /
 * ...v1+json docker type) with a message saying to convert the image to
 * schema 2; RV_CORRUPT for malformed JSON or fields. */
int reg_manifest_parse(struct reg_manifest **out, const void *body,
		       size_t len, const char *content_type);
void reg_manifest_free(struct reg_manifest *m);

/* 1 if media_type is one of the four manifest types, else 0. */
int reg_is_manifest_type(const char *media_type);

/* From a Link header value, the URL with rel="next" (as written: relative
 * or absolute; malloc'd in *next). RV_NOTFOUND when there is none,
 * RV_CORRUPT when malformed. */
int reg_parse_link(char **next, const char *header_value);

/* A parsed WWW-Authenticate challenge. */
struct reg_challenge {
	char scheme[16]; /* "basic" or "bearer", lowercased */
	char *realm;     /* malloc'd or NULL */
	char *service;
	char *scope;
	char *error;
};

/* Parse one challenge (auth-params may be quoted, with \-escapes, in any
 * order, separated by commas with optional spaces). RV_CORRUPT if
 * malformed. Release with reg_challenge_release. */
int reg_parse_www_authenticate(struct reg_challenge *out, const char *value);
void reg_challenge_release(struct reg_challenge *c);

/* Resolve a possibly relative URL (a Link target or Location) against the
 * URL it came from; malloc'd result. RV_INVALID when it cannot. */
int reg_url_resolve(char **out, const char *base, const char *ref);

#endif
