/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: what every unit test in prog_tests/ uses.
 *   ASSERT_*()            check a value; on failure record what, expected vs
 *                         actual and file:line, and return false, so that
 *                         `if (!ASSERT_OK(err, "load")) goto out;` reads well
 *   test__skip()          the running test cannot run here (say why first)
 *   test__case()          name the table row being checked; failures say it
 *   test__log()           a line shown with -v, or when the test fails
 *
 *   struct fl_fixture     the flowlens skeleton, loaded with no map pinned
 *   fl_run()              one frame through BPF_PROG_TEST_RUN -> XDP action
 *   fl_if_stats_read()    counters of the interface test runs count on
 *   fl_ip_stats_read()    exact per-IP counters, summed over CPUs
 *   fl_sketch_read()      one sketch cell, summed over CPUs
 *   fl_sketch_epoch()     the epoch the program last stamped on the sketch
 *   fl_config_write()     the runtime settings
 *   fl_allow_prefixes_set() the allow tries' size, as flowlensd keeps it
 *   fl_protect_add()      a protected prefix, as text
 *   fl_if_stats_check()   compare a counter delta with what a table expects
 *   fl_run_check()        run one frame, check its action and counter delta
 *
 * A test is `void test_<name>(void)` at the start of a line in
 * prog_tests/<file>.c; the Makefile lists them in tests.h and the runner
 * calls each in turn. The runner keeps itself on one CPU, so per-CPU maps
 * (the sketch, and the heavy-hitter decision made from it) see every packet
 * a test sends in one place.
 */
#ifndef FL_SELFTESTS_TEST_PROGS_H
#define FL_SELFTESTS_TEST_PROGS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <linux/types.h>
#include <flowlens/flowlens.h>

#include "flowlens.skel.h"

/* Every test, declared (the definitions are in prog_tests/). */
#define DEFINE_TEST(name) void test_##name(void);
#include "tests.h"
#undef DEFINE_TEST

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- results ---------------------------------------------------------- */

void test__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void test__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test__skip(void);
void test__case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool test__failed(void);
int test__verbose(void);

#define ASSERT_CMP_(actual, expected, op, name)                              \
	({                                                                   \
		long long ___act = (long long)(actual);                      \
		long long ___exp = (long long)(expected);                    \
		bool ___ok = ___act op ___exp;                               \
		if (!___ok)                                                  \
			test__fail(__FILE__, __LINE__,                       \
				   "%s: expected " #op " %lld, actual %lld", \
				   (name), ___exp, ___act);                  \
		___ok;                                                       \
	})

#define ASSERT_EQ(actual, expected, name) \
	ASSERT_CMP_(actual, expected, ==, name)
#define ASSERT_NEQ(actual, expected, name) \
	ASSERT_CMP_(actual, expected, !=, name)
#define ASSERT_LT(actual, expected, name) ASSERT_CMP_(actual, expected, <, name)
#define ASSERT_LE(actual, expected, name) \
	ASSERT_CMP_(actual, expected, <=, name)
#define ASSERT_GT(actual, expected, name) ASSERT_CMP_(actual, expected, >, name)
#define ASSERT_GE(actual, expected, name) \
	ASSERT_CMP_(actual, expected, >=, name)

#define ASSERT_TRUE(cond, name)                                             \
	({                                                                  \
		bool ___ok = !!(cond);                                      \
		if (!___ok)                                                 \
			test__fail(__FILE__, __LINE__, "%s: expected true", \
				   (name));                                 \
		___ok;                                                      \
	})

#define ASSERT_FALSE(cond, name)                                             \
	({                                                                   \
		bool ___ok = !(cond);                                        \
		if (!___ok)                                                  \
			test__fail(__FILE__, __LINE__, "%s: expected false", \
				   (name));                                  \
		___ok;                                                       \
	})

