// SPDX-License-Identifier: Apache-2.0
/*
 * The SIP stage (bpf/voip.h; what it promises: <flowlens/voip.h>) through
 * BPF_PROG_TEST_RUN, host mode unless said, its maps written here as
 * flowlensd writes them (fl_config.voip, fl_voip_conf, the protected
 * prefixes, the method limiters, the allowlist):
 *   voip_off        fl_config.voip 0: a SIP INVITE to 5060 counts nothing
 *   voip_methods    no protected prefix: each of the 14 methods and each
 *                   response class lands in its own fl_sip_totals.kinds[]
 *                   slot exactly once and nowhere else; responses from
 *                   5060, junk on 5060 ("other"), "INVITEX" and a payload
 *                   too short to read; UDP to another port and a TCP ACK
 *                   without payload, a later fragment not counted; TCP
 *                   with options, IP options, VLAN, a first fragment, IPv6
 *                   (with an extension header); fl_voip_conf.ports
 *                   replaces 5060
 *   voip_protected  a protected host's entry counts every kind exactly,
 *                   IPv4 and IPv6; a source sending a few packets gets no
 *                   entry, one reaching heavy_packets in an epoch gets one
 *                   and exact counts from then on
 *   voip_spoofed    10,000 packets from 10,000 spoofed sources create the
 *                   host's entry and (next to) nothing else, whatever
 *                   heavy_packets flowlensd chose
 *   voip_limiter    a method limiter (10 pps, burst 5) passes 5 of 50
 *                   INVITEs and drops the rest, its counters, the
 *                   interface's verdicts and totals.limited[] agreeing;
 *                   other methods untouched; a carrier's INVITEs never
 *                   dropped and counted in fl_allow_hits; nothing limited
 *                   with VoIP off; IPv6
 *   voip_monitor    a SPAN port's copies are counted the same way
 * The runner keeps itself on one CPU, so the per-CPU sketch sees every
 * packet a test sends.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pkt.h"
#include "prefix.h"
#include "test_progs.h"

#define SEED 0x5eed0123456789abULL
#define NEVER_HEAVY ((__u64)1 << 40)
#define HEAVY_PACKETS 4 /* fl_voip_conf.heavy_packets in these tests */
/* The packet a lone source is first counted with: <flowlens/voip.h>'s
 * "more than heavy_packets" */
#define HEAVY_FIRST (HEAVY_PACKETS + 1)
#define SLOT4 3 /* 198.51.100.0/24's protected slot */
#define SLOT6 4 /* 2001:db8:5::/48's */
#define VICTIM4 "198.51.100.7"
#define VICTIM6 "2001:db8:5::7"
#define CARRIER_SLOT 2 /* fl_allow.carrier: hits in fl_allow_hits[2] */
#define LIMIT_PPS 10
#define LIMIT_BURST 5
#define LIMIT_SENT 50
#define FLOOD_SOURCES 10000
#define NSEC 1000000000ULL

/* DDoS accounting never tracks anything here: only the SIP maps move. */
static const struct fl_config voip_cfg = {
	.mode = FL_MODE_HOST,
	.hash_seed = SEED,
	.heavy_packets = NEVER_HEAVY,
	.heavy_bytes = ~0ULL,
	.voip = 1,
};

static const char *const method_wire[FL_SIP_METHOD_COUNT] = {
#define FL_X_SIP(id, name, wire) [FL_SIP_##id] = wire,
	FL_SIP_METHODS(FL_X_SIP)
#undef FL_X_SIP
};

/* A response of each class, as a UAS sends it. */
static const char *const responses[6] = {
	"SIP/2.0 100 Trying\r\n",
	"SIP/2.0 200 OK\r\n",
	"SIP/2.0 302 Moved Temporarily\r\n",
	"SIP/2.0 404 Not Found\r\n",
	"SIP/2.0 503 Service Unavailable\r\n",
	"SIP/2.0 603 Decline\r\n",
};

static const char *kind_name(__u32 kind)
{
	static const char *const classes[6] = { "1xx", "2xx", "3xx",
						"4xx", "5xx", "6xx" };

	if (kind < FL_SIP_METHOD_COUNT)
		return method_wire[kind];
	if (kind < FL_SIP_OTHER)
		return classes[kind - FL_SIP_RESP_1XX];
	return kind == FL_SIP_OTHER ? "other" : "none";
}

/* A request line of @method, or a response, so that every kind has a
 * payload a real UA could send. */
static void kind_payload(__u32 kind, char *buf, size_t len)
{
	if (kind < FL_SIP_METHOD_COUNT)
		snprintf(buf, len,
			 "%s sip:bob@example.com SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n"
			 "Max-Forwards: 70\r\n\r\n",
			 method_wire[kind]);
	else if (kind < FL_SIP_OTHER)
		snprintf(buf, len, "%s", responses[kind - FL_SIP_RESP_1XX]);
	else
		snprintf(buf, len, "keep-alive, not SIP at all\r\n");
}

/* ---- the maps ------------------------------------------------------------ */

static int ncpus(void)
{
	return libbpf_num_possible_cpus();
}

/* Every fl_sip_totals field is a __u64 counter: summed over CPUs. */
#define TOTALS_WORDS (sizeof(struct fl_sip_totals) / sizeof(__u64))
_Static_assert(sizeof(struct fl_sip_totals) % sizeof(__u64) == 0,
	       "fl_sip_totals: __u64 counters only");

static int totals_read(struct fl_fixture *fx, struct fl_sip_totals *sum)
{
	__u64 *values, *out = (__u64 *)sum;
	__u32 key = 0;
	int cpu, err;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	values = calloc(ncpus(), sizeof(*sum));
	if (!values)
		return -ENOMEM;
	err = fl_percpu_lookup(bpf_map__fd(fx->skel->maps.FL_MAP_SIP_TOTALS),
			       &key, values, sizeof(*sum));
	for (cpu = 0; !err && cpu < ncpus(); cpu++)
		for (i = 0; i < TOTALS_WORDS; i++)
			out[i] += values[cpu * TOTALS_WORDS + i];
	free(values);
	return err;
}

