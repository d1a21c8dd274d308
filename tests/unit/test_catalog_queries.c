/* test_catalog_queries.c - catalog ls, diff, usage and find (queries.h) on
 * a small catalog with exact sizes:
 *
 *   snapshot 1 (t=1000)                 snapshot 2 (t=2000)
 *   team-a/api:v1    -> api1            team-a/api:v1    -> api1
 *   team-a/api:prod  -> api1            team-a/api:prod  -> api2   (moved)
 *   team-b/web:latest-> web             team-a/api:v2    -> api2   (added)
 *   team-b/web:old   -> web             team-b/web:latest-> web
 *                                       multi/arch:latest-> index (added)
 *                                       referrer sig of api2 in team-a/api
 *
 * index = [web, arm]; every image has the shared base layer (1000 bytes);
 * arm also lists a foreign layer, never stored. Each blob has its own
 * size, so every sum below names exactly which blobs it adds up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "catalog/catalog.h"
#include "catalog/queries.h"
#include "util/digest.h"
#include "util/err.h"

#include <stdio.h>

#include "catalog_fixture.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"

/* The objects, by name; sizes in the same order. */
enum obj {
	L_BASE,
	L_API1,
	L_API2,
	L_WEB,
	L_ARM,
	C_API1,
	C_API2,
	C_WEB,
	C_ARM,
	C_SIG,
	L_SIG,
	M_API1,
	M_API2,
	M_WEB,
	M_ARM,
	I_MULTI,
	M_SIG,
	L_FOREIGN, /* not recorded */
	L_ORPHAN,  /* recorded, in no snapshot */
	N_OBJ
};

static const char *const obj_name[N_OBJ] = {
    "layer-base",    "layer-api1",    "layer-api2",   "layer-web",
    "layer-arm",     "config-api1",   "config-api2",  "config-web",
    "config-arm",    "config-sig",    "layer-sig",    "manifest-api1",
    "manifest-api2", "manifest-web",  "manifest-arm", "index-multi",
    "manifest-sig",  "layer-foreign", "layer-orphan"};

static const int64_t obj_size[N_OBJ] = {1000, 200, 300, 400,  500, 11,	12,
					13,   14,  15,	16,   101, 102, 103,
					104,  105, 106, 9999, 77};

static char D[N_OBJ][RV_DIGEST_MAX];

/* Blob `o` made of one chunk of its own size. */
static void blob(struct cat *c, enum obj o)
{
	unsigned char id[1][32];

	chunk_id(id[0], (unsigned)o);
	assert_int_equal(cat_chunk_add(c, id[0], PACK_A, 100 * (uint64_t)o, 50,
				       (uint32_t)obj_size[o]),
			 0);
	assert_int_equal(cat_blob_add(c, D[o], obj_size[o],
				      (const unsigned char(*)[32])id, 1),
			 0);
}

static void ref(struct cat_ref *r, enum obj o, int is_manifest)
{
	ref_to(r, D[o], is_manifest);
	r->size = obj_size[o];
}

/* An image manifest: config, then layers (the last one foreign when
 * with_foreign). */
static void image(struct cat *c, enum obj m, enum obj config, enum obj l1,
		  enum obj l2, int with_foreign)
{
	struct cat_ref refs[4];
	size_t n = 3;

	ref(&refs[0], config, 0);
	ref(&refs[1], l1, 0);
	ref(&refs[2], l2, 0);
	if (with_foreign) {
		ref(&refs[3], L_FOREIGN, 0);
		refs[3].nondistributable = 1;
		n = 4;
	}
	blob(c, m);
	assert_int_equal(
	    cat_manifest_add(c, D[m], MT_MANIFEST, obj_size[m], refs, n), 0);
}

static void snapshot(struct cat *c, const char *id, int64_t t)
{
	struct cat_snapshot s;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", id);
	s.time = t;
	snprintf(s.source, sizeof(s.source), "src");
	snprintf(s.url, sizeof(s.url), "http://127.0.0.1:5000");
	assert_int_equal(cat_snapshot_add(c, &s), 0);
}

static void tag(struct cat *c, const char *snap, const char *repo,
		const char *name, enum obj m)
{
	assert_int_equal(cat_snapshot_tag_add(c, snap, repo, name, D[m]), 0);
}