/* 0 is success; libbpf and our helpers return -errno. */
#define ASSERT_OK(res, name)                                                 \
	({                                                                   \
		long long ___res = (long long)(res);                         \
		bool ___ok = ___res == 0;                                    \
		if (!___ok)                                                  \
			test__fail(__FILE__, __LINE__,                       \
				   "%s: unexpected error %lld (%s)", (name), \
				   ___res,                                   \
				   strerror(___res < 0 ? -___res : errno));  \
		___ok;                                                       \
	})

#define ASSERT_ERR(res, name)                                                 \
	({                                                                    \
		long long ___res = (long long)(res);                          \
		bool ___ok = ___res < 0;                                      \
		if (!___ok)                                                   \
			test__fail(__FILE__, __LINE__,                        \
				   "%s: expected an error, got %lld", (name), \
				   ___res);                                   \
		___ok;                                                        \
	})

/* libbpf 1.x returns NULL and sets errno. */
#define ASSERT_OK_PTR(ptr, name)                                       \
	({                                                             \
		const void *___ptr = (ptr);                            \
		bool ___ok = ___ptr != NULL;                           \
		if (!___ok)                                            \
			test__fail(__FILE__, __LINE__,                 \
				   "%s: unexpected NULL (%s)", (name), \
				   strerror(errno));                   \
		___ok;                                                 \
	})

#define ASSERT_NULL(ptr, name)                                          \
	({                                                              \
		const void *___ptr = (ptr);                             \
		bool ___ok = ___ptr == NULL;                            \
		if (!___ok)                                             \
			test__fail(__FILE__, __LINE__,                  \
				   "%s: expected NULL, got %p", (name), \
				   ___ptr);                             \
		___ok;                                                  \
	})

#define ASSERT_STREQ(actual, expected, name)                              \
	({                                                                \
		const char *___act = (actual), *___exp = (expected);      \
		bool ___ok = ___act && ___exp && !strcmp(___act, ___exp); \
		if (!___ok)                                               \
			test__fail(__FILE__, __LINE__,                    \
				   "%s: expected \"%s\", actual \"%s\"",  \
				   (name), ___exp ?: "(null)",            \
				   ___act ?: "(null)");                   \
		___ok;                                                    \
	})

/* ---- the program under test ------------------------------------------- */

struct fl_fixture {
	struct flowlens_bpf *skel;
	int prog_fd;
	/* Where BPF_PROG_TEST_RUN counts packets: without an xdp_md context
	 * the kernel uses the netns loopback's RX queue, so ingress_ifindex
	 * is lo's (1). test_fixture checks this. */
	__u32 ifindex;
};

/* Rule ids an unpinned fixture has room for (flowlensd: a million). */
#define FL_FIXTURE_RULES 65536

struct fl_fixture_opts {
	const char *pin_root_path; /* libbpf's pin root; NULL: its default */
	bool keep_pinning; /* leave the maps' pin paths alone */
};

/*
 * Opens the skeleton, clears every map's pin path (LIBBPF_PIN_BY_NAME
 * would otherwise reuse, or create, maps under the pin root: a test would
 * share counters with a running flowlensd, or leave pins behind) and loads.
 * Returns 0 or -errno; the reason is in the test log.
 */
int fl_fixture_open_opts(struct fl_fixture *fx,
			 const struct fl_fixture_opts *opts);
int fl_fixture_open(struct fl_fixture *fx);
void fl_fixture_close(struct fl_fixture *fx);

/*
 * Runs @len bytes through the program @repeat times (0 is once) and stores
 * the XDP action. The kernel refuses test input shorter than an Ethernet
 * header, so a shorter frame is padded to ETH_HLEN with an xdp_md whose
 * data_end is @len: the program sees exactly @len bytes in the linear part,
 * and the padding goes to a fragment it never reads. -EOPNOTSUPP: the
 * kernel cannot do that (older than the 6.18 this was written on), and
 * fl_run_check() skips the case.
 */
int fl_run(struct fl_fixture *fx, const void *data, __u32 len, __u32 repeat,
	   __u32 *action);

/* Runs @p @n times, one run each (not repeat), each of which must pass:
 * -EPROTO if one does not. */
struct pkt;
int fl_run_pass(struct fl_fixture *fx, const struct pkt *p, int n);