/* The name of the @i-th counter of fl_sip_totals. */
static const char *totals_field(size_t i, char *buf, size_t len)
{
	size_t off = i * sizeof(__u64);

	if (off < offsetof(struct fl_sip_totals, protected_packets))
		snprintf(buf, len, "kinds[%s]", kind_name(i));
	else if (off == offsetof(struct fl_sip_totals, protected_packets))
		snprintf(buf, len, "protected_packets");
	else if (off == offsetof(struct fl_sip_totals, tracked_sources))
		snprintf(buf, len, "tracked_sources");
	else if (off < offsetof(struct fl_sip_totals, bad_tcp))
		snprintf(buf, len, "limited[%s]",
			 kind_name((off -
				    offsetof(struct fl_sip_totals, limited)) /
				   sizeof(__u64)));
	else
		snprintf(buf, len, "bad_tcp");
	return buf;
}

/* after - before must be @expect, counter by counter. */
static bool totals_check_(int line, const struct fl_sip_totals *before,
			  const struct fl_sip_totals *after,
			  const struct fl_sip_totals *expect)
{
	const __u64 *b = (const void *)before, *a = (const void *)after,
		    *e = (const void *)expect;
	bool ok = true;
	char name[48];
	size_t i;

	for (i = 0; i < TOTALS_WORDS; i++) {
		if (a[i] - b[i] == e[i])
			continue;
		test__fail(__FILE__, line,
			   "totals.%s: expected delta %llu, actual %lld",
			   totals_field(i, name, sizeof(name)),
			   (unsigned long long)e[i], (long long)(a[i] - b[i]));
		ok = false;
	}
	return ok;
}
#define totals_check(before, after, expect) \
	totals_check_(__LINE__, before, after, expect)

static union fl_addr addr_of(const char *text, __u8 *family)
{
	*family = strchr(text, ':') ? 6 : 4;
	return fl_addr_of(*family == 6 ? AF_INET6 : AF_INET, text);
}

/* One address's exact SIP counters, summed over CPUs, the latest
 * last_seen_ns. -ENOENT: no entry. */
static int sip_stats_read(struct fl_fixture *fx, const char *text, __u32 slot,
			  __u8 side, struct fl_sip_stats *sum)
{
	struct fl_sip_key key = { .slot = slot, .side = side };
	struct fl_sip_stats *values;
	int cpu, err;
	__u32 k;

	key.addr = addr_of(text, &key.family);
	memset(sum, 0, sizeof(*sum));
	values = calloc(ncpus(), sizeof(*values));
	if (!values)
		return -ENOMEM;
	err = fl_percpu_lookup(bpf_map__fd(fx->skel->maps.FL_MAP_SIP_STATS),
			       &key, values, sizeof(*values));
	for (cpu = 0; !err && cpu < ncpus(); cpu++) {
		for (k = 0; k < FL_SIP_KINDS; k++)
			sum->kinds[k] += values[cpu].kinds[k];
		sum->bytes += values[cpu].bytes;
		if (values[cpu].last_seen_ns > sum->last_seen_ns)
			sum->last_seen_ns = values[cpu].last_seen_ns;
	}
	free(values);
	return err;
}

/* Entries in fl_sip_stats on @side (-1: both). */
static int sip_stats_count(struct fl_fixture *fx, int side)
{
	int fd = bpf_map__fd(fx->skel->maps.FL_MAP_SIP_STATS), count = 0;
	struct fl_sip_key key, next;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		count += side < 0 || key.side == side;
	}
	return errno == ENOENT ? count : -errno;
}

/* Exactly the kinds in @want[] (FL_SIP_KINDS of them) and @bytes. */
static bool sip_stats_check_(int line, const struct fl_sip_stats *got,
			     const __u64 *want, __u64 bytes, const char *what)
{
	bool ok = true;
	__u32 k;

	for (k = 0; k < FL_SIP_KINDS; k++) {
		if (got->kinds[k] == want[k])
			continue;
		test__fail(__FILE__, line,
			   "%s kinds[%s]: expected %llu, actual %llu", what,
			   kind_name(k), (unsigned long long)want[k],
			   (unsigned long long)got->kinds[k]);
		ok = false;
	}
	if (got->bytes != bytes) {
		test__fail(__FILE__, line,
			   "%s bytes: expected %llu, actual %llu", what,
			   (unsigned long long)bytes,
			   (unsigned long long)got->bytes);
		ok = false;
	}
	return ok;
}
#define sip_stats_check(got, want, bytes, what) \
	sip_stats_check_(__LINE__, got, want, bytes, what)

static int voip_conf_write(struct fl_fixture *fx, const __u16 *ports,
			   __u32 nports, __u32 heavy)
{
	struct fl_voip_conf conf = { .heavy_packets = heavy,
				     .hash_seed = SEED };
	__u32 key = 0, i;

	for (i = 0; i < nports && i < FL_SIP_PORTS_MAX; i++)
		conf.ports[i] = ports[i];
	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_VOIP_CONF),
				   &key, &conf, BPF_ANY) ?
		       -errno :
		       0;
}

/* "198.51.100.0/24" or "2001:db8:5::/48" into fl_voip4/fl_voip6. */
static int voip_prefix_add(struct fl_fixture *fx, const char *text, __u32 slot)
{
	struct fl_voip_prefix value = { .slot = slot };

	return fl_lpm_add(fx->skel->maps.FL_MAP_VOIP4, fx->skel->maps.FL_MAP_VOIP6,
			  text, &value);
}

/* A fixture in @cfg, the default SIP port, both prefixes protected. */
static bool voip_open(struct fl_fixture *fx, const struct fl_config *cfg,
		      __u32 heavy)
{
	if (!ASSERT_OK(fl_fixture_open(fx), "fixture open"))
		return false;
	if (ASSERT_OK(fl_config_write(fx, cfg), "config") &&
	    ASSERT_OK(voip_conf_write(fx, NULL, 0, heavy), "voip conf") &&
	    ASSERT_OK(voip_prefix_add(fx, "198.51.100.0/24", SLOT4),
		      "protect ipv4") &&
	    ASSERT_OK(voip_prefix_add(fx, "2001:db8:5::/48", SLOT6),
		      "protect ipv6"))
		return true;
	fl_fixture_close(fx);
	return false;
}

/* ---- packets ------------------------------------------------------------- */

/* A SIP message over UDP from @src:@sport to @dst:@dport. */
static bool udp_build(const char *src, const char *dst, __u16 sport,
		      __u16 dport, const char *payload, struct pkt *p)
{
	struct pkt_spec spec = { .l3 = strchr(dst, ':') ? PKT_IPV6 : PKT_IPV4,
				 .src = src,
				 .dst = dst,
				 .l4 = PKT_UDP,
				 .udp = { .sport = sport, .dport = dport },
				 .payload = payload };

	return ASSERT_OK(pkt_build(&spec, p), "build");
}

