/* referrers.c - parse the referrer lists the backup engine follows. */
#include "backup/referrers.h"

#include "util/digest.h"
#include "util/err.h"

#include <jansson.h>
#include <string.h>

int backup_referrers_parse(struct rv_strlist *digests, const char *text,
			   size_t len, const char *subject)
{
	json_t *arr = json_loadb(text ? text : "", len, 0, NULL);
	json_t *v;
	size_t i;
	int rc = 0;

	if (!json_is_array(arr)) {
		rc = rv_err_set(RV_CORRUPT,
				"the referrers list is not a JSON array");
		goto done;
	}
	json_array_foreach(arr, i, v)
	{
		const char *d = json_string_value(json_object_get(v, "digest"));
		if (!d || !rv_digest_valid(d)) {
			rc = rv_err_set(RV_CORRUPT,
					"a referrer descriptor has no sha256 "
					"digest");
			goto done;
		}
		if ((subject && !strcmp(d, subject)) ||
		    rv_strlist_has(digests, d))
			continue;
		rc = rv_strlist_add(digests, d);
		if (rc)
			goto done;
	}
done:
	json_decref(arr);
	return rc;
}
