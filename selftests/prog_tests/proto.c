// SPDX-License-Identifier: Apache-2.0
/*
 * The protocol table (user/lib/proto.h) on its own: every entry complete,
 * no request or command twice, every object known, and the abbreviations
 * users and the tests rely on resolving to one command (or named as
 * ambiguous), through the same matcher flctl dispatches with.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "test_progs.h"

static bool is_object(const char *name)
{
	int i;

	for (i = 0; fl_proto_objects[i]; i++)
		if (!strcmp(fl_proto_objects[i], name))
			return true;
	return false;
}

static void check_entries(void)
{
	char full[FL_PROTO_COUNT][64];
	int i, j;

	ASSERT_GE(FL_PROTO_COUNT, 30, "commands in the table");
	for (i = 0; i < FL_PROTO_COUNT; i++) {
		const struct fl_proto_cmd *c = &fl_proto_cmds[i];

		test__case("%s", c->request ?: "(null)");
		if (!ASSERT_OK_PTR(c->request, "request") ||
		    !ASSERT_OK_PTR(c->object, "object") ||
		    !ASSERT_OK_PTR(c->words, "words") ||
		    !ASSERT_OK_PTR(c->synopsis, "synopsis") ||
		    !ASSERT_OK_PTR(c->help, "help"))
			continue;
		ASSERT_TRUE(*c->request, "request not empty");
		ASSERT_TRUE(*c->help, "help not empty");
		ASSERT_FALSE(strchr(c->help, '\n'), "help on one line");
		ASSERT_TRUE(is_object(c->object),
			    "object is in FL_PROTO_OBJECTS");
		ASSERT_EQ(fl_proto_find(c->request), c, "fl_proto_find");
		snprintf(full[i], sizeof(full[i]), "%s %s", c->object,
			 c->words);
		for (j = 0; j < i; j++) {
			ASSERT_TRUE(strcmp(fl_proto_cmds[j].request,
					   c->request),
				    "request name unique");
			ASSERT_TRUE(strcmp(full[j], full[i]),
				    "object and words unique");
		}
	}
	test__case("objects");
	for (i = 0; fl_proto_objects[i]; i++) {
		for (j = 0; j < FL_PROTO_COUNT; j++)
			if (!strcmp(fl_proto_cmds[j].object,
				    fl_proto_objects[i]))
				break;
		ASSERT_LT(j, FL_PROTO_COUNT, fl_proto_objects[i]);
	}
	ASSERT_NULL(fl_proto_find("frob"), "fl_proto_find(frob)");
}

/*
 * An abbreviated command line, as flctl resolves it: the object among the
 * objects and "help", then each word among what the table lets follow.
 * Returns the entry reached, or NULL with why in err.
 */
static const struct fl_proto_cmd *resolve(const char *line, char *err,
					  size_t errlen)
{
	char copy[128], path[64] = "", *word, *save = NULL;
	const char *names[FL_PROTO_WORDS_MAX], *object = NULL;
	struct fl_proto_words w;
	int n, idx, first, second;

	snprintf(copy, sizeof(copy), "%s", line);
	for (word = strtok_r(copy, " ", &save); word;
	     word = strtok_r(NULL, " ", &save)) {
		if (!object) {
			for (n = 0; fl_proto_objects[n]; n++)
				names[n] = fl_proto_objects[n];
			names[n++] = "help";
			idx = fl_proto_match(word, names, n, &first, &second);
			if (idx < 0)
				goto bad;
			object = names[idx];
			continue;
		}
		fl_proto_next_words(object, path, &w);
		if (w.leaf)
			return w.leaf;
		w.name[w.n++] = "help";
		idx = fl_proto_match(word, w.name, w.n, &first, &second);
		if (idx < 0) {
			memcpy(names, w.name, sizeof(w.name));
			goto bad;
		}
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "%s%s", *path ? " " : "", w.name[idx]);
	}
	if (!object)
		return NULL;
	fl_proto_next_words(object, path, &w);
	if (!w.leaf)
		snprintf(err, errlen, "'%s %s' is not a command", object, path);
	return w.leaf;
bad:
	if (idx == -2)
		snprintf(err, errlen, "'%s' is ambiguous: %s or %s?", word,
			 names[first], names[second]);
	else
		snprintf(err, errlen, "unknown '%s'", word);
	return NULL;
}

static const struct {
	const char *line, *request, *error;
} abbreviations[] = {
	{ "sh st", "stats", NULL },
	{ "show stats", "stats", NULL },
	{ "sh w", "workers", NULL },
	{ "sh a", "apps", NULL },
	{ "sh f", "flows", NULL },
	{ "t", "top", NULL },
	{ "t s", "top", NULL }, /* src: top's own word */
	{ "pr a", "protect-add", NULL },
	{ "pro d", "protect-del", NULL },
	{ "pr l", "protect-list", NULL },
	{ "p l", NULL, "'p' is ambiguous: protect or policy?" },
	{ "poli a", NULL, "'poli' is ambiguous: policy or policer?" },
	{ "policy a", "policy-add", NULL },
	{ "policer l", "policer-list", NULL },
	{ "co sh", "config-show", NULL },
	{ "c sh", "config-show", NULL },
	{ "co se", "config-set", NULL },
	{ "v", NULL, "'v' is ambiguous: voip or version?" },
	{ "ve", "version", NULL },
	{ "ru li", "rule-list", NULL },
	{ "ru l", NULL, "'l' is ambiguous: list or load?" },
	{ "r d", "rule-del", NULL },
	{ "ddos t d", "ddos-threshold-del", NULL },
	{ "dd thr a", "ddos-threshold-add", NULL },
	{ "ddos al d", "ddos-allow-del", NULL },
	{ "ddos at", "ddos-attacks", NULL },
	{ "ddos st", "ddos-status", NULL },
	{ "sy st", "synproxy-stats", NULL },
	{ "s", NULL, "'s' is ambiguous: show or synproxy?" },
	{ "ddos a", NULL, "'a' is ambiguous: allow or attacks?" },
	{ "config s", NULL, "'s' is ambiguous: show or set?" },
	{ "rule frob", NULL, "unknown 'frob'" },
};

static void check_abbreviations(void)
{
	const struct fl_proto_cmd *c;
	char err[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(abbreviations); i++) {
		test__case("flctl %s", abbreviations[i].line);
		err[0] = '\0';
		c = resolve(abbreviations[i].line, err, sizeof(err));
		if (abbreviations[i].request) {
			if (ASSERT_OK_PTR(c, err))
				ASSERT_STREQ(c->request,
					     abbreviations[i].request,
					     "request");
		} else {
			ASSERT_NULL(c, "no command");
			ASSERT_STREQ(err, abbreviations[i].error, "error");
		}
	}
	/* "help" is a word at every level: "flctl h", "flctl sh he" */
	test__case("help");
	{
		const char *names[] = { "show", "help" };
		int first, second;

		ASSERT_EQ(fl_proto_match("h", names, 2, &first, &second), 1,
			  "h is help");
		ASSERT_EQ(fl_proto_match("", names, 2, &first, &second), -1,
			  "empty matches nothing");
	}
}

void test_proto(void)
{
	check_entries();
	check_abbreviations();
}
