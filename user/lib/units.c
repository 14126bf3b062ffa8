// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "units.h"

/* Digits, at most one '.', then an optional k/M/G; the value must come out
 * whole (2.5k is 2500; 0.5 is refused). No signs, hex or exponents. */
int fl_parse_count(const char *text, uint64_t *value)
{
	double multiplier = 1, v;
	const char *p = text;
	int dots = 0, digits = 0;
	char *end;

	if (!text)
		return -EINVAL;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (*p == '.' && !dots++)
			continue;
		else
			break;
	}
	if (!digits)
		return -EINVAL;
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		multiplier = 1e3;
		break;
	case 'm':
	case 'M':
		multiplier = 1e6;
		break;
	case 'g':
	case 'G':
		multiplier = 1e9;
		break;
	default:
		return -EINVAL;
	}
	if (*p && p[1])
		return -EINVAL;

	errno = 0;
	v = strtod(text, &end) * multiplier;
	if (errno || end != p || v > 1.8e19 || v != floor(v))
		return -EINVAL;
	*value = (uint64_t)v;
	return 0;
}

const char *fl_format_si(double value, char *buf, size_t len)
{
	static const char suffix[] = { '\0', 'k', 'M', 'G', 'T', 'P' };
	unsigned int i = 0;

	while (value >= 1000 && i < sizeof(suffix) - 1) {
		value /= 1000;
		i++;
	}
	if (!i)
		snprintf(buf, len, "%.0f", value);
	else
		snprintf(buf, len, "%.*f%c",
			 value < 10  ? 2 :
			 value < 100 ? 1 :
				       0,
			 value, suffix[i]);
	return buf;
}