static int setup_catalog(void **state)
{
	struct fx *f;
	struct cat *c;
	struct cat_ref kids[2];

	setup(state);
	f = *state;
	c = f->c;
	for (int i = 0; i < N_OBJ; i++)
		digest_of(D[i], obj_name[i]);
	assert_int_equal(cat_begin(c), 0);
	assert_int_equal(cat_pack_add(c, PACK_A, 4096, 1700000000), 0);
	assert_int_equal(cat_pack_location_add(c, PACK_A, "local"), 0);
	for (int o = L_BASE; o <= L_SIG; o++)
		blob(c, (enum obj)o);
	blob(c, L_ORPHAN);
	image(c, M_API1, C_API1, L_BASE, L_API1, 0);
	image(c, M_API2, C_API2, L_BASE, L_API2, 0);
	image(c, M_WEB, C_WEB, L_BASE, L_WEB, 0);
	image(c, M_ARM, C_ARM, L_BASE, L_ARM, 1);
	{
		struct cat_ref sig[2];

		ref(&sig[0], C_SIG, 0);
		ref(&sig[1], L_SIG, 0);
		blob(c, M_SIG);
		assert_int_equal(cat_manifest_add(c, D[M_SIG], MT_MANIFEST,
						  obj_size[M_SIG], sig, 2),
				 0);
	}
	ref(&kids[0], M_WEB, 1);
	ref(&kids[1], M_ARM, 1);
	blob(c, I_MULTI);
	assert_int_equal(cat_manifest_add(c, D[I_MULTI], MT_INDEX,
					  obj_size[I_MULTI], kids, 2),
			 0);

	snapshot(c, SNAP_1, 1000);
	tag(c, SNAP_1, "team-a/api", "v1", M_API1);
	tag(c, SNAP_1, "team-a/api", "prod", M_API1);
	tag(c, SNAP_1, "team-b/web", "latest", M_WEB);
	tag(c, SNAP_1, "team-b/web", "old", M_WEB);

	snapshot(c, SNAP_2, 2000);
	tag(c, SNAP_2, "team-a/api", "v1", M_API1);
	tag(c, SNAP_2, "team-a/api", "prod", M_API2);
	tag(c, SNAP_2, "team-a/api", "v2", M_API2);
	tag(c, SNAP_2, "team-b/web", "latest", M_WEB);
	tag(c, SNAP_2, "multi/arch", "latest", I_MULTI);
	assert_int_equal(cat_snapshot_referrer_add(c, SNAP_2, "team-a/api",
						   D[M_API2], D[M_SIG]),
			 0);
	assert_int_equal(cat_commit(c), 0);
	return 0;
}

/* Sum of the sizes of the objects listed (terminated by N_OBJ). */
static int64_t size_of(int first, ...)
{
	va_list ap;
	int64_t sum = 0;

	va_start(ap, first);
	for (int o = first; o != N_OBJ; o = va_arg(ap, int))
		sum += obj_size[o];
	va_end(ap);
	return sum;
}

#define API1_REACH size_of(M_API1, C_API1, L_BASE, L_API1, N_OBJ)
#define API2_REACH size_of(M_API2, C_API2, L_BASE, L_API2, N_OBJ)
#define WEB_REACH size_of(M_WEB, C_WEB, L_BASE, L_WEB, N_OBJ)
#define SIG_REACH size_of(M_SIG, C_SIG, L_SIG, N_OBJ)
#define MULTI_REACH                                                            \
	size_of(I_MULTI, M_WEB, C_WEB, L_WEB, L_BASE, M_ARM, C_ARM, L_ARM,     \
		N_OBJ)

/* ---- ls ---- */

