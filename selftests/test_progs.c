// SPDX-License-Identifier: Apache-2.0
/*
 * test_progs - runs the BPF_PROG_TEST_RUN unit tests in prog_tests/.
 *
 * Usage: test_progs [-l] [-v] [-t SUBSTR]...
 * One line per test on stdout, "[unit/<name>] PASS|FAIL|SKIP", preceded by
 * the test's diagnostics (indented two spaces) when it did not pass, or
 * always with -v. Exit status 0 if no test failed, 1 otherwise.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pkt.h"
#include "prefix.h"
#include "ruleset.h"
#include "ifstats.h"
#include "test_progs.h"

struct prog_test {
	const char *name;
	void (*run)(void);
};

static const struct prog_test prog_tests[] = {
#define DEFINE_TEST(name) { #name, test_##name },
#include "tests.h"
#undef DEFINE_TEST
};

static struct {
	int verbose;
	FILE *log; /* the running test's diagnostics */
	char *log_buf;
	size_t log_size;
	char case_name[128];
	bool failed;
	bool skipped;
} env;

/* ---- results ---------------------------------------------------------- */

static void log_vprintf(const char *fmt, va_list ap)
{
	FILE *out = env.log ?: stderr;
	size_t len = strlen(fmt);

	vfprintf(out, fmt, ap);
	if (!len || fmt[len - 1] != '\n')
		fputc('\n', out);
}

static void log_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void log_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(fmt, ap);
	va_end(ap);
}

void test__fail(const char *file, int line, const char *fmt, ...)
{
	FILE *out = env.log ?: stderr;
	va_list ap;

	env.failed = true;
	fprintf(out, "%s:%d: ", file, line);
	if (env.case_name[0])
		fprintf(out, "[%s] ", env.case_name);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

void test__log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(fmt, ap);
	va_end(ap);
}

void test__skip(void)
{
	env.skipped = true;
}

void test__case(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(env.case_name, sizeof(env.case_name), fmt, ap);
	va_end(ap);
	if (env.verbose > 1)
		log_printf("case: %s", env.case_name);
}

bool test__failed(void)
{
	return env.failed;
}

int test__verbose(void)
{
	return env.verbose;
}

/* libbpf's messages belong to the test that caused them; its chatter
 * (info, debug) only with -vv. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level != LIBBPF_WARN && env.verbose < 2)
		return 0;
	vfprintf(env.log ?: stderr, fmt, ap);
	return 0;
}

static void print_indented(const char *text)
{
	const char *line = text, *end;

	while (*line) {
		end = strchrnul(line, '\n');
		printf("  %.*s\n", (int)(end - line), line);
		line = *end ? end + 1 : end;
	}
}

static bool run_test(const struct prog_test *test)
{
	const char *result;

	memset(env.case_name, 0, sizeof(env.case_name));
	env.failed = env.skipped = false;
	env.log_buf = NULL;
	env.log_size = 0;
	env.log = open_memstream(&env.log_buf, &env.log_size);

	test->run();

	if (env.log)
		fclose(env.log);
	env.log = NULL;
	result = env.failed ? "FAIL" : env.skipped ? "SKIP" : "PASS";
	if (env.log_buf && (env.failed || env.skipped || env.verbose))
		print_indented(env.log_buf);
	printf("[unit/%s] %s\n", test->name, result);
	fflush(stdout);
	free(env.log_buf);
	env.log_buf = NULL;
	return !env.failed;
}

/* ---- the program under test ------------------------------------------- */

static int ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

