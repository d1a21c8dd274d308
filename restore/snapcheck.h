/* snapcheck.h - check a snapshot against what its targets hold before
 * trusting the catalog's copy of it.
 *
 * The catalog is a cache; the targets are the truth. Before a restore, the
 * snapshot's record is read back from a target: it must open (AEAD), and
 * in a format 2 store its seal must verify with the store's public key,
 * name this snapshot and store, name the record's exact hash, and list
 * every pack the catalog says the snapshot needs, with the same size. The
 * record's tags must be exactly the catalog's. Any disagreement is
 * RV_CORRUPT with a message that says what disagrees.
 */
#ifndef RESTORE_SNAPCHECK_H
#define RESTORE_SNAPCHECK_H

struct cat;
struct store;

int restore_check_snapshot(struct cat *c, struct store *s,
			   const char *snap_id);

#endif
