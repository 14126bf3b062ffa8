// SPDX-License-Identifier: Apache-2.0
/*
 * The one writer and the one reader of the files flowlensd keeps
 * (persist.h says what the envelope is and what each call promises).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "persist.h"

#define PERSIST_MODE 0600
#define PERSIST_DIR_MODE 0755
#define PERSIST_SEEN_MAX 32

/*
 * The files this process has looked at, each as one format (what a
 * module reads it as): refused ones (another format, a newer version) are
 * never written over as that format, whatever a module asks later;
 * checked ones were read, or written by us, so a save need not look
 * first. A save of a path not seen yet reads the file once (a module may
 * save without having loaded, as when the pinned maps carried the state).
 * Saves run on the control thread; the lock only makes that assumption
 * unnecessary.
 */
enum seen { SEEN_NOT, SEEN_CHECKED, SEEN_REFUSED };

static struct {
	pthread_mutex_t lock;
	struct {
		char *path;
		const char *format;
		enum seen seen;
	} files[PERSIST_SEEN_MAX];
	int nr;
} seen_files = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool seen_is(int i, const char *path,
		    const struct fl_persist_format *fmt)
{
	return !strcmp(seen_files.files[i].path, path) &&
	       !strcmp(seen_files.files[i].format, fmt->name);
}

static void seen_set(const char *path, const struct fl_persist_format *fmt,
		     enum seen seen)
{
	int i;

	pthread_mutex_lock(&seen_files.lock);
	for (i = 0; i < seen_files.nr; i++)
		if (seen_is(i, path, fmt))
			break;
	if (i == seen_files.nr && i < PERSIST_SEEN_MAX) {
		/* Full, or out of memory: the path is looked at again. */
		seen_files.files[i].path = strdup(path);
		seen_files.files[i].format = fmt->name;
		if (seen_files.files[i].path)
			seen_files.nr++;
	}
	if (i < seen_files.nr)
		seen_files.files[i].seen = seen;
	pthread_mutex_unlock(&seen_files.lock);
}

static enum seen seen_get(const char *path,
			  const struct fl_persist_format *fmt)
{
	enum seen seen = SEEN_NOT;
	int i;

	pthread_mutex_lock(&seen_files.lock);
	for (i = 0; i < seen_files.nr; i++)
		if (seen_is(i, path, fmt))
			seen = seen_files.files[i].seen;
	pthread_mutex_unlock(&seen_files.lock);
	return seen;
}

int fl_persist_mkdir_parents(const char *path)
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
		if (mkdir(dir, PERSIST_DIR_MODE) && errno != EEXIST)
			err = -errno;
		*p = '/';
	}
	if (!err && mkdir(dir, PERSIST_DIR_MODE) && errno != EEXIST)
		err = -errno;
	free(copy);
	return err;
}

/* The rename is durable once the directory entry is. */
static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, err = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return err;
}

/* @tmp ("<path>.tmp.XXXXXX") gets @text, durably, then replaces @path. */
static int replace_file(const char *path, char *tmp, const char *text,
			size_t len)
{
	int fd, err;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, PERSIST_MODE) ? -errno : 0;
	if (!err)
		err = fl_write_all(fd, text, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return fsync_dir_of(path);
}

int fl_persist_save(const char *path, const struct fl_persist_format *fmt,
		    fl_persist_fill_fn fill, void *arg)
{
	struct json_object *root = NULL;
	enum seen seen;
	const char *text;
	char *tmp = NULL;
	size_t len;
	int err;

	seen = seen_get(path, fmt);
	if (seen == SEEN_NOT) {
		char why[512];
		int version;

		err = fl_persist_load(path, fmt, &root, &version, why,
				      sizeof(why));
		json_object_put(root);
		if (err == -EPROTO || err == -ENOTSUP) {
			pr_err("%s", why);
			seen = SEEN_REFUSED;
		}
	}
	if (seen == SEEN_REFUSED) {
		pr_debug("not saving %s: it is not a %s file this flowlensd writes",
			 path, fmt->name);
		return -EROFS;
	}
	root = json_object_new_object();
	if (!root) {
		err = -ENOMEM;
		goto out;
	}
	json_object_object_add(root, "format",
			       json_object_new_string(fmt->name));
	json_object_object_add(root, "version",
			       json_object_new_int(fmt->version));
	json_object_object_add(root, "saved_at",
			       json_object_new_int64(time(NULL)));
	err = fill(root, arg);
	if (err)
		goto out;
	text = json_object_to_json_string_length(
		root,
		(fmt->compact ? JSON_C_TO_STRING_PLAIN :
				JSON_C_TO_STRING_PRETTY) |
			JSON_C_TO_STRING_NOSLASHESCAPE,
		&len);
	if (!text) {
		err = -ENOMEM;
		goto out;
	}
	err = fl_persist_mkdir_parents(path);
	if (err)
		goto out;
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		err = -ENOMEM;
		goto out;
	}
	err = replace_file(path, tmp, text, len);
	if (!err)
		seen_set(path, fmt, SEEN_CHECKED);