/* Runs @p @repeat times in one test run; the verdict of the last. */
static bool run(struct fl_fixture *fx, const struct pkt *p, __u32 repeat,
		__u32 want)
{
	__u32 action;

	if (!ASSERT_OK(fl_run(fx, p->data, p->len, repeat, &action), "run"))
		return false;
	if (action == want)
		return true;
	test__fail(__FILE__, __LINE__, "verdict: expected %s, actual %s",
		   fl_xdp_action_name(want), fl_xdp_action_name(action));
	return false;
}

/* ---- voip off ------------------------------------------------------------ */

void test_voip_off(void)
{
	struct fl_config cfg = voip_cfg;
	struct fl_sip_totals before, after, none = {};
	struct fl_fixture fx;
	char payload[256];
	struct pkt p;

	cfg.voip = 0;
	if (!voip_open(&fx, &cfg, HEAVY_PACKETS))
		return;
	kind_payload(FL_SIP_INVITE, payload, sizeof(payload));
	if (!udp_build("192.0.2.1", VICTIM4, 40000, 5060, payload, &p) ||
	    !ASSERT_OK(totals_read(&fx, &before), "totals") ||
	    !run(&fx, &p, 10, XDP_PASS) ||
	    !ASSERT_OK(totals_read(&fx, &after), "totals"))
		goto out;
	totals_check(&before, &after, &none);
	ASSERT_EQ(sip_stats_count(&fx, -1), 0, "sip stats entries");

	/* the control: the same packets with the stage on */
	cfg.voip = 1;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "voip on") ||
	    !run(&fx, &p, 10, XDP_PASS) ||
	    !ASSERT_OK(totals_read(&fx, &after), "totals"))
		goto out;
	ASSERT_EQ(after.kinds[FL_SIP_INVITE] - before.kinds[FL_SIP_INVITE], 10,
		  "control: INVITEs with voip on");
out:
	fl_fixture_close(&fx);
}

/* ---- counting, no protected prefix --------------------------------------- */

struct count_case {
	const char *name;
	struct pkt_spec spec;
	__u32 kind; /* FL_SIP_KIND_NONE: not a SIP port's packet */
};

#define TCP_PUSH (PKT_TCP_PSH | PKT_TCP_ACK)

