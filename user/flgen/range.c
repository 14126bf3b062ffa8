// SPDX-License-Identifier: Apache-2.0
/*
 * What the operator types for addresses, ports, MACs and CPUs, turned into
 * what the BPF program draws from. See common_kern_user.h for the address
 * representation: four host-order words, each base + a draw from [0, count).
 * An A-B range is drawn as: the words before the first that differs fixed,
 * that one from A's value to B's, and every word after it must run from 0
 * to 0xffffffff (else the draw would not be the range, and flgen says so).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flgen.h"
#include "prefix.h"

static unsigned int family_words(int family)
{
	return family == AF_INET ? 1 : 4;
}

static void spec_from_prefix(const struct fl_prefix *prefix,
			     struct flgen_addr_spec *spec)
{
	unsigned int i, words = family_words(prefix->family);

	spec->family = prefix->family;
	spec->first = prefix->addr;
	for (i = 0; i < 4; i++) {
		int prefix_bits = (int)prefix->len - 32 * (int)i;
		unsigned int host_bits;

		if (i >= words) {
			spec->range.base[i] = 0;
			spec->range.count[i] = 1;
			continue;
		}
		prefix_bits = prefix_bits < 0  ? 0 :
			      prefix_bits > 32 ? 32 :
						 prefix_bits;
		host_bits = 32 - prefix_bits;
		spec->range.base[i] = ntohl(prefix->addr.w[i]);
		spec->range.count[i] = 1ULL << host_bits;
	}
}

static int parse_one(const char *text, int *family, union fl_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, addr->b) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr->b) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int parse_addr_range(const char *text, const char *dash,
			    struct flgen_addr_spec *spec, char *err,
			    size_t errlen)
{
	char first[INET6_ADDRSTRLEN + 1], last[INET6_ADDRSTRLEN + 1];
	union fl_addr a, b;
	int fa, fb, varying = -1;
	unsigned int i, words;

	if ((size_t)(dash - text) >= sizeof(first) ||
	    strlen(dash + 1) >= sizeof(last)) {
		snprintf(err, errlen, "'%s' is not an address range", text);
		return -EINVAL;
	}
	memcpy(first, text, dash - text);
	first[dash - text] = '\0';
	strcpy(last, dash + 1);
	if (parse_one(first, &fa, &a) || parse_one(last, &fb, &b)) {
		snprintf(
			err, errlen,
			"'%s' is not an address range (expected e.g. 198.18.0.1-198.18.0.99)",
			text);
		return -EINVAL;
	}
	if (fa != fb) {
		snprintf(err, errlen, "'%s' mixes IPv4 and IPv6", text);
		return -EINVAL;
	}
	words = family_words(fa);
	if (memcmp(&a, &b, words * 4) > 0) {
		snprintf(err, errlen,
			 "'%s': the first address is above the last", text);
		return -EINVAL;
	}
	spec->family = fa;
	spec->first = a;
	for (i = 0; i < 4; i++) {
		spec->range.base[i] = i < words ? ntohl(a.w[i]) : 0;
		spec->range.count[i] = 1;
		if (i >= words)
			continue;
		if (varying < 0 && a.w[i] != b.w[i]) {
			/* The first word that differs: drawn from a..b. */
			varying = i;
			spec->range.count[i] =
				(uint64_t)ntohl(b.w[i]) - ntohl(a.w[i]) + 1;
		} else if (varying >= 0) {
			/* Below it, only a word that runs through every value
			 * keeps the draw equal to the range. */
			if (a.w[i] != 0 || b.w[i] != 0xffffffff) {
				snprintf(
					err, errlen,
					"'%s': an IPv6 range must differ only in its last 32 bits (e.g. 2001:db8::10-2001:db8::ff); use a prefix for a larger one",
					text);
				return -EINVAL;
			}
			spec->range.count[i] = 1ULL << 32;
		}
	}
	return 0;
}

/* "192.0.2.1", "198.18.0.0/15", "2001:db8:f::/48" or "A-B". */
int flgen_parse_addr(const char *text, struct flgen_addr_spec *spec, char *err,
		     size_t errlen)
{
	const char *dash = strchr(text, '-');
	struct fl_prefix prefix;
	int ret;

	memset(spec, 0, sizeof(*spec));
	if (dash)
		ret = parse_addr_range(text, dash, spec, err, errlen);
	else if (!(ret = fl_prefix_parse(text, &prefix, err, errlen)))
		spec_from_prefix(&prefix, spec);
	spec->set = !ret;
	return ret;
}

