/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: the files flowlensd keeps (state, rules, SYN proxy, DDoS engine),
 * written and read one way.
 *
 * Every file is one JSON object, an envelope around the module's payload:
 *
 *   {"format": "flowlens-rules", "version": 2, "saved_at": 1700000000,
 *    ...the payload's own keys...}
 *
 *   fl_persist_save()   the module's fill callback adds its payload; the
 *                       whole is written to a temporary file in the same
 *                       directory, fsynced, renamed over the target and the
 *                       directory fsynced, so a crash leaves the old file or
 *                       the new one, never a mix. Parent directories are
 *                       created; the file is 0600. Errors are logged with
 *                       the path and returned as -errno; on any error the
 *                       old file is left as it was.
 *   fl_persist_load()   reads a file back, checks its format name and
 *                       version and hands the whole object to the module.
 *                       Files from before the envelope (a "version" of at
 *                       most legacy_version and no "format") are handed over
 *                       as they are, with their version; a file that is not
 *                       JSON at all is -ENOMSG, for a module that had a text
 *                       format once. A file of another format or a newer
 *                       version is refused, and this process never writes
 *                       over it as that format (fl_persist_save() then
 *                       fails with -EROFS):
 *                       an older flowlensd must not destroy a newer one's
 *                       state.
 *
 * The module keeps its own data code; only the mechanics live here.
 */
#ifndef FL_PERSIST_H
#define FL_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <linux/types.h>

struct fl_persist_format {
	const char *name; /* "flowlens-rules" */
	int version; /* what this flowlensd writes, and the newest it reads */
	/* Files without "format" whose "version" is 1..legacy_version are
	 * read as they are (their payload keys were the same); 0: none. */
	int legacy_version;
	bool compact; /* one line rather than indented */
};

/* Adds the payload's keys to @root; 0 or -errno (then nothing is written). */
typedef int (*fl_persist_fill_fn)(struct json_object *root, void *arg);

int fl_persist_save(const char *path, const struct fl_persist_format *fmt,
		    fl_persist_fill_fn fill, void *arg);

/*
 * 0: *@root is the file's object (put it when done), *@version its version
 * (below fmt->version: an older file, maybe a legacy one). -ENOENT: there is
 * no file (nothing in @err). Otherwise @err says what is wrong, naming the
 * path: -ENOMSG not JSON, -EBADMSG not a JSON object, -EPROTO another format,
 * -ENOTSUP a version newer than fmt->version (the last two are then never
 * written over by this process).
 */
int fl_persist_load(const char *path, const struct fl_persist_format *fmt,
		    struct json_object **root, int *version, char *err,
		    size_t errlen);

/* The file's "saved_at" (seconds since the epoch); 0 when it has none. */
long long fl_persist_saved_at(struct json_object *root);

/* A key of a loaded object: its number (0 when absent), its string (""
 * when absent). For the modules reading their payload back. */
__u64 fl_json_u64(struct json_object *o, const char *key);
const char *fl_json_str(struct json_object *o, const char *key);

/* Creates the directories above @path (0755); 0 or -errno. */
int fl_persist_mkdir_parents(const char *path);

#endif /* FL_PERSIST_H */
