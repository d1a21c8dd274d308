/* verify.h - prove that the archives can still be restored, and say what
 * is at risk when they cannot.
 *
 * Three depths (docs/OPERATIONS.md, "Verify"):
 *   quick: every pack the selected snapshots need is on every selected
 *          target with its recorded size (stat only, nothing read);
 *   hash:  every copy's bytes hash to the pack id (no key needed);
 *   deep:  hash, then every chunk of the pack is read back from that
 *          target, authenticated and checked against its keyed id, and
 *          every blob and manifest with a chunk in it is reassembled from
 *          that target and checked against its digest (needs the key).
 * In a signing store every selected snapshot's seal is verified with the
 * public key on every selected target and each record's sha256 checked
 * against its seal; without a snapshot filter the chain of seals is
 * checked too.
 *
 * Two sources of truth: the catalog (which packs each snapshot needs), or,
 * keyless, the seals on the targets (which need only the public key). A
 * catalog, when given, also says what a damaged pack takes with it (blobs,
 * manifests, tags) and remembers when each copy was last verified, which
 * --sample uses to rotate through every pack.
 *
 * A damaged or missing copy with a good copy on another target is
 * repairable (`regvault repair`); one with no good copy anywhere is lost.
 */
#ifndef RESTORE_VERIFY_H
#define RESTORE_VERIFY_H

#include "catalog/catalog.h"
#include "util/buf.h"
#include "util/strlist.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;

enum verify_level {
	VERIFY_QUICK = 0,
	VERIFY_HASH = 1,
	VERIFY_DEEP = 2,
};

struct verify_opts {
	enum verify_level level;
	const char *target;   /* check only this target (NULL: every one) */
	const char *snapshot; /* "latest", an id or a prefix (NULL: all) */
	unsigned sample;      /* percent of packs per target, 1..100; 0: all */
	int keyless;	      /* the seals on the targets say what to check */
	const char *store_label; /* for reports: the config path, say */
};

/* The outcome, from best to worst. */
enum verify_outcome {
	VERIFY_OK = 0,	       /* everything checked out */
	VERIFY_REPAIRABLE = 1, /* damaged, but a good copy of everything
				  damaged is on another target */
	VERIFY_FAILED = 2,     /* a target could not be read */
	VERIFY_LOST = 3,       /* something has no good copy anywhere */
};

/* One reported thing: what ("packs/ab/<id>", "seals/<id>", a digest),
 * where (a target name, or NULL) and why. */
struct verify_item {
	char *what;
	char *target;
	char *why;
};

struct verify_list {
	struct verify_item *items;
	size_t n, cap;
};

/* One pack some copy of which is missing or damaged. */
struct verify_risk {
	char pack_id[65];
	uint64_t size;
	int lost;		     /* no good copy on any target */
	struct rv_strlist bad_on;    /* targets whose copy is missing/damaged */
	struct rv_strlist good_on;   /* targets whose copy checks out */
	struct rv_strlist sealed_by; /* snapshots whose seals list it */
	struct cat_needs needs;	     /* from the catalog (empty without) */
};

struct verify_result {
	enum verify_level level;
	int keyless;
	int catalog; /* 1 when a catalog was used */
	int sample;  /* the --sample percentage, 0 for all */
	char store_id[40];
	char *store_label;
	char scope[160]; /* "all snapshots", "snapshot <id>" */
	int64_t started; /* unix seconds */
	int64_t finished;
	double seconds;		     /* wall time of the run */
	struct rv_strlist targets;   /* the targets checked */
	uint64_t snapshots;	     /* snapshots checked */
	uint64_t packs_needed;	     /* distinct packs they need */
	uint64_t packs_checked;	     /* distinct packs looked at */
	uint64_t copies_checked;     /* (pack, target) pairs looked at */
	uint64_t bytes_checked;	     /* bytes read (hash, deep) */
	uint64_t chunks_checked;     /* deep */
	uint64_t blobs_checked;	     /* deep: blobs and manifests */
	uint64_t seals_checked;	     /* seal copies verified */
	uint64_t records_checked;    /* record copies hashed */
	struct verify_list checked;  /* what = pack id, target, why = result */
	struct verify_list damaged;  /* copies missing or damaged */
	struct verify_list problems; /* seals, records, chain, blobs */
	struct verify_list failed;   /* a target could not be read */
	struct verify_list notes;
	struct verify_risk *risks;
	size_t n_risks;
	struct cat_needs lost;		  /* what lost packs take with them */
	struct rv_strlist lost_snapshots; /* snapshots that cannot be
					     restored whole */
	int lost_other; /* lost seals, records, chain, blobs */
	enum verify_outcome outcome;
};

/* Run the checks. c may be NULL only with o->keyless (then the seals say
 * what to check and nothing is recorded). s is a keyless handle
 * (store_open_keyless) unless the level is deep. *r is filled (release it
 * with verify_result_release, also after a failure). Damage is reported
 * in *r, not returned: the return value is 0 or the code of a failure
 * that stopped the run (RV_INVALID: unknown target or snapshot; RV_KEY:
 * deep without the key; RV_UNSUPPORTED: keyless on a format 1 store; the
 * catalog failed; out of memory). */
int verify_run(struct verify_result *r, struct cat *c, struct store *s,
	       const struct verify_opts *o);
void verify_result_release(struct verify_result *r);

/* "quick", "hash", "deep"; and the reverse (-1 when unknown). */
const char *verify_level_name(enum verify_level level);
int verify_level_parse(const char *name);
/* "ok", "repairable", "failed", "damaged". */
const char *verify_outcome_name(enum verify_outcome o);

/* The run as JSON (what --json prints and the catalog's runs table keeps),
 * malloc'd into *out. exit_code is the CLI's. */
int verify_result_json(char **out, const struct verify_result *r, int exit_code,
		       int pretty);
/* The human summary (what runs without --json print). */
void verify_print_text(FILE *f, const struct verify_result *r);
/* A Markdown report for people who were not there: date, store, what was
 * checked, figures, what failed, what is at risk, what to do. */
int verify_report_markdown(struct rv_buf *out, const struct verify_result *r,
			   int exit_code);

#endif