static const struct count_case count_cases[] = {
	{ "response from 5060",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .sport = 5060, .dport = 40000 },
	    .payload = "SIP/2.0 180 Ringing\r\n" },
	  FL_SIP_RESP_1XX },
	{ "5060 to 5060",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .sport = 5060, .dport = 5060 },
	    .payload = "OPTIONS sip:ping@example.com SIP/2.0\r\n" },
	  FL_SIP_OPTIONS },
	{ "junk to 5060",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "hello, this is no SIP\r\n" },
	  FL_SIP_OTHER },
	{ "CRLF keep-alive to 5060",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "\r\n\r\n" },
	  FL_SIP_OTHER },
	{ "INVITEX",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "INVITEX sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_OTHER },
	{ "INVIT, 5 bytes",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "INVIT" },
	  FL_SIP_OTHER },
	{ "lower case invite",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "invite sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_OTHER },
	{ "response class 7",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .sport = 5060, .dport = 40000 },
	    .payload = "SIP/2.0 700 Unheard Of\r\n" },
	  FL_SIP_OTHER },
	{ "SIP/3.0 response",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .sport = 5060, .dport = 40000 },
	    .payload = "SIP/3.0 200 OK\r\n" },
	  FL_SIP_OTHER },
	{ "INVITE to 5061",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .sport = 40000, .dport = 5061 },
	    .payload = "INVITE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_KIND_NONE },
	{ "INVITE to 53",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .payload = "INVITE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_KIND_NONE },
	{ "empty UDP to 5060",
	  { .l3 = PKT_IPV4, .l4 = PKT_UDP, .udp = { .dport = 5060 } },
	  FL_SIP_KIND_NONE },
	{ "TCP REGISTER, 12 bytes of options",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp = { .dport = 5060, .flags = TCP_PUSH, .opt_len = 12 },
	    .payload = "REGISTER sip:example.com SIP/2.0\r\n" },
	  FL_SIP_REGISTER },
	{ "TCP 200 OK from 5060",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp = { .sport = 5060, .dport = 40000, .flags = TCP_PUSH },
	    .payload = "SIP/2.0 200 OK\r\n" },
	  FL_SIP_RESP_1XX + 1 },
	{ "TCP segment inside a message",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp = { .dport = 5060, .flags = TCP_PUSH, .opt_len = 12 },
	    .payload = "Content-Length: 0\r\n\r\n" },
	  FL_SIP_OTHER },
	{ "TCP ACK, options, no payload",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp = { .dport = 5060, .flags = PKT_TCP_ACK, .opt_len = 12 } },
	  FL_SIP_KIND_NONE },
	{ "TCP SYN to 5060",
	  { .l3 = PKT_IPV4,
	    .l4 = PKT_TCP,
	    .tcp = { .dport = 5060, .flags = PKT_TCP_SYN, .opt_len = 4 } },
	  FL_SIP_KIND_NONE },
	{ "IPv4 options, UDP INVITE",
	  { .l3 = PKT_IPV4,
	    .ip4 = { .opt_len = 8 },
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "INVITE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_INVITE },
	{ "802.1Q, UDP CANCEL",
	  { .vlan = { .count = 1 },
	    .l3 = PKT_IPV4,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "CANCEL sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_CANCEL },
	{ "IPv4 first fragment of an INVITE",
	  { .l3 = PKT_IPV4,
	    .ip4 = { .frag_off = PKT_IP4_FRAG(0, 1) },
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060, .len = PKT_SET(1400) },
	    .payload = "INVITE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_INVITE },
	{ "IPv4 later fragment",
	  { .l3 = PKT_IPV4,
	    .ip4 = { .frag_off = PKT_IP4_FRAG(100, 0) },
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "INVITE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_KIND_NONE },
	{ "IPv6 UDP INVITE",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "INVITE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_INVITE },
	{ "IPv6 UDP BYE after a hop-by-hop header",
	  { .l3 = PKT_IPV6,
	    .ip6 = { .nr_ext = 1, .ext = { PKT_EXT(HOPOPTS) } },
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5060 },
	    .payload = "BYE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_BYE },
	{ "IPv6 TCP NOTIFY",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_TCP,
	    .tcp = { .dport = 5060, .flags = TCP_PUSH, .opt_len = 8 },
	    .payload = "NOTIFY sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_NOTIFY },
	{ "IPv6 UDP INVITE to 5061",
	  { .l3 = PKT_IPV6,
	    .l4 = PKT_UDP,
	    .udp = { .dport = 5061 },
	    .payload = "INVITE sip:bob@example.com SIP/2.0\r\n" },
	  FL_SIP_KIND_NONE },
};

/* One packet: counted once as @kind and nowhere else, passed. */
static void count_one(struct fl_fixture *fx, const struct pkt_spec *spec,
		      __u32 kind)
{
	struct fl_sip_totals before, after, expect = {};
	struct pkt p;

	if (kind < FL_SIP_KINDS)
		expect.kinds[kind] = 1;
	if (!ASSERT_OK(pkt_build(spec, &p), "build") ||
	    !ASSERT_OK(totals_read(fx, &before), "totals") ||
	    !run(fx, &p, 1, XDP_PASS) ||
	    !ASSERT_OK(totals_read(fx, &after), "totals"))
		return;
	totals_check(&before, &after, &expect);
}

void test_voip_methods(void)
{
	struct fl_config cfg = voip_cfg;
	struct pkt_spec spec;
	struct fl_fixture fx;
	char payload[256];
	__u32 kind, i;

	if (!ASSERT_OK(fl_fixture_open(&fx), "fixture open"))
		return;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "config"))
		goto out;

	/* fl_voip_conf all zero (loaded by hand): 5060 */
	for (kind = 0; kind < FL_SIP_OTHER; kind++) {
		bool response = kind >= FL_SIP_RESP_1XX;

		test__case("%s", kind_name(kind));
		kind_payload(kind, payload, sizeof(payload));
		spec = (struct pkt_spec){
			.l3 = PKT_IPV4,
			.l4 = PKT_UDP,
			.udp = { .sport = response ? 5060 : 40000,
				 .dport = response ? 40000 : 5060 },
			.payload = payload
		};
		count_one(&fx, &spec, kind);
	}
	for (i = 0; i < ARRAY_SIZE(count_cases); i++) {
		test__case("%s", count_cases[i].name);
		count_one(&fx, &count_cases[i].spec, count_cases[i].kind);
	}
	test__case("no prefix");
	ASSERT_EQ(sip_stats_count(&fx, -1), 0, "sip stats entries");

	/* the configured list replaces the default */
	test__case("ports 5080");
	if (!ASSERT_OK(voip_conf_write(&fx, (__u16[]){ 5080 }, 1, 0), "ports"))
		goto out;
	kind_payload(FL_SIP_INVITE, payload, sizeof(payload));
	spec = (struct pkt_spec){ .l3 = PKT_IPV4,
				  .l4 = PKT_UDP,
				  .udp = { .dport = 5080 },
				  .payload = payload };
	count_one(&fx, &spec, FL_SIP_INVITE);
	spec.udp.dport = 5060;
	test__case("ports 5080, INVITE to 5060");
	count_one(&fx, &spec, FL_SIP_KIND_NONE);
	test__case("ports 5080, response from 5080");
	spec.udp = (typeof(spec.udp)){ .sport = 5080, .dport = 40000 };
	spec.payload = responses[3];
	count_one(&fx, &spec, FL_SIP_RESP_1XX + 3);

	test__case("ports 5080 and 5060");
	if (!ASSERT_OK(voip_conf_write(&fx, (__u16[]){ 5080, 5060 }, 2, 0),
		       "ports"))
		goto out;
	spec.udp = (typeof(spec.udp)){ .dport = 5060 };
	spec.payload = payload;
	count_one(&fx, &spec, FL_SIP_INVITE);
out:
	fl_fixture_close(&fx);
}

/* ---- protected prefixes ---------------------------------------------------- */

/* Every kind to the protected hosts, kind k k+1 times, each packet from
 * a source of its own (none gets near heavy_packets): the hosts' entries
 * count each kind exactly, no source gets one. */
static void protected_hosts(void)
{
	static const struct {
		const char *name, *victim, *src_fmt;
		__u32 slot;
	} hosts[] = {
		{ "ipv4", VICTIM4, "192.0.2.%u", SLOT4 },
		{ "ipv6", VICTIM6, "2001:db8:77::%x", SLOT6 },
	};
	struct fl_sip_totals before, after, expect;
	__u64 want[FL_SIP_KINDS], bytes;
	struct fl_sip_stats st;
	__u32 h, kind, n, sent;
	__u64 clock_before;
	struct fl_fixture fx;
	char payload[256], src[64];
	struct pkt p;

	if (!voip_open(&fx, &voip_cfg, HEAVY_PACKETS))
		return;
	for (h = 0; h < ARRAY_SIZE(hosts); h++) {
		test__case("%s host, every kind", hosts[h].name);
		memset(want, 0, sizeof(want));
		memset(&expect, 0, sizeof(expect));
		bytes = 0;
		sent = 0;
		clock_before = fl_clock_ns();
		if (!ASSERT_OK(totals_read(&fx, &before), "totals"))
			goto out;
		for (kind = 0; kind < FL_SIP_KINDS; kind++) {
			kind_payload(kind, payload, sizeof(payload));
			for (n = 0; n <= kind; n++) {
				snprintf(src, sizeof(src), hosts[h].src_fmt,
					 ++sent);
				if (!udp_build(src, hosts[h].victim, 5060, 5060,
					       payload, &p) ||
				    !run(&fx, &p, 1, XDP_PASS))
					goto out;
				bytes += p.len;
			}
			want[kind] = kind + 1;
			expect.kinds[kind] = kind + 1;
		}
		expect.protected_packets = sent;
		if (!ASSERT_OK(totals_read(&fx, &after), "totals") ||
		    !ASSERT_OK(sip_stats_read(&fx, hosts[h].victim,
					      hosts[h].slot, FL_SIP_SIDE_DST,
					      &st),
			       "the host's entry"))
			goto out;
		totals_check(&before, &after, &expect);
		sip_stats_check(&st, want, bytes, "host");
		ASSERT_GE(st.last_seen_ns, clock_before, "last seen");
		ASSERT_LE(st.last_seen_ns, fl_clock_ns(), "last seen");
		ASSERT_EQ(sip_stats_count(&fx, FL_SIP_SIDE_SRC), 0,
			  "source entries");
		ASSERT_EQ(sip_stats_count(&fx, FL_SIP_SIDE_DST), h + 1,
			  "host entries");
	}

	/* next to the prefix: counted, not protected */
	test__case("outside the prefix");
	kind_payload(FL_SIP_INVITE, payload, sizeof(payload));
	memset(&expect, 0, sizeof(expect));
	expect.kinds[FL_SIP_INVITE] = 2;
	if (!ASSERT_OK(totals_read(&fx, &before), "totals") ||
	    !udp_build("192.0.2.1", "198.51.101.7", 40000, 5060, payload, &p) ||
	    !run(&fx, &p, 1, XDP_PASS) ||
	    !udp_build("2001:db8::1", "2001:db8:6::7", 40000, 5060, payload,
		       &p) ||
	    !run(&fx, &p, 1, XDP_PASS) ||
	    !ASSERT_OK(totals_read(&fx, &after), "totals"))
		goto out;
	totals_check(&before, &after, &expect);
	ASSERT_EQ(sip_stats_count(&fx, -1), 2, "entries");
out:
	fl_fixture_close(&fx);
}

/* The epoch the program stamped on the SIP sketch's total. */
static int sip_sketch_epoch(struct fl_fixture *fx, __u32 *epoch)
{
	struct fl_sip_cell *cells;
	__u32 key = FL_SIP_SKETCH_TOTAL;
	int cpu, err;

	*epoch = 0;
	cells = calloc(ncpus(), sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	err = fl_percpu_lookup(bpf_map__fd(fx->skel->maps.FL_MAP_SIP_SKETCH),
			       &key, cells, sizeof(*cells));
	for (cpu = 0; !err && cpu < ncpus(); cpu++)
		if (cells[cpu].epoch > *epoch)
			*epoch = cells[cpu].epoch;
	free(cells);
	return err;
}

/* One sketch cell's packets, summed over CPUs. */
static __u64 sip_sketch_cell(struct fl_fixture *fx, __u32 index)
{
	struct fl_sip_cell *cells;
	__u64 sum = 0;
	int cpu;

	cells = calloc(ncpus(), sizeof(*cells));
	if (!cells)
		return ~0ULL;
	if (!fl_percpu_lookup(bpf_map__fd(fx->skel->maps.FL_MAP_SIP_SKETCH),
			      &index, cells, sizeof(*cells)))
		for (cpu = 0; cpu < ncpus(); cpu++)
			sum += cells[cpu].packets;
	free(cells);
	return sum;
}

/* Where row @row keeps a source of @hash (each row its own bits). */
static __u32 sip_sketch_index(__u64 hash, __u32 row)
{
	return row * FL_SIP_SKETCH_COLS +
	       ((hash >> (row * FL_SIP_SKETCH_COLS_SHIFT)) &
		(FL_SIP_SKETCH_COLS - 1));
}

struct heavy_case {
	const char *name, *src, *victim;
	__u32 slot;
};

static const struct heavy_case heavy_cases[] = {
	{ "ipv4", "203.0.113.5", VICTIM4, SLOT4 },
	{ "ipv6", "2001:db8:ff::5", VICTIM6, SLOT6 },
};

/*
 * One source: HEAVY_FIRST - 1 INVITEs leave it untracked (its four
 * cells hold them), the next gives it an entry that counts that packet,
 * and from then on every packet exactly. 0, or -EAGAIN if an epoch
 * boundary fell inside (the sketch restarted: run again).
 */
static int heavy_source(const struct heavy_case *c)
{
	__u8 family;
	union fl_addr src = addr_of(c->src, &family);
	__u64 hash =
		fl_hash_addr(SEED ^ ((__u64)c->slot << 32), &src, family == 6);
	struct fl_sip_totals before, after, expect = {};
	__u64 want[FL_SIP_KINDS] = {}, bytes = 0, host_bytes = 0;
	char invite[256], reg[256], bye[256];
	__u32 first, last, row, i;
	struct fl_sip_stats st;
	struct fl_fixture fx;
	struct pkt pi, pr, pb;
	int ret = 0;

	kind_payload(FL_SIP_INVITE, invite, sizeof(invite));
	kind_payload(FL_SIP_REGISTER, reg, sizeof(reg));
	kind_payload(FL_SIP_BYE, bye, sizeof(bye));
	if (!udp_build(c->src, c->victim, 5060, 5060, invite, &pi) ||
	    !udp_build(c->src, c->victim, 5060, 5060, reg, &pr) ||
	    !udp_build(c->src, c->victim, 5060, 5060, bye, &pb))
		return 0;
	if (!voip_open(&fx, &voip_cfg, HEAVY_PACKETS))
		return 0;
	if (!ASSERT_OK(totals_read(&fx, &before), "totals") ||
	    !run(&fx, &pi, 1, XDP_PASS) ||
	    !ASSERT_OK(sip_sketch_epoch(&fx, &first), "sketch epoch"))
		goto out;
	for (i = 1; i < HEAVY_FIRST - 1; i++)
		if (!run(&fx, &pi, 1, XDP_PASS))
			goto out;
	host_bytes = (HEAVY_FIRST - 1) * pi.len;

	/* under the threshold: in the sketch only */
	ASSERT_EQ(sip_stats_count(&fx, FL_SIP_SIDE_SRC), 0,
		  "source entries under heavy_packets");
	ASSERT_EQ(sip_stats_read(&fx, c->src, c->slot, FL_SIP_SIDE_SRC, &st),
		  -ENOENT, "the source's entry under heavy_packets");
	for (row = 0; row < FL_SIP_SKETCH_ROWS; row++)
		ASSERT_EQ(sip_sketch_cell(&fx, sip_sketch_index(hash, row)),
			  HEAVY_FIRST - 1, "the source's sketch cell");
	ASSERT_EQ(sip_sketch_cell(&fx, FL_SIP_SKETCH_TOTAL), HEAVY_FIRST - 1,
		  "sketch total");

	/* the packet that makes it heavy is the first it counts */
	if (!run(&fx, &pi, 1, XDP_PASS))
		goto out;
	host_bytes += pi.len;
	want[FL_SIP_INVITE] = 1;
	bytes = pi.len;
	if (!ASSERT_OK(sip_stats_read(&fx, c->src, c->slot, FL_SIP_SIDE_SRC,
				      &st),
		       "the source's entry at heavy_packets"))
		goto out;
	sip_stats_check(&st, want, bytes, "source at heavy_packets");

	/* from then on, exactly; the sketch no longer sees it */
	for (i = 0; i < 5; i++)
		if (!run(&fx, &pr, 1, XDP_PASS))
			goto out;
	for (i = 0; i < 2; i++)
		if (!run(&fx, &pb, 1, XDP_PASS))
			goto out;
	if (!ASSERT_OK(sip_sketch_epoch(&fx, &last), "sketch epoch"))
		goto out;
	if (first != last) {
		ret = -EAGAIN;
		goto out;
	}
	want[FL_SIP_REGISTER] = 5;
	want[FL_SIP_BYE] = 2;
	bytes += 5 * pr.len + 2 * pb.len;
	host_bytes += 5 * pr.len + 2 * pb.len;
	if (ASSERT_OK(sip_stats_read(&fx, c->src, c->slot, FL_SIP_SIDE_SRC,
				     &st),
		      "the source's entry"))
		sip_stats_check(&st, want, bytes, "source");
	want[FL_SIP_INVITE] = HEAVY_FIRST;
	if (ASSERT_OK(sip_stats_read(&fx, c->victim, c->slot, FL_SIP_SIDE_DST,
				     &st),
		      "the host's entry"))
		sip_stats_check(&st, want, host_bytes, "host");
	ASSERT_EQ(sip_sketch_cell(&fx, FL_SIP_SKETCH_TOTAL), HEAVY_FIRST,
		  "sketch total: a tracked source is not added");
	if (!ASSERT_OK(totals_read(&fx, &after), "totals"))
		goto out;
	expect.kinds[FL_SIP_INVITE] = HEAVY_FIRST;
	expect.kinds[FL_SIP_REGISTER] = 5;
	expect.kinds[FL_SIP_BYE] = 2;
	expect.protected_packets = HEAVY_FIRST + 7;
	expect.tracked_sources = 1;
	totals_check(&before, &after, &expect);
	ASSERT_EQ(sip_stats_count(&fx, -1), 2, "entries: host and source");
out:
	fl_fixture_close(&fx);
	return ret;
}

/*
 * 10,000 INVITEs from as many sources in 198.18.0.0/15, a spoofed flood,
 * under fl_voip_conf.heavy_packets @heavy: the host's entry counts them
 * all, and at most @max_sources sources get state.
 */
static void spoofed_flood(__u32 heavy, __u32 max_sources)
{
	struct fl_sip_totals before, after, expect = {};
	__u64 want[FL_SIP_KINDS] = {}, bytes = 0;
	struct fl_sip_stats st;
	struct fl_fixture fx;
	char payload[256], src[32];
	__u32 i, addr;
	struct pkt p;

	if (!voip_open(&fx, &voip_cfg, heavy))
		return;
	kind_payload(FL_SIP_INVITE, payload, sizeof(payload));
	if (!ASSERT_OK(totals_read(&fx, &before), "totals"))
		goto out;
	for (i = 0; i < FLOOD_SOURCES; i++) {
		/* an odd multiplier: 10,000 different addresses of 2^17 */
		addr = 0xc6120000 + ((i * 40503U) & 0x1ffff);
		snprintf(src, sizeof(src), "%u.%u.%u.%u", addr >> 24,
			 (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
		if (!udp_build(src, VICTIM4, 5060, 5060, payload, &p) ||
		    !run(&fx, &p, 1, XDP_PASS))
			goto out;
		bytes += p.len;
	}
	if (!ASSERT_OK(totals_read(&fx, &after), "totals"))
		goto out;
	ASSERT_LE(after.tracked_sources - before.tracked_sources, max_sources,
		  "tracked sources");
	ASSERT_LE(sip_stats_count(&fx, FL_SIP_SIDE_SRC), max_sources,
		  "source entries");
	expect.kinds[FL_SIP_INVITE] = FLOOD_SOURCES;
	expect.protected_packets = FLOOD_SOURCES;
	/* checked above */
	expect.tracked_sources = after.tracked_sources - before.tracked_sources;
	totals_check(&before, &after, &expect);
	ASSERT_EQ(sip_stats_count(&fx, FL_SIP_SIDE_DST), 1, "host entries");
	want[FL_SIP_INVITE] = FLOOD_SOURCES;
	if (ASSERT_OK(sip_stats_read(&fx, VICTIM4, SLOT4, FL_SIP_SIDE_DST, &st),
		      "the host's entry"))
		sip_stats_check(&st, want, bytes, "host");
out:
	fl_fixture_close(&fx);
}

void test_voip_protected(void)
{
	__u32 i, try;

	protected_hosts();
	for (i = 0; i < ARRAY_SIZE(heavy_cases); i++) {
		test__case("%s heavy source", heavy_cases[i].name);
		/* the sketch restarts each epoch: once more if one began */
		for (try = 0; try < 2; try++)
			if (heavy_source(&heavy_cases[i]) != -EAGAIN)
				break;
		if (try == 2)
			test__log("%s: epoch changed twice: not checked",
				  heavy_cases[i].name);
	}
}

/*
 * The sketch against a spoofed flood: with the tests' heavy_packets no
 * source of the flood sends enough to matter, so none gets an entry; with
 * heavy_packets 1 (what flowlensd writes for a per-source limit under 4
 * pps a CPU) the estimate alone cannot tell, and still the program must
 * not insert state per packet: fewer than one entry per 1,000 packets.
 */
void test_voip_spoofed(void)
{
	test__case("spoofed flood, heavy_packets %u", HEAVY_PACKETS);
	spoofed_flood(HEAVY_PACKETS, 0);
	test__case("spoofed flood, heavy_packets 1");
	spoofed_flood(1, FLOOD_SOURCES / 1000);
}

/* ---- the method limiter ---------------------------------------------------- */

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC + ts.tv_nsec;
}

static void limit_key(const char *dst, __u8 method,
		      struct fl_sip_limit_key *key)
{
	memset(key, 0, sizeof(*key));
	key->addr = addr_of(dst, &key->family);
	key->method = method;
}

/* A limiter on @dst's @method, as flowlensd installs it: an empty TAT. */
static int limit_add(struct fl_fixture *fx, const char *dst, __u8 method)
{
	struct fl_sip_limit v = { .cost = NSEC / LIMIT_PPS,
				  .depth = NSEC / LIMIT_PPS * LIMIT_BURST,
				  .attack = 7 };
	struct fl_sip_limit_key key;

	limit_key(dst, method, &key);
	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.FL_MAP_SIP_LIMIT),
				   &key, &v, BPF_ANY) ?
		       -errno :
		       0;
}

static int limit_read(struct fl_fixture *fx, const char *dst, __u8 method,
		      struct fl_sip_limit *v)
{
	struct fl_sip_limit_key key;

	limit_key(dst, method, &key);
	return bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.FL_MAP_SIP_LIMIT),
				   &key, v) ?
		       -errno :
		       0;
}

/* fl_allow_hits[@slot], summed over CPUs. */
static __u64 carrier_hits(struct fl_fixture *fx, __u32 slot)
{
	__u64 *values, sum = 0;
	int cpu;

	values = calloc(ncpus(), sizeof(*values));
	if (!values)
		return ~0ULL;
	if (!fl_percpu_lookup(bpf_map__fd(fx->skel->maps.FL_MAP_ALLOW_HITS),
			      &slot, values, sizeof(*values)))
		for (cpu = 0; cpu < ncpus(); cpu++)
			sum += values[cpu];
	free(values);
	return sum;
}

static int carrier_add(struct fl_fixture *fx, const char *text, __u32 carrier)
{
	struct fl_allow value = { .carrier = carrier };
	int err = fl_lpm_add(fx->skel->maps.FL_MAP_ALLOW4,
			     fx->skel->maps.FL_MAP_ALLOW6, text, &value);

	return err ?: fl_allow_prefixes_set(fx, 1);
}

/* What @n packets in one test run came to. */
struct limit_run {
	__u64 passed, dropped; /* interface verdicts */
	__u64 lim_passed, lim_dropped; /* the limiter's counters */
	struct fl_sip_totals totals; /* delta */
	__u64 elapsed_ns;
};

static bool limit_send(struct fl_fixture *fx, const struct pkt *p, __u32 n,
		       const char *dst, __u8 method, struct limit_run *r)
{
	struct fl_sip_totals t0, t1;
	struct fl_sip_limit l0, l1;
	struct fl_if_stats s0, s1;
	__u64 *d = (__u64 *)&r->totals;
	const __u64 *a = (void *)&t1, *b = (void *)&t0;
	__u32 action;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!ASSERT_OK(fl_if_stats_read(fx, &s0), "if stats") ||
	    !ASSERT_OK(totals_read(fx, &t0), "totals") ||
	    !ASSERT_OK(limit_read(fx, dst, method, &l0), "limiter"))
		return false;
	r->elapsed_ns = mono_ns();
	if (!ASSERT_OK(fl_run(fx, p->data, p->len, n, &action), "run"))
		return false;
	r->elapsed_ns = mono_ns() - r->elapsed_ns;
	if (!ASSERT_OK(fl_if_stats_read(fx, &s1), "if stats") ||
	    !ASSERT_OK(totals_read(fx, &t1), "totals") ||
	    !ASSERT_OK(limit_read(fx, dst, method, &l1), "limiter"))
		return false;
	r->passed = s1.verdict[XDP_PASS] - s0.verdict[XDP_PASS];
	r->dropped = s1.verdict[XDP_DROP] - s0.verdict[XDP_DROP];
	r->lim_passed = l1.passed - l0.passed;
	r->lim_dropped = l1.dropped - l0.dropped;
	for (i = 0; i < TOTALS_WORDS; i++)
		d[i] = a[i] - b[i];
	return ASSERT_EQ(r->passed + r->dropped, n, "verdicts") &&
	       ASSERT_EQ(action, r->dropped ? XDP_DROP : XDP_PASS,
			 "the last packet's verdict");
}

/* The limiter's first run on a full bucket: its burst, then drops; what
 * passed, the limiter and the totals agree. */
static void limiter_burst(struct fl_fixture *fx, const char *dst,
			  const char *src)
{
	struct fl_sip_totals expect = {};
	char payload[256];
	struct limit_run r;
	struct pkt p;

	kind_payload(FL_SIP_INVITE, payload, sizeof(payload));
	if (!udp_build(src, dst, 5060, 5060, payload, &p) ||
	    !limit_send(fx, &p, LIMIT_SENT, dst, FL_SIP_INVITE, &r))
		return;
	/* a token comes back every 1/LIMIT_PPS s of the run */
	ASSERT_GE(r.passed, LIMIT_BURST, "passed");
	ASSERT_LE(r.passed, LIMIT_BURST + r.elapsed_ns * LIMIT_PPS / NSEC,
		  "passed");
	ASSERT_EQ(r.lim_passed, r.passed, "limiter passed");
	ASSERT_EQ(r.lim_dropped, r.dropped, "limiter dropped");
	expect.kinds[FL_SIP_INVITE] = LIMIT_SENT;
	expect.protected_packets = LIMIT_SENT;
	expect.tracked_sources = 1; /* @src, new, sent LIMIT_SENT */
	expect.limited[FL_SIP_INVITE] = r.dropped;
	totals_check(&(struct fl_sip_totals){}, &r.totals, &expect);
}

void test_voip_limiter(void)
{
	struct fl_config cfg = voip_cfg;
	struct fl_sip_totals expect = {};
	char invite[256], reg[256];
	struct fl_sip_limit lim;
	struct fl_fixture fx;
	struct limit_run r;
	__u64 since, hits;
	struct pkt p;

	if (!voip_open(&fx, &cfg, HEAVY_PACKETS))
		return;
	kind_payload(FL_SIP_INVITE, invite, sizeof(invite));
	kind_payload(FL_SIP_REGISTER, reg, sizeof(reg));
	if (!ASSERT_OK(limit_add(&fx, VICTIM4, FL_SIP_INVITE), "limiter") ||
	    !ASSERT_OK(limit_add(&fx, VICTIM6, FL_SIP_INVITE), "limiter v6"))
		goto out;

	test__case("ipv4 INVITE burst");
	since = mono_ns();
	limiter_burst(&fx, VICTIM4, "192.0.2.1");

	/* another method to the same host: no limiter of its own */
	test__case("REGISTER to the limited host");
	if (!udp_build("192.0.2.1", VICTIM4, 5060, 5060, reg, &p) ||
	    !limit_send(&fx, &p, 20, VICTIM4, FL_SIP_INVITE, &r))
		goto out;
	ASSERT_EQ(r.passed, 20, "REGISTERs passed");
	ASSERT_EQ(r.lim_passed + r.lim_dropped, 0, "INVITE limiter untouched");
	memset(&expect, 0, sizeof(expect));
	expect.kinds[FL_SIP_REGISTER] = 20;
	expect.protected_packets = 20;
	totals_check(&(struct fl_sip_totals){}, &r.totals, &expect);

	/* a carrier: allowlisted, so never limited, and counted */
	test__case("carrier INVITEs");
	if (!ASSERT_OK(carrier_add(&fx, "192.0.2.64/26", CARRIER_SLOT),
		       "carrier") ||
	    !udp_build("192.0.2.70", VICTIM4, 5060, 5060, invite, &p))
		goto out;
	hits = carrier_hits(&fx, CARRIER_SLOT);
	if (!limit_send(&fx, &p, LIMIT_SENT, VICTIM4, FL_SIP_INVITE, &r))
		goto out;
	ASSERT_EQ(r.passed, LIMIT_SENT, "carrier INVITEs passed");
	ASSERT_EQ(r.lim_passed + r.lim_dropped, 0, "limiter untouched");
	ASSERT_EQ(carrier_hits(&fx, CARRIER_SLOT) - hits, LIMIT_SENT,
		  "carrier hits");
	ASSERT_EQ(carrier_hits(&fx, 0) + carrier_hits(&fx, 1) +
			  carrier_hits(&fx, CARRIER_SLOT + 1),
		  0, "other carriers' hits");
	memset(&expect, 0, sizeof(expect));
	expect.kinds[FL_SIP_INVITE] = LIMIT_SENT;
	expect.protected_packets = LIMIT_SENT;
	expect.tracked_sources = 1; /* carriers are counted per source too */
	totals_check(&(struct fl_sip_totals){}, &r.totals, &expect);

	/* ... while anyone else's INVITEs are still limited */
	test__case("non-carrier after the carrier");
	if (!udp_build("192.0.2.1", VICTIM4, 5060, 5060, invite, &p) ||
	    !limit_send(&fx, &p, 10, VICTIM4, FL_SIP_INVITE, &r))
		goto out;
	ASSERT_LE(r.passed, (mono_ns() - since) * LIMIT_PPS / NSEC,
		  "INVITEs passed on a spent bucket");
	ASSERT_GE(r.dropped, 1, "INVITEs dropped on a spent bucket");
	ASSERT_EQ(r.lim_dropped, r.dropped, "limiter dropped");
	ASSERT_EQ(r.totals.limited[FL_SIP_INVITE], r.dropped,
		  "limited[INVITE]");
	ASSERT_EQ(carrier_hits(&fx, CARRIER_SLOT) - hits, LIMIT_SENT,
		  "carrier hits: the non-carrier not counted");

	test__case("ipv6 INVITE burst");
	limiter_burst(&fx, VICTIM6, "2001:db8::1");

	/* VoIP off: the limiters stay, nothing reaches them */
	test__case("voip off");
	cfg.voip = 0;
	cfg.allow_prefixes = 1;
	if (!ASSERT_OK(fl_config_write(&fx, &cfg), "voip off") ||
	    !udp_build("192.0.2.1", VICTIM4, 5060, 5060, invite, &p) ||
	    !limit_send(&fx, &p, LIMIT_SENT, VICTIM4, FL_SIP_INVITE, &r))
		goto out;
	ASSERT_EQ(r.passed, LIMIT_SENT, "INVITEs passed");
	ASSERT_EQ(r.lim_passed + r.lim_dropped, 0, "limiter untouched");
	totals_check(&(struct fl_sip_totals){}, &r.totals,
		     &(struct fl_sip_totals){});
	if (ASSERT_OK(limit_read(&fx, VICTIM4, FL_SIP_INVITE, &lim), "limiter"))
		ASSERT_EQ(lim.attack, 7, "the limiter's attack");
out:
	fl_fixture_close(&fx);
}

/* ---- monitor mode ---------------------------------------------------------- */

void test_voip_monitor(void)
{
	struct fl_config cfg = voip_cfg;
	struct fl_sip_totals before, after, expect = {};
	__u64 want[FL_SIP_KINDS] = {}, bytes = 0;
	struct fl_sip_limit lim;
	struct fl_sip_stats st;
	struct fl_fixture fx;
	char payload[256];
	__u32 kind;
	struct pkt p;

	cfg.mode = FL_MODE_MONITOR;
	if (!voip_open(&fx, &cfg, HEAVY_PACKETS))
		return;
	/* a limiter too: a SPAN port's copies are counted, never limited */
	if (!ASSERT_OK(limit_add(&fx, VICTIM4, FL_SIP_INVITE), "limiter") ||
	    !ASSERT_OK(totals_read(&fx, &before), "totals"))
		goto out;
	for (kind = 0; kind < FL_SIP_KINDS; kind++) {
		test__case("%s", kind_name(kind));
		kind_payload(kind, payload, sizeof(payload));
		if (!udp_build("192.0.2.1", "198.51.101.7", 40000, 5060,
			       payload, &p) ||
		    !run(&fx, &p, 2, XDP_DROP) ||
		    !udp_build("192.0.2.1", VICTIM4, 40000, 5060, payload,
			       &p) ||
		    !run(&fx, &p, 1, XDP_DROP))
			goto out;
		expect.kinds[kind] = 3;
		want[kind] = 1;
		bytes += p.len;
	}
	test__case("monitor totals");
	expect.protected_packets = FL_SIP_KINDS;
	expect.tracked_sources = 1; /* 192.0.2.1 sent FL_SIP_KINDS */
	if (!ASSERT_OK(totals_read(&fx, &after), "totals"))
		goto out;
	totals_check(&before, &after, &expect);
	if (ASSERT_OK(sip_stats_read(&fx, VICTIM4, SLOT4, FL_SIP_SIDE_DST, &st),
		      "the host's entry"))
		sip_stats_check(&st, want, bytes, "host");
	if (ASSERT_OK(limit_read(&fx, VICTIM4, FL_SIP_INVITE, &lim), "limiter"))
		ASSERT_EQ(lim.passed + lim.dropped, 0, "limiter untouched");
out:
	fl_fixture_close(&fx);
}
