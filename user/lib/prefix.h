/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: IPv4/IPv6 addresses and prefixes as operators type them.
 *   fl_prefix_parse()   "192.0.2.0/24", "2001:db8::/32", or a bare address
 *   fl_prefix_format()  the canonical text form
 *   fl_prefix_contains()
 */
#ifndef FL_PREFIX_H
#define FL_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <flowlens/types.h>

struct fl_prefix {
	int family; /* AF_INET or AF_INET6 */
	unsigned int len;
	union fl_addr addr; /* host bits are zero */
};

#define FL_PREFIX_STRLEN 64 /* INET6_ADDRSTRLEN + "/128" with room */

/* 0, or -EINVAL with a reason for the operator in err (errlen bytes). */
int fl_prefix_parse(const char *text, struct fl_prefix *prefix, char *err,
		    size_t errlen);
const char *fl_prefix_format(const struct fl_prefix *prefix, char *buf,
			     size_t len);
const char *fl_addr_format(int family, const union fl_addr *addr, char *buf,
			   size_t len);
bool fl_prefix_contains(const struct fl_prefix *prefix, int family,
			const union fl_addr *addr);

#endif /* FL_PREFIX_H */