out:
	if (err)
		pr_warn("cannot save %s: %s", path, strerror(-err));
	free(tmp);
	json_object_put(root);
	return err;
}

/* The first character that is not white space, or EOF. */
static int first_char(FILE *f)
{
	int c;

	do
		c = getc(f);
	while (c != EOF && isspace(c));
	return c;
}

static struct json_object *parse_file(FILE *f, char *err, size_t errlen,
				      const char *path)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = NULL;
	enum json_tokener_error jerr = json_tokener_continue;
	char buf[65536];
	size_t n;

	if (!tok) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		obj = json_tokener_parse_ex(tok, buf, n);
		jerr = json_tokener_get_error(tok);
		if (jerr != json_tokener_continue)
			break;
	}
	if (ferror(f))
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
	else if (jerr == json_tokener_continue)
		snprintf(err, errlen, "%s: not valid JSON: the file ends early",
			 path);
	else if (jerr != json_tokener_success)
		snprintf(err, errlen, "%s: not valid JSON: %s", path,
			 json_tokener_error_desc(jerr));
	if (ferror(f) || jerr != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

int fl_persist_load(const char *path, const struct fl_persist_format *fmt,
		    struct json_object **root, int *version, char *err,
		    size_t errlen)
{
	struct json_object *obj = NULL, *v;
	const char *format = NULL;
	int ret, c, file_version = 0;
	FILE *f;

	*root = NULL;
	*version = 0;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		if (ret != -ENOENT)
			snprintf(err, errlen, "cannot read %s: %s", path,
				 strerror(-ret));
		return ret;
	}
	c = first_char(f);
	if (c != '{') {
		fclose(f);
		snprintf(err, errlen, "%s: not a JSON file", path);
		return -ENOMSG;
	}
	ungetc(c, f);
	obj = parse_file(f, err, errlen, path);
	fclose(f);
	if (!obj)
		return -EBADMSG;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "%s: not a JSON object", path);
		ret = -EBADMSG;
		goto out;
	}
	if (json_object_object_get_ex(obj, "format", &v))
		format = json_object_get_string(v);
	if (json_object_object_get_ex(obj, "version", &v) &&
	    json_object_is_type(v, json_type_int))
		file_version = json_object_get_int(v);

	if (!format && fmt->legacy_version && file_version >= 1 &&
	    file_version <= fmt->legacy_version) {
		ret = 0; /* from before the envelope: the payload as it was */
		seen_set(path, fmt, SEEN_CHECKED);
		goto out;
	}
	if (!format || strcmp(format, fmt->name)) {
		snprintf(err, errlen,
			 "%s is not a %s file (its format is %s%s%s): not read, and left as it is",
			 path, fmt->name, format ? "'" : "",
			 format ?: "not named", format ? "'" : "");
		seen_set(path, fmt, SEEN_REFUSED);
		ret = -EPROTO;
		goto out;
	}
	if (file_version > fmt->version) {
		snprintf(err, errlen,
			 "%s is version %d of %s, newer than this flowlensd knows (%d): not read, and left as it is (not written while this flowlensd runs); run a flowlensd that knows version %d, or move the file away to start afresh",
			 path, file_version, fmt->name, fmt->version,
			 file_version);
		seen_set(path, fmt, SEEN_REFUSED);
		ret = -ENOTSUP;
		goto out;
	}
	if (file_version < 1) {
		snprintf(err, errlen, "%s: %s file without a valid version",
			 path, fmt->name);
		ret = -EBADMSG;
		goto out;
	}
	ret = 0;
	seen_set(path, fmt, SEEN_CHECKED);
out:
	if (ret) {
		json_object_put(obj);
		return ret;
	}
	*root = obj;
	*version = file_version;
	return 0;
}

long long fl_persist_saved_at(struct json_object *root)
{
	struct json_object *v;

	if (!json_object_object_get_ex(root, "saved_at", &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

__u64 fl_json_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_uint64(v) :
		       0;
}

const char *fl_json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
		       json_object_get_string(v) :
		       "";
}