static size_t round_up8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int fl_fixture_open_opts(struct fl_fixture *fx,
			 const struct fl_fixture_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct bpf_map *map;
	int err;

	memset(fx, 0, sizeof(*fx));
	fx->prog_fd = -1;
	if (opts)
		open_opts.pin_root_path = opts->pin_root_path;

	fx->skel = flowlens_bpf__open_opts(&open_opts);
	if (!fx->skel) {
		err = -errno;
		log_printf("cannot open the flowlens skeleton: %s",
			   strerror(-err));
		return err;
	}
	if (!opts || !opts->keep_pinning) {
		bpf_object__for_each_map(map, fx->skel->obj) {
			err = bpf_map__set_pin_path(map, NULL);
			if (err) {
				log_printf(
					"cannot clear the pin path of %s: %s",
					bpf_map__name(map), strerror(-err));
				goto err_out;
			}
		}
	}
	/* Room for the rules a test installs, not a million: the per-CPU
	 * counters of a million would cost every fixture 0.4 s to create. */
	if (!opts || !opts->keep_pinning) {
		err = fl_ruleset_set_max(fx->skel->obj, FL_FIXTURE_RULES);
		if (err) {
			log_printf("cannot size the rule maps: %s",
				   strerror(-err));
			goto err_out;
		}
	}
	err = flowlens_bpf__load(fx->skel);
	if (err) {
		log_printf(
			"cannot load the flowlens program: %s (run as root, on a kernel with BTF)",
			strerror(-err));
		goto err_out;
	}
	fx->prog_fd = bpf_program__fd(fx->skel->progs.flowlens);
	fx->ifindex = if_nametoindex("lo");
	if (!fx->ifindex)
		fx->ifindex = 1; /* LOOPBACK_IFINDEX in every netns */
	/* As flowlensd does on attach: the interface's counter slot. */
	err = fl_ifstats_claim(bpf_map__fd(fx->skel->maps.fl_if_fast),
			       fx->ifindex);
	if (err < 0) {
		log_printf("cannot claim lo's counter slot: %s", strerror(-err));
		goto err_out;
	}
	return 0;

err_out:
	flowlens_bpf__destroy(fx->skel);
	fx->skel = NULL;
	return err;
}

int fl_fixture_open(struct fl_fixture *fx)
{
	return fl_fixture_open_opts(fx, NULL);
}

void fl_fixture_close(struct fl_fixture *fx)
{
	flowlens_bpf__destroy(fx->skel);
	fx->skel = NULL;
	fx->prog_fd = -1;
}

int fl_run(struct fl_fixture *fx, const void *data, __u32 len, __u32 repeat,
	   __u32 *action)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = repeat);
	struct xdp_md ctx = {};
	__u8 buf[ETH_HLEN];
	int err;

	opts.data_in = data;
	opts.data_size_in = len;
	if (len < ETH_HLEN) {
		/* The kernel wants at least ETH_HLEN bytes of input, but
		 * only data_end of them in the linear part the program
		 * sees; the rest becomes a fragment it never reads. */
		memset(buf, 0, sizeof(buf));
		memcpy(buf, data, len);
		ctx.data_end = len;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
		opts.data_in = buf;
		opts.data_size_in = sizeof(buf);
	}
	err = bpf_prog_test_run_opts(fx->prog_fd, &opts);
	if (err == -EINVAL && len < ETH_HLEN)
		return -EOPNOTSUPP; /* a kernel before linear-size test runs */
	if (err)
		return err < 0 ? err : -EINVAL;
	*action = opts.retval;
	return 0;
}

int fl_run_pass(struct fl_fixture *fx, const struct pkt *p, int n)
{
	__u32 action;
	int i, err;

	for (i = 0; i < n; i++) {
		err = fl_run(fx, p->data, p->len, 1, &action);
		if (err)
			return err;
		if (action != XDP_PASS)
			return -EPROTO;
	}
	return 0;
}

union fl_addr fl_addr_of(int family, const char *text)
{
	union fl_addr addr = {};

	inet_pton(family, text, addr.b);
	return addr;
}

int fl_percpu_lookup(int map_fd, const void *key, void *values,
		     size_t value_size)
{
	(void)value_size; /* the kernel copies round_up(size, 8) per CPU */
	return bpf_map_lookup_elem(map_fd, key, values) ? -errno : 0;
}

/* Every fl_if_stats field is a __u64 counter: sum them all. */
int fl_if_stats_read(struct fl_fixture *fx, struct fl_if_stats *sum)
{
	return fl_ifstats_sum(bpf_map__fd(fx->skel->maps.fl_if_fast),
			      bpf_map__fd(fx->skel->maps.fl_if_stats),
			      fx->ifindex, sum);
}