static void test_ls_lists_repositories_and_tags_with_sizes(void **state)
{
	struct fx *f = *state;
	struct cat_ls ls;

	assert_int_equal(cat_query_ls(&ls, f->c, SNAP_1, NULL), 0);
	assert_int_equal(ls.n_repos, 2);
	assert_string_equal(ls.repos[0].repo, "team-a/api");
	assert_int_equal(ls.repos[0].n_tags, 2);
	assert_string_equal(ls.repos[0].tags[0].tag, "prod");
	assert_string_equal(ls.repos[0].tags[1].tag, "v1");
	assert_string_equal(ls.repos[0].tags[0].digest, D[M_API1]);
	assert_string_equal(ls.repos[0].tags[0].media_type, MT_MANIFEST);
	assert_int_equal(ls.repos[0].tags[0].size, API1_REACH);
	assert_int_equal(ls.repos[0].tags[0].size, 1312);
	assert_int_equal(ls.repos[0].tags[0].objects, 4);
	/* two tags on one manifest count it once */
	assert_int_equal(ls.repos[0].logical_size, 1312);
	assert_int_equal(ls.repos[0].objects, 4);
	assert_string_equal(ls.repos[1].repo, "team-b/web");
	assert_int_equal(ls.repos[1].n_tags, 2);
	assert_string_equal(ls.repos[1].tags[0].tag, "latest");
	assert_string_equal(ls.repos[1].tags[1].tag, "old");
	assert_int_equal(ls.repos[1].logical_size, WEB_REACH);
	cat_ls_release(&ls);
}

static void test_ls_index_reaches_children_once(void **state)
{
	struct fx *f = *state;
	struct cat_ls ls;

	assert_int_equal(cat_query_ls(&ls, f->c, SNAP_2, "multi/arch"), 0);
	assert_int_equal(ls.n_repos, 1);
	assert_string_equal(ls.repos[0].repo, "multi/arch");
	assert_int_equal(ls.repos[0].n_tags, 1);
	assert_string_equal(ls.repos[0].tags[0].digest, D[I_MULTI]);
	assert_string_equal(ls.repos[0].tags[0].media_type, MT_INDEX);
	/* the base layer of both children once; the foreign layer never */
	assert_int_equal(ls.repos[0].tags[0].size, MULTI_REACH);
	assert_int_equal(ls.repos[0].tags[0].size, 2239);
	assert_int_equal(ls.repos[0].tags[0].objects, 8);
	assert_int_equal(ls.repos[0].logical_size, 2239);
	cat_ls_release(&ls);
}

static void test_ls_repository_counts_its_referrers(void **state)
{
	struct fx *f = *state;
	struct cat_ls ls;

	assert_int_equal(cat_query_ls(&ls, f->c, SNAP_2, "team-a/api"), 0);
	assert_int_equal(ls.n_repos, 1);
	assert_int_equal(ls.repos[0].n_tags, 3);
	assert_string_equal(ls.repos[0].tags[0].tag, "prod");
	assert_int_equal(ls.repos[0].tags[0].size, API2_REACH);
	assert_string_equal(ls.repos[0].tags[1].tag, "v1");
	assert_int_equal(ls.repos[0].tags[1].size, API1_REACH);
	assert_string_equal(ls.repos[0].tags[2].tag, "v2");
	assert_int_equal(ls.repos[0].tags[2].size, API2_REACH);
	/* api1 + api2 + the signature, base layer once */
	assert_int_equal(ls.repos[0].logical_size,
			 API1_REACH + API2_REACH + SIG_REACH - 1000);
	assert_int_equal(ls.repos[0].logical_size, 1863);
	assert_int_equal(ls.repos[0].objects, 10);
	cat_ls_release(&ls);
}

static void test_ls_refuses_unknown_repository_and_snapshot(void **state)
{
	struct fx *f = *state;
	struct cat_ls ls;

	assert_int_equal(cat_query_ls(&ls, f->c, SNAP_1, "multi/arch"),
			 RV_NOTFOUND);
	assert_non_null(strstr(rv_err_msg(), "'multi/arch'"));
	cat_ls_release(&ls);
	assert_int_equal(cat_query_ls(&ls, f->c, PACK_B, NULL), RV_NOTFOUND);
	cat_ls_release(&ls);
	assert_int_equal(cat_query_ls(&ls, f->c, "latest", NULL), RV_INVALID);
	cat_ls_release(&ls);
	assert_int_equal(ls.n_repos, 0);
}

/* ---- diff ---- */

