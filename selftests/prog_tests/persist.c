// SPDX-License-Identifier: Apache-2.0
/*
 * The persistence layer (user/lib/persist.c): what it writes reads back,
 * the envelope is checked (another format or a newer version is refused
 * and never written over), a failed save leaves the old file whole and no
 * temporary file behind, and the files flowlensd wrote before the envelope
 * (state.json, synproxy.json and ddos.json version 1, the text rules.conf)
 * are still read, from files written as those writers wrote them.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "persist.h"
#include "rule.h"
#include "test_progs.h"

static const struct fl_persist_format fmt_test = {
	.name = "flowlens-test",
	.version = 2,
	.legacy_version = 1,
};
static const struct fl_persist_format fmt_other = {
	.name = "flowlens-other",
	.version = 2,
};

static char dir[64];

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

static char *read_text(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Entries of the test directory other than the files a test expects:
 * what a save may leave behind (a "*.tmp.*"). */
static int stray_files(const char *where)
{
	struct dirent *e;
	DIR *d = opendir(where);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".tmp")) {
			test__log("left behind: %s", e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

struct payload {
	int items;
	int fail; /* the serializer's error, 0: none */
};

static int fill(struct json_object *root, void *arg)
{
	const struct payload *p = arg;
	struct json_object *list = json_object_new_array();
	int i;

	json_object_object_add(root, "items", list);
	for (i = 0; i < p->items; i++)
		json_object_array_add(list, json_object_new_int(i));
	return p->fail;
}

static void round_trip(void)
{
	struct payload p = { .items = 3 };
	struct json_object *root = NULL, *v;
	char path[128], err[512];
	struct stat st;
	int version = -1;

	test__case("round trip");
	path_of(path, sizeof(path), "a/b/round.json"); /* parents created */
	if (!ASSERT_OK(fl_persist_save(path, &fmt_test, fill, &p), "save"))
		return;
	ASSERT_OK(stat(path, &st), "stat");
	ASSERT_EQ(st.st_mode & 0777, 0600, "mode");
	if (!ASSERT_OK(fl_persist_load(path, &fmt_test, &root, &version, err,
				       sizeof(err)),
		       "load"))
		return;
	ASSERT_EQ(version, 2, "version");
	ASSERT_TRUE(json_object_object_get_ex(root, "format", &v), "format");
	ASSERT_STREQ(json_object_get_string(v), "flowlens-test", "format");
	ASSERT_GT(fl_persist_saved_at(root), 1600000000, "saved_at");
	ASSERT_TRUE(json_object_object_get_ex(root, "items", &v), "items");
	ASSERT_EQ(json_object_array_length(v), 3, "items");
	json_object_put(root);

	/* Replaced: the second save's payload is what is read. */
	p.items = 5;
	ASSERT_OK(fl_persist_save(path, &fmt_test, fill, &p), "save again");
	ASSERT_OK(fl_persist_load(path, &fmt_test, &root, &version, err,
				  sizeof(err)),
		  "load again");
	json_object_object_get_ex(root, "items", &v);
	ASSERT_EQ(json_object_array_length(v), 5, "items replaced");
	json_object_put(root);
	path_of(path, sizeof(path), "a/b");
	ASSERT_EQ(stray_files(path), 0, "no temporary file left");

	test__case("missing file");
	path_of(path, sizeof(path), "none.json");
	ASSERT_EQ(fl_persist_load(path, &fmt_test, &root, &version, err,
				  sizeof(err)),
		  -ENOENT, "no file");
}

/* Another format, a newer version: refused, and never written over. */
static void refused(void)
{
	struct payload p = { .items = 1 };
	struct json_object *root = NULL;
	char path[128], err[512], before[8192];
	int version;

	test__case("another format");
	path_of(path, sizeof(path), "other.json");
	ASSERT_OK(fl_persist_save(path, &fmt_other, fill, &p), "save other");
	snprintf(before, sizeof(before), "%s", read_text(path));
	ASSERT_EQ(fl_persist_load(path, &fmt_test, &root, &version, err,
				  sizeof(err)),
		  -EPROTO, "load as another format");
	ASSERT_NULL(root, "nothing handed over");
	ASSERT_TRUE(strstr(err, path) && strstr(err, "flowlens-other"),
		    "the message names the file and its format");
	test__log("%s", err);
	ASSERT_EQ(fl_persist_save(path, &fmt_test, fill, &p), -EROFS,
		  "not written over");
	ASSERT_STREQ(read_text(path), before, "left as it was");
	/* Refused as flowlens-test only ('flctl rule load state.json' must
	 * not stop the state file from being saved). */
	ASSERT_OK(fl_persist_save(path, &fmt_other, fill, &p),
		  "still saved as its own format");

	test__case("newer version");
	path_of(path, sizeof(path), "newer.json");
	write_text(path, "{\"format\": \"flowlens-test\", \"version\": 3, "
			 "\"saved_at\": 1700000000, \"items\": [], "
			 "\"what\": \"a later flowlensd's\"}\n");
	snprintf(before, sizeof(before), "%s", read_text(path));
	ASSERT_EQ(fl_persist_load(path, &fmt_test, &root, &version, err,
				  sizeof(err)),
		  -ENOTSUP, "load a newer version");
	ASSERT_NULL(root, "nothing handed over");
	ASSERT_TRUE(strstr(err, "version 3") && strstr(err, "(2)"),
		    "the message names both versions");
	test__log("%s", err);
	ASSERT_EQ(fl_persist_save(path, &fmt_test, fill, &p), -EROFS,
		  "not written over");
	ASSERT_STREQ(read_text(path), before, "left as it was");

	/* A module that saves without having loaded (its state came from
	 * the pinned maps) must not write over a newer file either. */
	test__case("newer version, saved without a load");
	path_of(path, sizeof(path), "newer2.json");
	write_text(path, before);
	ASSERT_EQ(fl_persist_save(path, &fmt_test, fill, &p), -EROFS,
		  "not written over");
	ASSERT_STREQ(read_text(path), before, "left as it was");

	test__case("a legacy version it does not know");
	path_of(path, sizeof(path), "legacy2.json");
	write_text(path, "{\"version\": 2, \"items\": []}");
	ASSERT_EQ(fl_persist_load(path, &fmt_test, &root, &version, err,
				  sizeof(err)),
		  -EPROTO, "no format, version 2");

	test__case("not JSON, broken JSON");
	path_of(path, sizeof(path), "text.conf");
	write_text(path, "# a text file\ndst 192.0.2.1 action drop\n");
	ASSERT_EQ(fl_persist_load(path, &fmt_test, &root, &version, err,
				  sizeof(err)),
		  -ENOMSG, "text");
	path_of(path, sizeof(path), "torn.json");
	write_text(path, "{\"format\": \"flowlens-test\", \"vers");
	ASSERT_EQ(fl_persist_load(path, &fmt_test, &root, &version, err,
				  sizeof(err)),
		  -EBADMSG, "torn");
	ASSERT_EQ(stray_files(dir), 0, "no temporary file left");
}

/* A save that fails leaves the old file whole, and nothing beside it. */
static void failed_save(void)
{
	struct payload p = { .items = 2 };
	char path[128], sub[128], before[8192];
	int status;
	pid_t pid;

	test__case("serializer fails");
	path_of(path, sizeof(path), "keep.json");
	ASSERT_OK(fl_persist_save(path, &fmt_test, fill, &p), "first save");
	snprintf(before, sizeof(before), "%s", read_text(path));
	p.items = 9;
	p.fail = -EINVAL;
	ASSERT_EQ(fl_persist_save(path, &fmt_test, fill, &p), -EINVAL,
		  "the serializer's error");
	ASSERT_STREQ(read_text(path), before, "old content intact");
	ASSERT_EQ(stray_files(dir), 0, "no temporary file left");

	/* The rename fails (a directory is in the way): the temporary
	 * file, written by then, goes. */
	test__case("rename fails");
	p.fail = 0;
	path_of(path, sizeof(path), "in-the-way");
	mkdir(path, 0755);
	path_of(path, sizeof(path), "in-the-way/x");
	write_text(path, "");
	path_of(path, sizeof(path), "in-the-way");
	ASSERT_EQ(fl_persist_save(path, &fmt_test, fill, &p), -EISDIR,
		  "the rename's error");
	ASSERT_EQ(stray_files(dir), 0, "no temporary file left");

	/* The tests run as root, which writes anywhere: a child that is
	 * not root tries it in a directory it may not write to. */
	test__case("directory not writable");
	path_of(sub, sizeof(sub), "ro");
	mkdir(sub, 0755);
	path_of(path, sizeof(path), "ro/keep.json");
	p.fail = 0;
	p.items = 2;
	ASSERT_OK(fl_persist_save(path, &fmt_test, fill, &p), "first save");
	snprintf(before, sizeof(before), "%s", read_text(path));
	chmod(path, 0666); /* the file itself writable: only the directory stops it */
	pid = fork();
	if (pid == 0) {
		p.items = 9;
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(fl_persist_save(path, &fmt_test, fill, &p) == -EACCES ?
			      0 :
			      1);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the save fails with EACCES");
	ASSERT_STREQ(read_text(path), before, "old content intact");
	ASSERT_EQ(stray_files(sub), 0, "no temporary file left");
}

/*
 * Files as the writers before the envelope wrote them (json-c, pretty or
 * plain, "version": 1 and no "format"; rules.conf as text).
 */
static const char legacy_state[] =
	"{\n  \"version\":1,\n  \"config\":{\n    \"mode\":\"host\",\n"
	"    \"malformed\":\"drop\",\n    \"heavy_pps\":4321,\n"
	"    \"heavy_bps\":10000000,\n    \"escalate\":\"off\",\n"
	"    \"escalate_tcp\":24,\n    \"escalate_udp\":16,\n"
	"    \"escalate_pps\":20000\n  },\n  \"protect\":[\n"
	"    \"198.51.100.0/24\",\n    \"2001:db8:2::/64\"\n  ]\n}";
static const char legacy_synproxy[] =
	"{\n  \"version\":1,\n  \"services\":[\n    {\n"
	"      \"addr\":\"192.0.2.10\",\n      \"port\":80,\n"
	"      \"mss\":1460,\n      \"wscale\":7\n    }\n  ],\n"
	"  \"nft_table\":true,\n  \"tcp_loose_saved\":1\n}";
static const char legacy_ddos[] =
	"{\"version\":1,\"next_id\":4,\"thresholds\":"
	"[\"198.51.100.0/24 pps 10000 action drop hold 10\"],\"allow\":[\"192.0.2.0/24\"],"
	"\"active\":[],\"history\":[]}";
static const char legacy_rules[] =
	"# flowlens rules: one per line, as 'flctl rule load' reads them\n"
	"# saved-at 1700000000\n"
	"order 100 dst 198.51.100.1/32 proto udp dport 7000 action drop\n"
	"order 50 dst 2001:db8::1/128 action rate-limit 1000pps burst 100 expires 600\n";

static void legacy_json(const char *name, const char *text, const char *key,
			const char *first)
{
	struct json_object *root = NULL, *v;
	char path[128], err[512];
	int version = -1;

	test__case("legacy %s", name);
	path_of(path, sizeof(path), name);
	write_text(path, text);
	if (!ASSERT_OK(fl_persist_load(path, &fmt_test, &root, &version, err,
				       sizeof(err)),
		       "load"))
		return;
	ASSERT_EQ(version, 1, "version");
	ASSERT_TRUE(json_object_object_get_ex(root, key, &v), "payload key");
	if (first)
		ASSERT_STREQ(json_object_get_string(
				     json_object_array_get_idx(v, 0)),
			     first, "payload");
	json_object_put(root);
}

static void legacy(void)
{
	struct json_object *root = NULL;
	char path[128], err[512], line[256];
	struct fl_rule rule;
	int version, n = 0;
	FILE *f;

	legacy_json("state.json", legacy_state, "protect", "198.51.100.0/24");
	legacy_json("synproxy.json", legacy_synproxy, "services", NULL);
	legacy_json("ddos.json", legacy_ddos, "thresholds",
		    "198.51.100.0/24 pps 10000 action drop hold 10");

	/* The text rules file: not JSON, so its module reads it as text. */
	test__case("legacy rules.conf");
	path_of(path, sizeof(path), "rules.conf");
	write_text(path, legacy_rules);
	ASSERT_EQ(fl_persist_load(path, &fmt_other, &root, &version, err,
				  sizeof(err)),
		  -ENOMSG, "not JSON");
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		int ret = fl_rule_parse_line(line, 100, &rule, err,
					     sizeof(err));

		if (ret == -ENODATA)
			continue;
		ASSERT_OK(ret, line);
		n++;
	}
	if (f)
		fclose(f);
	ASSERT_EQ(n, 2, "rules read");
	/* Written over by the current writer, it reads back enveloped. */
	ASSERT_OK(fl_persist_save(path, &fmt_other, fill,
				  &(struct payload){ .items = 1 }),
		  "save over the text file");
	ASSERT_OK(fl_persist_load(path, &fmt_other, &root, &version, err,
				  sizeof(err)),
		  "load");
	ASSERT_EQ(version, 2, "version");
	json_object_put(root);
}

void test_persist(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/fl-persist-XXXXXX");
	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	chmod(dir, 0755);
	round_trip();
	refused();
	failed_save();
	legacy();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		test__log("cannot remove %s", dir);
}
