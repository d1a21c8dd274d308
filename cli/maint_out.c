/* maint_out.c - how the maintenance commands (catalog rebuild, repair)
 * print the lists in struct maint_stats. */
#include "cli/cli.h"

#include "maint/maint.h"

#include <jansson.h>
#include <stdio.h>

json_t *cli_maint_items_json(const struct maint_list *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < l->n; i++) {
		const struct maint_item *it = &l->items[i];
		json_t *o = json_pack("{s:s, s:s}", "name", it->what, "reason",
				      it->why);

		if (o && it->target)
			json_object_set_new(o, "target",
					    json_string(it->target));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

void cli_maint_items_print(const char *label, const struct maint_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct maint_item *it = &l->items[i];

		if (it->target)
			printf("%s: %s on '%s': %s\n", label, it->what,
			       it->target, it->why);
		else
			printf("%s: %s: %s\n", label, it->what, it->why);
	}
}