/* An address as text, in the layout the program uses (zero-padded). */
union fl_addr fl_addr_of(int family, const char *text);

/* Per-CPU map values: @values holds libbpf_num_possible_cpus() of them,
 * each @value_size rounded up to 8 bytes (what the kernel copies). */
int fl_percpu_lookup(int map_fd, const void *key, void *values,
		     size_t value_size);

/* Counters for fx->ifindex, summed over CPUs; zeros if there is no entry. */
int fl_if_stats_read(struct fl_fixture *fx, struct fl_if_stats *sum);

/* Exact counters for one address (AF_INET/AF_INET6, network order), summed
 * over CPUs, reasons OR-ed, latest last_seen_ns. -ENOENT: no entry. */
int fl_ip_stats_read(struct fl_fixture *fx, int family, const void *addr,
		     struct fl_ip_stats *sum);
int fl_ip_stats_count(struct fl_fixture *fx, int family);

/* One sketch cell: counts summed over CPUs, the newest epoch. */
int fl_sketch_read(struct fl_fixture *fx, __u32 index,
		   struct fl_sketch_cell *sum);

int fl_config_write(struct fl_fixture *fx, const struct fl_config *cfg);
int fl_allow_prefixes_set(struct fl_fixture *fx, __u32 n);

/* "198.51.100.0/24" or "2001:db8:1::/48" into fl_protect4/fl_protect6. */
int fl_protect_add(struct fl_fixture *fx, const char *prefix);
/* "PREFIX" with @value into an IPv4 or IPv6 LPM trie, as its family says. */
int fl_lpm_add(struct bpf_map *map4, struct bpf_map *map6, const char *prefix,
	       const void *value);

/*
 * Time as the program reads it (bpf_ktime_get_coarse_ns(), that is
 * CLOCK_MONOTONIC_COARSE), and the sketch epoch it gives. A test that must
 * not straddle an epoch reads the epoch the program stamped on the sketch
 * total after its first and its last accounted packet (fl_sketch_epoch())
 * and runs again, once, on fresh maps if the two differ; never a sleep.
 */
__u64 fl_clock_ns(void);
__u32 fl_epoch_now(void);
int fl_sketch_epoch(struct fl_fixture *fx, __u32 *epoch);

/* ---- expected counters ------------------------------------------------ */

/* One bit per struct fl_kind_counters field: KIND(tcp) | KIND(ipv4). */
enum fl_kind_bit {
#define FL_X_BIT(field, name) FL_KIND_BIT_##field,
	FL_KINDS(FL_X_BIT)
#undef FL_X_BIT
};
#define KIND(field) (1U << FL_KIND_BIT_##field)

/* The delta @packets identical frames of @len bytes cause: every counter
 * that is not named here must stay unchanged. @err: enum fl_parse_result. */
void fl_if_stats_expect(struct fl_if_stats *expect, __u64 packets, __u64 len,
			__u32 action, __u32 kinds, int err);

/* Compares after - before with @expect field by field, reporting each
 * mismatch by name ("kind.tcp", "parse_error[tcp_truncated]"). */
bool fl_if_stats_check_(const char *file, int line,
			const struct fl_if_stats *before,
			const struct fl_if_stats *after,
			const struct fl_if_stats *expect);
#define fl_if_stats_check(before, after, expect) \
	fl_if_stats_check_(__FILE__, __LINE__, before, after, expect)

/* Runs one frame and checks the action and the delta of every counter:
 * exactly one packet of @len bytes, @action, @kinds and @err. */
bool fl_run_check_(const char *file, int line, struct fl_fixture *fx,
		   const void *data, __u32 len, __u32 action, __u32 kinds,
		   int err);
#define fl_run_check(fx, data, len, action, kinds, err) \
	fl_run_check_(__FILE__, __LINE__, fx, data, len, action, kinds, err)

const char *fl_parse_error_name(int err);
const char *fl_xdp_action_name(__u32 action);

#endif /* FL_SELFTESTS_TEST_PROGS_H */
