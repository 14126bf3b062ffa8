/* SPDX-License-Identifier: Apache-2.0 */
/* API: leveled logging to stderr, prefixed with the program name. */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum fl_log_level {
	FL_LOG_ERROR = 0,
	FL_LOG_WARN,
	FL_LOG_INFO,
	FL_LOG_DEBUG,
};

void fl_log_init(const char *prog, enum fl_log_level level);
void fl_log_set_level(enum fl_log_level level);
enum fl_log_level fl_log_level(void);
void fl_log(enum fl_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fl_log_v(enum fl_log_level level, const char *fmt, va_list ap);

/* Writes the message into @err (a command's reply) and returns @ret: the
 * one way a parser or command handler says what is wrong. */
int fl_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define pr_err(...) fl_log(FL_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) fl_log(FL_LOG_WARN, __VA_ARGS__)
#define pr_info(...) fl_log(FL_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) fl_log(FL_LOG_DEBUG, __VA_ARGS__)

#endif /* FL_LOG_H */
