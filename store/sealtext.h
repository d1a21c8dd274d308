/* sealtext.h - the text of a snapshot seal: parse and format, in one
 * place (backup writes seals, restore and verify check them, rebuild reads
 * them, forget and prune rewrite them).
 *
 * docs/FORMAT.md "Snapshot seals" is the contract. Version 1 is what
 * backup writes for a new snapshot. Version 2 adds two things that let
 * forget and prune change the store without breaking the chain of seals:
 *
 * - "kind": "snapshot" (the default when absent) or "forgotten": a
 *   tombstone that `regvault forget` signs in place of a snapshot's seal.
 *   It keeps the snapshot's place in the chain (sequence, previous), has no
 *   packs and no record (""), and carries "forgotten" (unix seconds).
 * - "former": the sha256 (hex) of every earlier text of this seal file, in
 *   the order they were replaced. Prune re-signs a kept snapshot's seal
 *   when its packs were repacked (new pack list, same snapshot, record,
 *   sequence and previous); forget replaces a seal by a tombstone. Either
 *   way the seal that follows in the chain still names the old text's
 *   hash as its "previous", which "former" vouches for.
 *
 * A seal's chain link is therefore (sequence, previous, hashes) where
 * hashes = { sha256(text) } + former. Seal N+1 links to seal N when its
 * previous is any of N's hashes.
 */
#ifndef STORE_SEALTEXT_H
#define STORE_SEALTEXT_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_TEXT_VERSION_MAX 2
#define SEAL_FORMER_MAX 4096 /* earlier texts kept per seal */
#define SEAL_PACKS_MAX 10000000

struct seal_pack {
	char id[65];
	uint64_t size;
};

struct seal_text {
	int version;   /* 1 or 2 */
	int forgotten; /* kind "forgotten" (version 2 only) */
	char store_id[33];
	char snapshot[65];
	char record[65];   /* "" in a tombstone */
	char previous[65]; /* "" for the first seal */
	long long sequence; /* >= 1 */
	int64_t time;	    /* the snapshot's time */
	char *source;	    /* malloc'd */
	struct seal_pack *packs; /* sorted by id as written; none in a
				    tombstone */
	size_t n_packs;
	char (*former)[65];
	size_t n_former;
	int64_t forgotten_at; /* tombstones: when */
	char self[65];	      /* sha256 hex of the text parsed (set by
				 seal_text_parse; ignored by format) */
};

/* Parse a seal text (the "seal" string of a seal file, already verified
 * by its signature). Every field is checked for type and bounds (hex ids
 * of the right length, sequence >= 1, at most SEAL_PACKS_MAX packs and
 * SEAL_FORMER_MAX former hashes): RV_CORRUPT naming the field otherwise;
 * RV_UNSUPPORTED for a version above SEAL_TEXT_VERSION_MAX. Fills
 * out->self. Release with seal_text_release (also after a failure). */
int seal_text_parse(struct seal_text *out, const char *text, size_t len);

/* Format as compact JSON with sorted keys: version 1 when the seal is a
 * snapshot without former texts (what backup writes; readable by every
 * regvault), version 2 otherwise. *out is malloc'd, NUL-terminated. */
int seal_text_format(char **out, const struct seal_text *in);

void seal_text_release(struct seal_text *s);

/* 1 when hash (64 hex) is one of s's chain hashes (self or a former). */
int seal_text_has_hash(const struct seal_text *s, const char *hash);

#endif
