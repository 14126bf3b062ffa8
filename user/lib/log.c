// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_prog = "flowlens";
static enum fl_log_level log_threshold = FL_LOG_INFO;

void fl_log_init(const char *prog, enum fl_log_level level)
{
	log_prog = prog;
	log_threshold = level;
}

void fl_log_set_level(enum fl_log_level level)
{
	log_threshold = level;
}

enum fl_log_level fl_log_level(void)
{
	return log_threshold;
}

void fl_log_v(enum fl_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error: ", "warning: ", "", "" };

	if (level > log_threshold)
		return;
	fprintf(stderr, "%s: %s", log_prog, names[level]);
	vfprintf(stderr, fmt, ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

void fl_log(enum fl_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fl_log_v(level, fmt, ap);
	va_end(ap);
}

int fl_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}