static void test_diff_reports_added_removed_moved_and_bytes(void **state)
{
	struct fx *f = *state;
	struct cat_diff d;

	assert_int_equal(cat_query_diff(&d, f->c, SNAP_1, SNAP_2), 0);
	assert_int_equal(d.n_tags, 4);
	assert_int_equal(d.n_added, 2);
	assert_int_equal(d.n_removed, 1);
	assert_int_equal(d.n_moved, 1);
	assert_int_equal(d.unchanged, 2);

	assert_int_equal(d.tags[0].kind, CAT_DIFF_ADDED);
	assert_string_equal(d.tags[0].repo, "multi/arch");
	assert_string_equal(d.tags[0].tag, "latest");
	assert_string_equal(d.tags[0].old_digest, "");
	assert_string_equal(d.tags[0].new_digest, D[I_MULTI]);

	assert_int_equal(d.tags[1].kind, CAT_DIFF_MOVED);
	assert_string_equal(d.tags[1].repo, "team-a/api");
	assert_string_equal(d.tags[1].tag, "prod");
	assert_string_equal(d.tags[1].old_digest, D[M_API1]);
	assert_string_equal(d.tags[1].new_digest, D[M_API2]);

	assert_int_equal(d.tags[2].kind, CAT_DIFF_ADDED);
	assert_string_equal(d.tags[2].tag, "v2");
	assert_string_equal(d.tags[2].new_digest, D[M_API2]);

	assert_int_equal(d.tags[3].kind, CAT_DIFF_REMOVED);
	assert_string_equal(d.tags[3].repo, "team-b/web");
	assert_string_equal(d.tags[3].tag, "old");
	assert_string_equal(d.tags[3].old_digest, D[M_WEB]);
	assert_string_equal(d.tags[3].new_digest, "");

	/* new in 2: api2's manifest, config and layer; the index, arm's
	 * manifest, config and layer; the signature (3 objects) */
	assert_int_equal(d.bytes_added,
			 size_of(M_API2, C_API2, L_API2, I_MULTI, M_ARM, C_ARM,
				 L_ARM, M_SIG, C_SIG, L_SIG, N_OBJ));
	assert_int_equal(d.bytes_added, 1274);
	assert_int_equal(d.objects_added, 10);
	assert_int_equal(d.bytes_removed, 0);
	assert_int_equal(d.objects_removed, 0);
	cat_diff_release(&d);
}

static void test_diff_backwards_swaps_sides(void **state)
{
	struct fx *f = *state;
	struct cat_diff d;

	assert_int_equal(cat_query_diff(&d, f->c, SNAP_2, SNAP_1), 0);
	assert_int_equal(d.n_added, 1);
	assert_int_equal(d.n_removed, 2);
	assert_int_equal(d.n_moved, 1);
	assert_int_equal(d.tags[1].kind, CAT_DIFF_MOVED);
	assert_string_equal(d.tags[1].old_digest, D[M_API2]);
	assert_string_equal(d.tags[1].new_digest, D[M_API1]);
	assert_int_equal(d.bytes_added, 0);
	assert_int_equal(d.bytes_removed, 1274);
	assert_int_equal(d.objects_removed, 10);
	cat_diff_release(&d);
}

static void test_diff_of_a_snapshot_with_itself_is_empty(void **state)
{
	struct fx *f = *state;
	struct cat_diff d;

	assert_int_equal(cat_query_diff(&d, f->c, SNAP_2, SNAP_2), 0);
	assert_int_equal(d.n_tags, 0);
	assert_int_equal(d.unchanged, 5);
	assert_int_equal(d.bytes_added, 0);
	assert_int_equal(d.bytes_removed, 0);
	cat_diff_release(&d);
	assert_int_equal(cat_query_diff(&d, f->c, SNAP_1, PACK_C), RV_NOTFOUND);
	cat_diff_release(&d);
}

/* ---- usage ---- */

