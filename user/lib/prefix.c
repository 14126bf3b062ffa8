// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefix.h"

static void mask_host_bits(union fl_addr *addr, unsigned int len,
			   unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < bits / 8; i++) {
		if (i * 8 >= len)
			addr->b[i] = 0;
		else if (i * 8 + 8 > len)
			addr->b[i] &= (__u8)(0xff << (8 - (len - i * 8)));
	}
}

int fl_prefix_parse(const char *text, struct fl_prefix *prefix, char *err,
		    size_t errlen)
{
	char buf[FL_PREFIX_STRLEN], canon[FL_PREFIX_STRLEN];
	unsigned int bits;
	const char *slash;
	union fl_addr masked;
	char *end;
	long len;

	memset(prefix, 0, sizeof(*prefix));
	if (!text || !*text || strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 prefix",
			 text ? text : "");
		return -EINVAL;
	}
	strcpy(buf, text);
	slash = strchr(text, '/');
	if (slash)
		buf[slash - text] = '\0';

	if (inet_pton(AF_INET, buf, prefix->addr.b) == 1) {
		prefix->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, prefix->addr.b) == 1) {
		prefix->family = AF_INET6;
		bits = 128;
	} else {
		snprintf(
			err, errlen,
			"'%s' is not an IPv4 or IPv6 address (expected e.g. 192.0.2.0/24 or 2001:db8::/32)",
			buf);
		return -EINVAL;
	}

	len = bits;
	if (slash) {
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || len < 0 || len > bits) {
			snprintf(err, errlen,
				 "'%s': prefix length must be 0-%u", text,
				 bits);
			return -EINVAL;
		}
	}
	prefix->len = len;

	masked = prefix->addr;
	mask_host_bits(&masked, prefix->len, bits);
	if (memcmp(&masked, &prefix->addr, sizeof(masked))) {
		struct fl_prefix fixed = *prefix;

		fixed.addr = masked;
		snprintf(err, errlen,
			 "'%s' has host bits set (did you mean %s?)", text,
			 fl_prefix_format(&fixed, canon, sizeof(canon)));
		return -EINVAL;
	}
	return 0;
}

const char *fl_addr_format(int family, const union fl_addr *addr, char *buf,
			   size_t len)
{
	if (!inet_ntop(family, addr->b, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *fl_prefix_format(const struct fl_prefix *prefix, char *buf,
			     size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u",
		 fl_addr_format(prefix->family, &prefix->addr, addr,
				sizeof(addr)),
		 prefix->len);
	return buf;
}

bool fl_prefix_contains(const struct fl_prefix *prefix, int family,
			const union fl_addr *addr)
{
	union fl_addr masked = *addr;

	if (family != prefix->family)
		return false;
	mask_host_bits(&masked, prefix->len, family == AF_INET ? 32 : 128);
	return !memcmp(masked.b, prefix->addr.b, family == AF_INET ? 4 : 16);
}
