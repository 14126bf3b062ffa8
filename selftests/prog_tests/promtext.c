// SPDX-License-Identifier: Apache-2.0
/*
 * Prometheus' text format (user/lib/promtext.c), as /metrics writes it:
 * label values escaped as the format asks (nDPI's names have dots,
 * dashes and spaces, which need nothing; backslash, quote and newline
 * do), HELP text escaped, and values as Prometheus reads them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "promtext.h"
#include "test_progs.h"

/* What @fn wrote, as a string the caller frees. */
static char *written(void (*fn)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fn(f, arg);
	fclose(f);
	return buf;
}

struct one {
	const char *name;
	const char *const *labels;
	double value;
};

static void write_sample(FILE *f, const void *arg)
{
	const struct one *o = arg;

	fl_prom_sample(f, o->name, o->labels, o->value);
}

static void write_family(FILE *f, const void *arg)
{
	fl_prom_family(f, "flowlens_x_total", "counter", arg);
}

void test_promtext(void)
{
	static const char *const plain[] = { "app", "Google.Services-X y", NULL };
	static const char *const nasty[] = { "app", "a\\b\"c\nd", "k", "v", NULL };
	static const char *const cut[] = { "app", NULL, "k", "v", NULL };
	static const struct {
		struct one in;
		const char *out;
	} cases[] = {
		{ { "m_total", NULL, 42 }, "m_total 42\n" },
		{ { "m_total", plain, 7 },
		  "m_total{app=\"Google.Services-X y\"} 7\n" },
		{ { "m", nasty, 1 }, "m{app=\"a\\\\b\\\"c\\nd\",k=\"v\"} 1\n" },
		{ { "m", cut, 3 }, "m 3\n" },
		{ { "m", NULL, 0.25 }, "m 0.25\n" },
		{ { "m", NULL, 18446744073709551615.0 },
		  "m 1.8446744073709552e+19\n" },
		{ { "m", NULL, 9007199254740991.0 }, "m 9007199254740991\n" },
		{ { "m", NULL, NAN }, "m NaN\n" },
		{ { "m", NULL, INFINITY }, "m +Inf\n" },
		{ { "m", NULL, -INFINITY }, "m -Inf\n" },
	};
	size_t i;
	char *s;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test__case("sample %zu", i);
		s = written(write_sample, &cases[i].in);
		if (ASSERT_OK_PTR(s, "written"))
			ASSERT_STREQ(s, cases[i].out, "sample line");
		free(s);
	}
	test__case("family");
	s = written(write_family, "Packets \\ bytes\nand \"more\".");
	if (ASSERT_OK_PTR(s, "written"))
		ASSERT_STREQ(s,
			     "# HELP flowlens_x_total Packets \\\\ bytes\\nand \"more\".\n"
			     "# TYPE flowlens_x_total counter\n",
			     "HELP and TYPE lines");
	free(s);
}