bool flgen_addr_is_fixed(const struct flgen_addr_spec *spec)
{
	unsigned int i;

	for (i = 0; i < 4; i++)
		if (spec->range.count[i] > 1)
			return false;
	return true;
}

static int parse_port_number(const char *text, unsigned int *port)
{
	unsigned long value;
	char *end;

	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno || *end || value > 65535)
		return -EINVAL;
	*port = value;
	return 0;
}

/* "80" or "1024-65535". */
int flgen_parse_port(const char *text, struct flgen_port_range *range,
		     char *err, size_t errlen)
{
	unsigned int first, last;
	const char *dash = strchr(text, '-');
	char buf[16];

	if (!dash) {
		if (parse_port_number(text, &first))
			goto bad;
		last = first;
	} else {
		if ((size_t)(dash - text) >= sizeof(buf))
			goto bad;
		memcpy(buf, text, dash - text);
		buf[dash - text] = '\0';
		if (parse_port_number(buf, &first) ||
		    parse_port_number(dash + 1, &last))
			goto bad;
		if (first > last) {
			snprintf(
				err, errlen,
				"port range '%s': the first port is above the last",
				text);
			return -EINVAL;
		}
	}
	range->base = first;
	range->count = last - first + 1;
	return 0;
bad:
	snprintf(
		err, errlen,
		"'%s' is not a port or port range (0-65535, e.g. 80 or 1024-65535)",
		text);
	return -EINVAL;
}

int flgen_parse_mac(const char *text, unsigned char mac[6])
{
	unsigned int i;

	for (i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)text[0]) ||
		    !isxdigit((unsigned char)text[1]))
			return -EINVAL;
		if (sscanf(text, "%2hhx", &mac[i]) != 1)
			return -EINVAL;
		text += 2;
		if (i < 5 && *text++ != ':')
			return -EINVAL;
	}
	return *text ? -EINVAL : 0;
}

const char *flgen_mac_format(const unsigned char mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

static int parse_cpu(const char *text, const char *end, int *cpu)
{
	long value = 0;
	const char *p;

	if (text == end || end - text > 5)
		return -EINVAL;
	for (p = text; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		value = value * 10 + (*p - '0');
	}
	if (value >= CPU_SETSIZE)
		return -EINVAL;
	*cpu = value;
	return 0;
}

/* "0", "0,2", "0-3,6": distinct CPUs, in the order given. */
int flgen_parse_cpus(const char *text, int *cpus, unsigned int max,
		     unsigned int *nr, char *err, size_t errlen)
{
	const char *p = text;
	unsigned int i;

	*nr = 0;
	while (*p) {
		const char *comma = strchrnul(p, ','), *dash;
		int first, last, cpu;

		dash = memchr(p, '-', comma - p);
		if (parse_cpu(p, dash ?: comma, &first) ||
		    parse_cpu(dash ? dash + 1 : p, comma, &last) ||
		    first > last) {
			snprintf(
				err, errlen,
				"'%s' is not a CPU list (expected e.g. 0,2 or 0-3)",
				text);
			return -EINVAL;
		}
		for (cpu = first; cpu <= last; cpu++) {
			for (i = 0; i < *nr; i++) {
				if (cpus[i] == cpu) {
					snprintf(
						err, errlen,
						"CPU %d is listed twice in '%s' (one thread per CPU)",
						cpu, text);
					return -EINVAL;
				}
			}
			if (*nr == max) {
				snprintf(err, errlen,
					 "'%s' lists more than %u CPUs", text,
					 max);
				return -EINVAL;
			}
			cpus[(*nr)++] = cpu;
		}
		p = *comma ? comma + 1 : comma;
		if (*comma && !*p) {
			snprintf(err, errlen, "'%s' ends with a comma", text);
			return -EINVAL;
		}
	}
	if (!*nr) {
		snprintf(err, errlen, "empty CPU list");
		return -EINVAL;
	}
	return 0;
}