int fl_ip_stats_read(struct fl_fixture *fx, int family, const void *addr,
		     struct fl_ip_stats *sum)
{
	size_t stride = round_up8(sizeof(*sum));
	struct fl_ip6_key key6 = {};
	struct fl_ip4_key key4 = {};
	const void *key = &key4;
	struct bpf_map *map = fx->skel->maps.fl_ip4_stats;
	__u8 *values;
	int err, cpu, side;

	memset(sum, 0, sizeof(*sum));
	if (family == AF_INET6) {
		memcpy(key6.addr, addr, sizeof(key6.addr));
		key = &key6;
		map = fx->skel->maps.fl_ip6_stats;
	} else {
		memcpy(key4.addr, addr, sizeof(key4.addr));
	}
	values = calloc(ncpus(), stride);
	if (!values)
		return -ENOMEM;
	err = fl_percpu_lookup(bpf_map__fd(map), key, values, sizeof(*sum));
	for (cpu = 0; !err && cpu < ncpus(); cpu++) {
		const struct fl_ip_stats *v = (void *)(values + cpu * stride);

		for (side = 0; side < FL_SIDE_COUNT; side++) {
			sum->side[side].packets += v->side[side].packets;
			sum->side[side].bytes += v->side[side].bytes;
			sum->side[side].syns += v->side[side].syns;
		}
		if (v->last_seen_ns > sum->last_seen_ns)
			sum->last_seen_ns = v->last_seen_ns;
		sum->reason |= v->reason;
	}
	free(values);
	return err;
}

int fl_ip_stats_count(struct fl_fixture *fx, int family)
{
	struct bpf_map *map = family == AF_INET6 ? fx->skel->maps.fl_ip6_stats :
						   fx->skel->maps.fl_ip4_stats;
	__u8 key[sizeof(struct fl_ip6_key)], next[sizeof(key)];
	int fd = bpf_map__fd(map), count = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		count++;
	}
	return errno == ENOENT ? count : -errno;
}

int fl_sketch_read(struct fl_fixture *fx, __u32 index,
		   struct fl_sketch_cell *sum)
{
	size_t stride = round_up8(sizeof(*sum));
	__u8 *values;
	int err, cpu;

	memset(sum, 0, sizeof(*sum));
	values = calloc(ncpus(), stride);
	if (!values)
		return -ENOMEM;
	err = fl_percpu_lookup(bpf_map__fd(fx->skel->maps.fl_sketch), &index,
			       values, sizeof(*sum));
	for (cpu = 0; !err && cpu < ncpus(); cpu++) {
		const struct fl_sketch_cell *v =
			(void *)(values + cpu * stride);

		sum->packets += v->packets;
		sum->syns += v->syns;
		sum->bytes += v->bytes;
		if (v->epoch > sum->epoch)
			sum->epoch = v->epoch;
	}
	free(values);
	return err;
}

int fl_config_write(struct fl_fixture *fx, const struct fl_config *cfg)
{
	__u32 key = 0;

	return bpf_map_update_elem(bpf_map__fd(fx->skel->maps.fl_config), &key,
				   cfg, BPF_ANY) ?
		       -errno :
		       0;
}

/* What flowlensd does next to the allow tries: their size in fl_config
 * (0 skips stage 3). */
int fl_allow_prefixes_set(struct fl_fixture *fx, __u32 n)
{
	int fd = bpf_map__fd(fx->skel->maps.fl_config);
	struct fl_config cfg;
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &cfg))
		return -errno;
	cfg.allow_prefixes = n;
	return bpf_map_update_elem(fd, &key, &cfg, BPF_ANY) ? -errno : 0;
}

int fl_protect_add(struct fl_fixture *fx, const char *text)
{
	struct fl_protect value = {};

	return fl_lpm_add(fx->skel->maps.fl_protect4, fx->skel->maps.fl_protect6,
			  text, &value);
}

