// SPDX-License-Identifier: Apache-2.0
/*
 * The state file: every setting an operator made, rewritten (atomically,
 * via rename) after each change. The pinned maps already carry settings
 * across a daemon restart; this file carries them across a reboot, when
 * bpffs starts empty.
 *
 *   {"version": 1, "config": {...settings_to_json...}, "protect": [...]}
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

#define STATE_VERSION 1

static int mkdir_parents(const char *path)
{
	char *copy = strdup(path), *dir, *p;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			err = -errno;
		*p = '/';
	}
	if (!err && mkdir(dir, 0755) && errno != EEXIST)
		err = -errno;
	free(copy);
	return err;
}

static int add_prefix(const struct fl_prefix *prefix, void *arg)
{
	char buf[FL_PREFIX_STRLEN];

	json_object_array_add(arg, json_object_new_string(fl_prefix_format(
					   prefix, buf, sizeof(buf))));
	return 0;
}

int state_save(struct daemon *d)
{
	struct json_object *root = json_object_new_object(), *list;
	char tmp[4096];
	struct fl_config cfg;
	int err;

	err = settings_read(d, &cfg);
	if (err)
		goto out;
	json_object_object_add(root, "version",
			       json_object_new_int(STATE_VERSION));
	json_object_object_add(root, "config", settings_to_json(&cfg));
	list = json_object_new_array();
	json_object_object_add(root, "protect", list);
	err = protect_for_each(d, add_prefix, list);
	if (err)
		goto out;

	err = mkdir_parents(d->opt.state_path);
	if (err)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->opt.state_path);
	if (json_object_to_file_ext(tmp, root,
				    JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE)) {
		err = -EIO;
		goto out;
	}
	if (rename(tmp, d->opt.state_path))
		err = -errno;
out:
	if (err)
		pr_warn("cannot save state to %s: %s", d->opt.state_path,
			strerror(-err));
	json_object_put(root);
	return err;
}

static int restore_config(struct daemon *d, struct json_object *config)
{
	static const char *const keys[] = { "malformed", "heavy-pps",
					    "heavy-bps" };
	static const char *const fields[] = { "malformed", "heavy_pps",
					      "heavy_bps" };
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
	char err[256];
	size_t i, n;

	if (access(d->opt.state_path, F_OK))
		return 0; /* first run */
	root = json_object_from_file(d->opt.state_path);
	if (!root) {
		pr_warn("cannot parse state file %s: %s; starting with defaults",
			d->opt.state_path, json_util_get_last_err());
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

			int ret;

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
	pr_info("restored settings from %s", d->opt.state_path);
	json_object_put(root);
	return 0;
}
