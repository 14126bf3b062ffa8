/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: numbers as operators type and read them.
 *   fl_parse_count("500k") -> 500000 (k, M, G: powers of 1000)
 *   fl_format_si(1234567, buf) -> "1.23M"
 */
#ifndef FL_UNITS_H
#define FL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* 0, or -EINVAL unless text is a plain decimal number (digits, at most one
 * '.') with an optional k/M/G suffix whose value is a whole number. */
int fl_parse_count(const char *text, uint64_t *value);
const char *fl_format_si(double value, char *buf, size_t len);

#endif /* FL_UNITS_H */