int fl_lpm_add(struct bpf_map *map4, struct bpf_map *map6, const char *text,
	       const void *value)
{
	struct fl_prefix prefix;
	struct fl_lpm6_key key6;
	struct fl_lpm4_key key4;
	char why[128];
	int err;

	err = fl_prefix_parse(text, &prefix, why, sizeof(why));
	if (err) {
		log_printf("bad prefix %s: %s", text, why);
		return err;
	}
	if (prefix.family == AF_INET6) {
		key6.prefixlen = prefix.len;
		memcpy(key6.addr, prefix.addr.b, sizeof(key6.addr));
		err = bpf_map_update_elem(bpf_map__fd(map6), &key6, value,
					  BPF_ANY);
	} else {
		key4.prefixlen = prefix.len;
		memcpy(key4.addr, prefix.addr.b, sizeof(key4.addr));
		err = bpf_map_update_elem(bpf_map__fd(map4), &key4, value,
					  BPF_ANY);
	}
	return err ? -errno : 0;
}

__u64 fl_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__u32 fl_epoch_now(void)
{
	return fl_clock_ns() >> FL_EPOCH_SHIFT;
}

int fl_sketch_epoch(struct fl_fixture *fx, __u32 *epoch)
{
	struct fl_sketch_cell total;
	int err;

	err = fl_sketch_read(fx, FL_SKETCH_TOTAL, &total);
	if (!err)
		*epoch = total.epoch;
	return err;
}

/* ---- expected counters ------------------------------------------------ */

static const char *const kind_names[] = {
#define FL_X_NAME(field, name) name,
	FL_KINDS(FL_X_NAME)
#undef FL_X_NAME
};

static const char *const parse_error_names[] = {
#define FL_X_NAME(id, name) name,
	FL_PARSE_ERRORS(FL_X_NAME)
#undef FL_X_NAME
};

_Static_assert(ARRAY_SIZE(kind_names) * sizeof(__u64) ==
		       sizeof(struct fl_kind_counters),
	       "one name per kind counter");
_Static_assert(ARRAY_SIZE(parse_error_names) == FL_PERR_COUNT,
	       "one name per parse error");

const char *fl_parse_error_name(int err)
{
	if (err == FL_PARSE_OK)
		return "ok";
	if (err > FL_PARSE_OK && err < FL_PERR_END)
		return parse_error_names[err - 1];
	return "?";
}

const char *fl_xdp_action_name(__u32 action)
{
	static const char *const names[] = { "XDP_ABORTED", "XDP_DROP",
					     "XDP_PASS", "XDP_TX",
					     "XDP_REDIRECT" };

	return action < ARRAY_SIZE(names) ? names[action] : "?";
}