static void test_usage_splits_unique_and_shared(void **state)
{
	struct fx *f = *state;
	struct cat_usage u;
	const struct cat_repo_usage *api, *multi, *web;

	assert_int_equal(cat_query_usage(&u, f->c, SNAP_2), 0);
	assert_int_equal(u.n_repos, 3);
	multi = &u.repos[0];
	api = &u.repos[1];
	web = &u.repos[2];
	assert_string_equal(multi->repo, "multi/arch");
	assert_string_equal(api->repo, "team-a/api");
	assert_string_equal(web->repo, "team-b/web");

	assert_int_equal(api->tags, 3);
	assert_int_equal(api->logical_size, 1863);
	assert_int_equal(api->objects, 10);
	/* the base layer is shared with both others */
	assert_int_equal(api->shared_size, 1000);
	assert_int_equal(api->shared_objects, 1);
	assert_int_equal(api->unique_size, 863);
	assert_int_equal(api->unique_objects, 9);

	assert_int_equal(multi->tags, 1);
	assert_int_equal(multi->logical_size, 2239);
	/* web's manifest, config and layer are shared with team-b/web */
	assert_int_equal(multi->shared_size, WEB_REACH);
	assert_int_equal(multi->shared_objects, 4);
	assert_int_equal(multi->unique_size,
			 size_of(I_MULTI, M_ARM, C_ARM, L_ARM, N_OBJ));
	assert_int_equal(multi->unique_objects, 4);

	assert_int_equal(web->tags, 1);
	assert_int_equal(web->logical_size, WEB_REACH);
	assert_int_equal(web->unique_size, 0);
	assert_int_equal(web->unique_objects, 0);
	assert_int_equal(web->shared_size, WEB_REACH);

	for (size_t i = 0; i < u.n_repos; i++)
		assert_int_equal(u.repos[i].unique_size +
				     u.repos[i].shared_size,
				 u.repos[i].logical_size);
	assert_int_equal(u.logical_size, 1863 + 2239 + 1516);
	/* every recorded object but the orphan, once */
	assert_int_equal(u.dedup_size, 3102);
	assert_int_equal(u.objects, 17);
	cat_usage_release(&u);
}

static void test_usage_of_first_snapshot(void **state)
{
	struct fx *f = *state;
	struct cat_usage u;

	assert_int_equal(cat_query_usage(&u, f->c, SNAP_1), 0);
	assert_int_equal(u.n_repos, 2);
	assert_int_equal(u.repos[0].tags, 2);
	assert_int_equal(u.repos[0].unique_size, API1_REACH - 1000);
	assert_int_equal(u.repos[0].shared_size, 1000);
	assert_int_equal(u.repos[1].unique_size, WEB_REACH - 1000);
	assert_int_equal(u.dedup_size, API1_REACH + WEB_REACH - 1000);
	assert_int_equal(u.objects, 7);
	cat_usage_release(&u);
	assert_int_equal(cat_query_usage(&u, f->c, "abc"), RV_INVALID);
	cat_usage_release(&u);
}

/* ---- find ---- */

static const struct cat_holder *holder(const struct cat_found *fd,
				       const char *snap, const char *repo,
				       const char *tag, enum cat_via via,
				       enum obj parent)
{
	for (size_t i = 0; i < fd->n_holders; i++) {
		const struct cat_holder *h = &fd->holders[i];

		if (strcmp(h->snap_id, snap) || strcmp(h->repo, repo) ||
		    h->via != via)
			continue;
		if (tag ? !h->tag || strcmp(h->tag, tag) : h->tag != NULL)
			continue;
		if (strcmp(h->parent, parent == N_OBJ ? "" : D[parent]))
			continue;
		return h;
	}
	return NULL;
}

static void test_find_shared_layer_in_every_holder(void **state)
{
	struct fx *f = *state;
	struct cat_found fd;
	const struct cat_holder *h;

	assert_int_equal(cat_query_find(&fd, f->c, D[L_BASE]), 0);
	assert_int_equal(fd.is_manifest, 0);
	assert_string_equal(fd.media_type, "");
	assert_int_equal(fd.size, 1000);
	assert_int_equal(fd.n_holders, 10);
	/* snapshot 1 first */
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(fd.holders[i].snap_id, SNAP_1);
	assert_non_null(
	    holder(&fd, SNAP_1, "team-a/api", "prod", CAT_VIA_LAYER, M_API1));
	assert_non_null(
	    holder(&fd, SNAP_1, "team-b/web", "old", CAT_VIA_LAYER, M_WEB));
	/* the tag that moved: api1 in 1, api2 in 2 */
	assert_non_null(
	    holder(&fd, SNAP_2, "team-a/api", "prod", CAT_VIA_LAYER, M_API2));
	assert_null(
	    holder(&fd, SNAP_2, "team-a/api", "prod", CAT_VIA_LAYER, M_API1));
	/* through both children of the index */
	h = holder(&fd, SNAP_2, "multi/arch", "latest", CAT_VIA_LAYER, M_WEB);
	assert_non_null(h);
	assert_string_equal(h->root, D[I_MULTI]);
	assert_int_equal(h->time, 2000);
	assert_string_equal(h->source, "src");
	assert_non_null(
	    holder(&fd, SNAP_2, "multi/arch", "latest", CAT_VIA_LAYER, M_ARM));
	assert_non_null(
	    holder(&fd, SNAP_2, "team-b/web", "latest", CAT_VIA_LAYER, M_WEB));
	cat_found_release(&fd);
}

