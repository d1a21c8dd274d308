/* fuzz_config.c - the YAML config file (cli/config.c cfg_load). cfg_load
 * reads a path, so the input is written to a memfd and loaded through
 * /proc/self/fd/N: no disk, no from-memory entry point needed.
 *
 * Invariants: documented codes only (RV_INVALID for anything wrong in
 * the file, RV_TOOBIG past its cap, RV_NOMEM); on success every schedule
 * carries its parsed cron expression, names are unique and every source
 * names a configured registry; a second load of the same bytes gives the
 * same shape (the loader is a pure function of the text). */
#include "fuzz_common.h"

#include "cli/config.h"

#include <sys/mman.h>
#include <unistd.h>

FUZZ_QUIET_INIT()

static int memfd = -1;
static char path[64];

static void check_config(const struct config *c)
{
	for (size_t i = 0; i < c->n_schedules; i++) {
		FUZZ_CHECK(c->schedules[i].name && c->schedules[i].parsed);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(
			    strcmp(c->schedules[i].name, c->schedules[j].name));
	}
	for (size_t i = 0; i < c->n_registries; i++)
		FUZZ_CHECK(c->registries[i].name && c->registries[i].url);
	for (size_t i = 0; i < c->n_sources; i++)
		FUZZ_CHECK(c->sources[i].registry &&
			   cfg_registry_find(c, c->sources[i].registry));
	for (size_t i = 0; i < c->n_targets; i++)
		FUZZ_CHECK(c->targets[i].name && c->targets[i].type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL, *again = NULL;
	int rc, rc2;

	if (size > (1u << 20) + 16)
		return 0;
	if (memfd < 0) {
		memfd = memfd_create("fuzz-config", 0);
		FUZZ_CHECK(memfd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);

	rc = cfg_load(&c, path);
	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_INVALID, RV_TOOBIG, RV_NOMEM));
	FUZZ_CHECK(rc ? c == NULL : c != NULL);
	/* collecting (config check) agrees: the same outcome; a file that
	 * does not load has its problem first, each one naming its line */
	{
		struct config *all = NULL;
		struct rv_strlist problems = RV_STRLIST_INIT;
		int rc3 = cfg_load_all(&all, path, &problems);

		FUZZ_CHECK(rc3 == rc || rc == RV_NOMEM || rc3 == RV_NOMEM);
		FUZZ_CHECK(rc3 ? all == NULL : problems.n == 0);
		for (size_t i = 0; i < problems.n; i++) {
			FUZZ_CHECK(!fuzz_has_ctl(problems.items[i]));
			if (rc3 == RV_INVALID)
				FUZZ_CHECK(strstr(problems.items[i], "config '"));
		}
		cfg_free(all);
		rv_strlist_release(&problems);
	}
	if (c) {
		check_config(c);
		rc2 = cfg_load(&again, path);
		FUZZ_CHECK(rc2 == 0);
		FUZZ_CHECK(again->n_registries == c->n_registries &&
			   again->n_sources == c->n_sources &&
			   again->n_targets == c->n_targets &&
			   again->n_schedules == c->n_schedules &&
			   again->quorum == c->quorum);
		cfg_free(again);
	}
	cfg_free(c);
	return 0;
}
