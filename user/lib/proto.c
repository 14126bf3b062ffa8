// SPDX-License-Identifier: Apache-2.0
/* The protocol table (proto.h) and the lookups both sides share. */
#include <stdbool.h>
#include <string.h>

#include "proto.h"

const struct fl_proto_cmd fl_proto_cmds[FL_PROTO_COUNT] = {
#define FL_X_ENTRY(id, object_, words_, request_, synopsis_, help_) \
	[FL_PROTO_##id] = {                                         \
		.object = #object_,                                 \
		.words = words_,                                    \
		.request = request_,                                \
		.synopsis = synopsis_,                              \
		.help = help_,                                      \
	},
	FL_PROTO_COMMANDS(FL_X_ENTRY)
#undef FL_X_ENTRY
};

const char *const fl_proto_objects[] = {
#define FL_X_OBJECT(name) #name,
	FL_PROTO_OBJECTS(FL_X_OBJECT)
#undef FL_X_OBJECT
		NULL,
};

const struct fl_proto_cmd *fl_proto_find(const char *request)
{
	int i;

	for (i = 0; i < FL_PROTO_COUNT; i++)
		if (!strcmp(fl_proto_cmds[i].request, request))
			return &fl_proto_cmds[i];
	return NULL;
}

/*
 * If @words continues @path ("threshold add" continues "threshold" and
 * ""), the next word's start and length.
 */
static bool next_word(const char *words, const char *path, const char **word,
		      size_t *len)
{
	size_t plen = strlen(path);

	if (plen) {
		if (strncmp(words, path, plen) || words[plen] != ' ')
			return false;
		words += plen + 1;
	}
	if (!*words)
		return false;
	*word = words;
	*len = strcspn(words, " ");
	return true;
}

int fl_proto_next_words(const char *object, const char *path,
			struct fl_proto_words *w)
{
	int i, j;

	w->n = 0;
	w->leaf = NULL;
	for (i = 0; i < FL_PROTO_COUNT; i++) {
		const struct fl_proto_cmd *c = &fl_proto_cmds[i];
		const char *word;
		size_t len;

		if (strcmp(c->object, object))
			continue;
		if (!strcmp(c->words, path)) {
			w->leaf = c;
			continue;
		}
		if (!next_word(c->words, path, &word, &len) ||
		    len >= FL_PROTO_WORD_MAX)
			continue;
		for (j = 0; j < w->n; j++)
			if (strlen(w->word[j]) == len &&
			    !strncmp(w->word[j], word, len))
				break;
		if (j < w->n || w->n == FL_PROTO_WORDS_MAX)
			continue;
		memcpy(w->word[w->n], word, len);
		w->word[w->n][len] = '\0';
		w->name[w->n] = w->word[w->n];
		w->n++;
	}
	return w->n;
}

int fl_proto_match(const char *arg, const char *const *names, int n, int *first,
		   int *second)
{
	size_t len = strlen(arg);
	int i, match = -1;

	if (!len)
		return -1;
	for (i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return i;
	for (i = 0; i < n; i++) {
		if (strncmp(arg, names[i], len))
			continue;
		if (match >= 0) {
			*first = match;
			*second = i;
			return -2;
		}
		match = i;
	}
	return match;
}
