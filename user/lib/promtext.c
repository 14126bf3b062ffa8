// SPDX-License-Identifier: Apache-2.0
#include <math.h>

#include "promtext.h"

void fl_prom_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		switch (*v) {
		case '\\':
			fputs("\\\\", f);
			break;
		case '"':
			fputs("\\\"", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		default:
			fputc(*v, f);
		}
	}
}

/* HELP text escapes backslash and newline (not quotes). */
static void help_text(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

void fl_prom_family(FILE *f, const char *name, const char *type,
		    const char *help)
{
	fprintf(f, "# HELP %s ", name);
	help_text(f, help);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

void fl_prom_sample(FILE *f, const char *name, const char *const *labels,
		    double value)
{
	int i, n = 0;

	fputs(name, f);
	for (i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
		fputs(n++ ? "," : "{", f);
		fprintf(f, "%s=\"", labels[i]);
		fl_prom_label_value(f, labels[i + 1]);
		fputc('"', f);
	}
	if (n)
		fputc('}', f);
	/* integers as integers (counters up to 2^53 exactly), the rest %g */
	if (value == floor(value) && fabs(value) < 9007199254740992.0)
		fprintf(f, " %.0f\n", value);
	else if (isnan(value))
		fputs(" NaN\n", f);
	else if (isinf(value))
		fputs(value > 0 ? " +Inf\n" : " -Inf\n", f);
	else
		fprintf(f, " %.17g\n", value);
}