void fl_if_stats_expect(struct fl_if_stats *expect, __u64 packets, __u64 len,
			__u32 action, __u32 kinds, int err)
{
	__u64 *kind = (__u64 *)&expect->kind;
	size_t i;

	memset(expect, 0, sizeof(*expect));
	expect->packets = packets;
	expect->bytes = packets * len;
	if (action < FL_VERDICT_COUNT)
		expect->verdict[action] = packets;
	for (i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (kinds & (1U << i))
			kind[i] = packets;
	if (err > FL_PARSE_OK && err < FL_PERR_END)
		expect->parse_error[err - 1] = packets;
}

static bool check_field(const char *file, int line, const char *field,
			__u64 before, __u64 after, __u64 expect)
{
	if (after - before == expect)
		return true;
	test__fail(file, line, "%s: expected delta %llu, actual %lld", field,
		   (unsigned long long)expect, (long long)(after - before));
	return false;
}

bool fl_if_stats_check_(const char *file, int line,
			const struct fl_if_stats *before,
			const struct fl_if_stats *after,
			const struct fl_if_stats *expect)
{
	const __u64 *kb = (const __u64 *)&before->kind;
	const __u64 *ka = (const __u64 *)&after->kind;
	const __u64 *ke = (const __u64 *)&expect->kind;
	char field[64];
	bool ok = true;
	size_t i;

	ok &= check_field(file, line, "packets", before->packets,
			  after->packets, expect->packets);
	ok &= check_field(file, line, "bytes", before->bytes, after->bytes,
			  expect->bytes);
	for (i = 0; i < FL_VERDICT_COUNT; i++) {
		snprintf(field, sizeof(field), "verdict[%s]",
			 fl_xdp_action_name(i));
		ok &= check_field(file, line, field, before->verdict[i],
				  after->verdict[i], expect->verdict[i]);
	}
	for (i = 0; i < ARRAY_SIZE(kind_names); i++) {
		snprintf(field, sizeof(field), "kind.%s", kind_names[i]);
		ok &= check_field(file, line, field, kb[i], ka[i], ke[i]);
	}
	for (i = 0; i < FL_PERR_COUNT; i++) {
		snprintf(field, sizeof(field), "parse_error[%s]",
			 parse_error_names[i]);
		ok &= check_field(file, line, field, before->parse_error[i],
				  after->parse_error[i],
				  expect->parse_error[i]);
	}
	return ok;
}

bool fl_run_check_(const char *file, int line, struct fl_fixture *fx,
		   const void *data, __u32 len, __u32 action, __u32 kinds,
		   int err)
{
	struct fl_if_stats before, after, expect;
	__u32 got;
	int ret;

	ret = fl_if_stats_read(fx, &before);
	if (!ret)
		ret = fl_run(fx, data, len, 1, &got);
	if (ret == -EOPNOTSUPP) {
		log_printf(
			"%s:%d: [%s] this kernel cannot test-run a %u-byte frame: not checked",
			file, line, env.case_name, len);
		test__skip();
		return true;
	}
	if (!ret)
		ret = fl_if_stats_read(fx, &after);
	if (ret) {
		test__fail(file, line, "cannot run the program: %s",
			   strerror(-ret));
		return false;
	}
	if (got != action)
		test__fail(file, line, "action: expected %s, actual %s (%u)",
			   fl_xdp_action_name(action), fl_xdp_action_name(got),
			   got);
	fl_if_stats_expect(&expect, 1, len, action, kinds, err);
	return fl_if_stats_check_(file, line, &before, &after, &expect) &&
	       got == action;
}

/* ---- main ------------------------------------------------------------- */

/* Per-CPU maps only add up for a test if it stays on one CPU. */
static void stay_on_one_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			fprintf(stderr,
				"test_progs: cannot pin to CPU %d: %s\n", cpu,
				strerror(errno));
		return;
	}
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s [-l] [-v] [-t SUBSTR]...\n"
		"  -t SUBSTR  run the tests whose name contains SUBSTR (repeatable)\n"
		"  -l         list the test names and exit\n"
		"  -v         show every test's log (-vv: and libbpf debug output)\n",
		prog);
}

static bool selected(const char *name, char **filters, int nr_filters)
{
	int i;

	if (!nr_filters)
		return true;
	for (i = 0; i < nr_filters; i++)
		if (strstr(name, filters[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	char **filters = calloc(argc, sizeof(*filters));
	int opt, nr_filters = 0, ran = 0;
	bool list = false, ok = true;
	size_t i;

	if (!filters)
		return EXIT_FAILURE;
	while ((opt = getopt(argc, argv, "t:lvh")) != -1) {
		switch (opt) {
		case 't':
			filters[nr_filters++] = optarg;
			break;
		case 'l':
			list = true;
			break;
		case 'v':
			env.verbose++;
			break;
		case 'h':
			usage(argv[0]);
			free(filters);
			return EXIT_SUCCESS;
		default:
			usage(argv[0]);
			free(filters);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		usage(argv[0]);
		free(filters);
		return EXIT_FAILURE;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	if (!list)
		stay_on_one_cpu();

	for (i = 0; i < ARRAY_SIZE(prog_tests); i++) {
		if (!selected(prog_tests[i].name, filters, nr_filters))
			continue;
		ran++;
		if (list)
			printf("%s\n", prog_tests[i].name);
		else
			ok &= run_test(&prog_tests[i]);
	}
	free(filters);
	if (!ran && nr_filters) {
		fprintf(stderr,
			"test_progs: no test matches the -t filters (see -l)\n");
		return EXIT_FAILURE;
	}
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