static void test_find_manifest_as_tag_and_as_index_child(void **state)
{
	struct fx *f = *state;
	struct cat_found fd;
	const struct cat_holder *h;

	assert_int_equal(cat_query_find(&fd, f->c, D[M_WEB]), 0);
	assert_int_equal(fd.is_manifest, 1);
	assert_string_equal(fd.media_type, MT_MANIFEST);
	assert_int_equal(fd.size, 103);
	assert_int_equal(fd.n_holders, 4);
	h = holder(&fd, SNAP_1, "team-b/web", "latest", CAT_VIA_TAG, N_OBJ);
	assert_non_null(h);
	assert_string_equal(h->root, D[M_WEB]);
	assert_non_null(
	    holder(&fd, SNAP_1, "team-b/web", "old", CAT_VIA_TAG, N_OBJ));
	assert_non_null(
	    holder(&fd, SNAP_2, "team-b/web", "latest", CAT_VIA_TAG, N_OBJ));
	h = holder(&fd, SNAP_2, "multi/arch", "latest", CAT_VIA_INDEX_CHILD,
		   I_MULTI);
	assert_non_null(h);
	assert_string_equal(h->root, D[I_MULTI]);
	cat_found_release(&fd);
}

static void test_find_config_and_referrer(void **state)
{
	struct fx *f = *state;
	struct cat_found fd;

	assert_int_equal(cat_query_find(&fd, f->c, D[C_API2]), 0);
	assert_int_equal(fd.n_holders, 2);
	assert_non_null(
	    holder(&fd, SNAP_2, "team-a/api", "prod", CAT_VIA_CONFIG, M_API2));
	assert_non_null(
	    holder(&fd, SNAP_2, "team-a/api", "v2", CAT_VIA_CONFIG, M_API2));
	cat_found_release(&fd);

	assert_int_equal(cat_query_find(&fd, f->c, D[M_SIG]), 0);
	assert_int_equal(fd.n_holders, 1);
	assert_non_null(
	    holder(&fd, SNAP_2, "team-a/api", NULL, CAT_VIA_REFERRER, M_API2));
	assert_string_equal(fd.holders[0].root, D[M_SIG]);
	cat_found_release(&fd);

	assert_int_equal(cat_query_find(&fd, f->c, D[L_SIG]), 0);
	assert_int_equal(fd.n_holders, 1);
	assert_non_null(
	    holder(&fd, SNAP_2, "team-a/api", NULL, CAT_VIA_LAYER, M_SIG));
	cat_found_release(&fd);
}

static void test_find_unknown_orphan_and_foreign(void **state)
{
	struct fx *f = *state;
	struct cat_found fd;

	assert_int_equal(cat_query_find(&fd, f->c, D[L_ORPHAN]), 0);
	assert_int_equal(fd.n_holders, 0);
	assert_int_equal(fd.size, 77);
	cat_found_release(&fd);
	/* foreign layers are not stored: nothing holds them */
	assert_int_equal(cat_query_find(&fd, f->c, D[L_FOREIGN]), RV_NOTFOUND);
	cat_found_release(&fd);
	assert_int_equal(cat_query_find(&fd, f->c, "sha256:abc"), RV_INVALID);
	cat_found_release(&fd);
	assert_string_equal(cat_via_name(CAT_VIA_INDEX_CHILD), "index_child");
	assert_string_equal(cat_via_name(CAT_VIA_REFERRER), "referrer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup_catalog, teardown)
	    T(test_ls_lists_repositories_and_tags_with_sizes),
	    T(test_ls_index_reaches_children_once),
	    T(test_ls_repository_counts_its_referrers),
	    T(test_ls_refuses_unknown_repository_and_snapshot),
	    T(test_diff_reports_added_removed_moved_and_bytes),
	    T(test_diff_backwards_swaps_sides),
	    T(test_diff_of_a_snapshot_with_itself_is_empty),
	    T(test_usage_splits_unique_and_shared),
	    T(test_usage_of_first_snapshot),
	    T(test_find_shared_layer_in_every_holder),
	    T(test_find_manifest_as_tag_and_as_index_child),
	    T(test_find_config_and_referrer),
	    T(test_find_unknown_orphan_and_foreign),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
