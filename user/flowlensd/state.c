// SPDX-License-Identifier: Apache-2.0
/*
 * The state file: every setting an operator made, rewritten after each
 * change (user/lib/persist.c: atomically, and durably). The pinned maps
 * already carry settings across a daemon restart; this file carries them
 * across a reboot, when bpffs starts empty.
 *
 *   {"format": "flowlens-state", "version": 2, "saved_at": ...,
 *    "config": {...settings_to_json...}, "protect": [...]}
 *
 * Version 1 (before the envelope) had the same keys, no "format".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "persist.h"

static const struct fl_persist_format state_format = {
	.name = "flowlens-state",
	.version = 2,
	.legacy_version = 1,
};

static int add_prefix(const struct fl_prefix *prefix, void *arg)
{
	char buf[FL_PREFIX_STRLEN];

	json_object_array_add(arg, json_object_new_string(fl_prefix_format(
					   prefix, buf, sizeof(buf))));
	return 0;
}

static int state_fill(struct json_object *root, void *arg)
{
	struct daemon *d = arg;
	struct json_object *list;
	struct fl_config cfg;
	int err;

	err = settings_read(d, &cfg);
	if (err)
		return err;
	json_object_object_add(root, "config", settings_to_json(&cfg));
	list = json_object_new_array();
	json_object_object_add(root, "protect", list);
	return protect_for_each(d, add_prefix, list);
}

int state_save(struct daemon *d)
{
	return fl_persist_save(d->opt.state_path, &state_format, state_fill,
			       d);
}

static int restore_config(struct daemon *d, struct json_object *config)
{
	static const char *const keys[] = { "malformed", "heavy-pps",
					    "heavy-bps", "escalate-pps" };
	static const char *const fields[] = { "malformed", "heavy_pps",
					      "heavy_bps", "escalate_pps" };
	struct json_object *value;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!json_object_object_get_ex(config, fields[i], &value))
			continue;
		if (settings_set(d, keys[i], json_object_get_string(value), err,
				 sizeof(err)))
			pr_warn("state file: %s", err);
	}
	return 0;
}

/* Called only when the maps were created afresh (nothing was pinned). */
int state_restore(struct daemon *d)
{
	struct json_object *root, *config, *list;
	struct fl_prefix prefix;
	char err[512];
	int ret, version;
	size_t i, n;

	ret = fl_persist_load(d->opt.state_path, &state_format, &root,
			      &version, err, sizeof(err));
	if (ret == -ENOENT)
		return 0; /* first run */
	if (ret) {
		pr_warn("state file: %s; starting with default settings", err);
		return 0;
	}
	if (json_object_object_get_ex(root, "config", &config))
		restore_config(d, config);
	if (json_object_object_get_ex(root, "protect", &list) &&
	    json_object_is_type(list, json_type_array)) {
		n = json_object_array_length(list);
		for (i = 0; i < n; i++) {
			const char *text = json_object_get_string(
				json_object_array_get_idx(list, i));

			if (fl_prefix_parse(text, &prefix, err, sizeof(err))) {
				pr_warn("state file: %s", err);
				continue;
			}
			ret = protect_add(d, &prefix);
			if (ret && ret != -EEXIST)
				pr_warn("state file: cannot protect %s: %s",
					text, strerror(-ret));
		}
	}
	pr_info("restored settings from %s%s", d->opt.state_path,
		version < state_format.version ? " (an older version)" : "");
	json_object_put(root);
	return 0;
}
