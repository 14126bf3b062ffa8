/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: rules as operators type them, and the plain reference matcher.
 *   fl_rule_parse()       "dst 198.51.100.0/24 proto udp dport 1000-2000
 *                          action drop" (as words) -> struct fl_rule
 *   fl_rule_format()      the canonical text, which parses back the same
 *   fl_rule_matches()     does one rule match a packet (include/flowlens/
 *                         rules.h states the semantics)
 *   fl_rule_lookup_ref()  the lowest-order matching rule, by linear scan:
 *                         obviously right, the yardstick for the XDP engine
 */
#ifndef FL_RULE_H
#define FL_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <flowlens/rules.h>

#define FL_RULE_STRLEN 512

/*
 * Parses @argc words. 0, or -EINVAL with the offending word and what was
 * expected in @err. Without "order N", order is @default_order; the id is
 * left 0 (the daemon assigns ids).
 */
int fl_rule_parse(int argc, char **argv, __u32 default_order,
		  struct fl_rule *rule, char *err, size_t errlen);

/* Splits @line on blanks (at most @max words, '#' starts a comment) and
 * parses it; as fl_rule_parse, and -ENODATA for a blank line. */
int fl_rule_parse_line(char *line, __u32 default_order, struct fl_rule *rule,
		       char *err, size_t errlen);

/* A rate-limit RATE: "10k", "10kpps" (packets/s) or "100Mbps" (bits/s);
 * 0 or -EINVAL. */
int fl_rule_parse_rate(const char *text, __u64 *rate, __u8 *unit);

const char *fl_rule_format(const struct fl_rule *rule, char *buf, size_t len);

bool fl_rule_matches(const struct fl_rule *rule,
		     const struct fl_rule_packet *pkt);

/* Index of the matching rule with the lowest order (the first of equals),
 * or -1 if none matches. */
int fl_rule_lookup_ref(const struct fl_rule *rules, size_t n,
		       const struct fl_rule_packet *pkt);

#endif /* FL_RULE_H */
