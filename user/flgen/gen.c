// SPDX-License-Identifier: Apache-2.0
/*
 * flgen udp | syn | ack | icmp: one template frame, rewritten per packet by
 * flgen_xdp, sent by sender threads pinned to one CPU each (BPF_PROG_RUN
 * runs the program on the calling CPU, so each thread is its own
 * generator). A count and a rate are split across the threads exactly;
 * each thread asks the kernel for exactly its share, in chunks, and at a
 * given rate sends a chunk when its absolute deadline comes (one
 * clock_nanosleep with TIMER_ABSTIME, no spinning).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "flgen.h"
#include "log.h"
#include "prefix.h"
#include "flgen.skel.h"

#define NSEC 1000000000ULL
#define CHUNK_MIN 64
#define CHUNK_MAX (1U << 18)
#define CHUNK_FAST_NS 1000000ULL /* a call shorter than this: double it */
#define CHUNK_SLOW_NS 4000000ULL /* longer than this: halve it */
#define SLEEP_SLICE_NS 100000000ULL /* look at the stop flag this often */

struct sender {
	pthread_t thread;
	int cpu;
	int prog_fd;
	int ifindex;
	const unsigned char *frame;
	unsigned int len;
	uint32_t batch;
	bool limited; /* count applies (it may be 0 for this thread) */
	uint64_t count;
	uint64_t rate; /* 0: as fast as possible */
	double duration;
	pthread_barrier_t *ready;
	/* results */
	uint64_t ran; /* frames of BPF_PROG_RUN calls that succeeded */
	uint64_t start_ns, stop_ns;
	int err;
};

static atomic_bool stop_requested;
static atomic_uint senders_running;

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static bool sender_should_stop(const struct sender *s, uint64_t end_ns,
			       uint64_t now)
{
	return atomic_load_explicit(&stop_requested, memory_order_relaxed) ||
	       (s->limited && s->ran >= s->count) || (end_ns && now >= end_ns);
}

static int sender_run(struct sender *s, uint64_t n)
{
	int err = flgen_live_run(s->prog_fd, s->ifindex, s->frame, s->len, n,
				 s->batch);

	if (!err)
		s->ran += n;
	return err;
}

/* As fast as possible: chunks sized to take about 1-4 ms, so a duration
 * or a signal is noticed quickly and the syscall cost stays negligible. */
static int sender_flat_out(struct sender *s, uint64_t end_ns)
{
	uint64_t chunk = s->batch * 16ULL, t0, t1 = flgen_now_ns();
	int err;

	while (!sender_should_stop(s, end_ns, t1)) {
		uint64_t n = s->limited ? min_u64(chunk, s->count - s->ran) :
					  chunk;

		t0 = t1;
		err = sender_run(s, n);
		if (err)
			return err;
		t1 = flgen_now_ns();
		if (t1 - t0 < CHUNK_FAST_NS && chunk < CHUNK_MAX)
			chunk *= 2;
		else if (t1 - t0 > CHUNK_SLOW_NS && chunk > CHUNK_MIN)
			chunk /= 2;
	}
	return 0;
}

/* At s->rate: frame i is due at start + i / rate. A chunk of about 1 ms
 * worth of frames goes out when its first frame is due. */
static int sender_paced(struct sender *s, uint64_t end_ns)
{
	uint64_t chunk = s->rate / 1000, now = flgen_now_ns();
	int err;

	if (chunk < 1)
		chunk = 1;
	if (chunk > CHUNK_MAX)
		chunk = CHUNK_MAX;
	while (!sender_should_stop(s, end_ns, now)) {
		uint64_t due =
			s->start_ns +
			(uint64_t)((unsigned __int128)s->ran * NSEC / s->rate);
		uint64_t n = s->limited ? min_u64(chunk, s->count - s->ran) :
					  chunk;

		if (end_ns && due >= end_ns)
			break;
		while (now < due) {
			if (atomic_load_explicit(&stop_requested,
						 memory_order_relaxed))
				return 0;
			flgen_sleep_until(min_u64(due, now + SLEEP_SLICE_NS));
			now = flgen_now_ns();
		}
		err = sender_run(s, n);
		if (err)
			return err;
		now = flgen_now_ns();
	}
	return 0;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	uint64_t end_ns = 0;

	pthread_barrier_wait(s->ready);
	s->start_ns = flgen_now_ns();
	if (s->duration > 0)
		end_ns = s->start_ns + (uint64_t)(s->duration * NSEC);
	if (s->rate)
		s->err = sender_paced(s, end_ns);
	else
		s->err = sender_flat_out(s, end_ns);
	s->stop_ns = flgen_now_ns();
	atomic_fetch_sub(&senders_running, 1);
	return NULL;
}

/* The CPUs to run on: --cpus as given, or the first -T the process may use. */
static int choose_cpus(struct flgen_options *opt)
{
	unsigned int i, n = 0;
	cpu_set_t allowed;
	char list[256] = "";
	int cpu;

	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		flgen_error("cannot read this process's CPU affinity: %s",
			    strerror(errno));
		return -errno;
	}
	for (cpu = 0; cpu < CPU_SETSIZE && strlen(list) < sizeof(list) - 8;
	     cpu++)
		if (CPU_ISSET(cpu, &allowed))
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list), "%s%d",
				 *list ? "," : "", cpu);

	if (opt->cpus_set) {
		if (opt->threads && opt->threads != opt->nr_cpus) {
			flgen_error(
				"--threads %u does not match --cpus, which lists %u CPUs",
				opt->threads, opt->nr_cpus);
			return -EINVAL;
		}
		for (i = 0; i < opt->nr_cpus; i++) {
			if (!CPU_ISSET(opt->cpus[i], &allowed)) {
				flgen_error(
					"CPU %d is not available (this process may run on CPUs %s)",
					opt->cpus[i], list);
				return -EINVAL;
			}
		}
		opt->threads = opt->nr_cpus;
		return 0;
	}
	if (!opt->threads)
		opt->threads = 1;
	for (cpu = 0; cpu < CPU_SETSIZE && n < opt->threads; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			opt->cpus[n++] = cpu;
	if (n < opt->threads) {
		flgen_error(
			"--threads %u: only %u CPUs are available (%s), one thread per CPU",
			opt->threads, n, list);
		return -EINVAL;
	}
	opt->nr_cpus = n;
	return 0;
}

static const char *kind_name(enum flgen_command kind, bool ipv6)
{
	switch (kind) {
	case CMD_UDP:
		return ipv6 ? "an IPv6 UDP packet" : "an IPv4 UDP packet";
	case CMD_SYN:
	case CMD_ACK:
		return ipv6 ? "an IPv6 TCP packet" : "an IPv4 TCP packet";
	default:
		return ipv6 ? "an IPv6 ICMPv6 echo request" :
			      "an IPv4 ICMP echo request";
	}
}

/* Source address, ports and MACs the operator left out. */
static int complete_options(struct flgen_options *opt,
			    const struct flgen_iface *ifc)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	bool ipv6;

	if (!opt->dst.set) {
		flgen_error(
			"missing --dst: the destination address, prefix or range");
		return -EINVAL;
	}
	if (opt->src.set && opt->src.family != opt->dst.family) {
		flgen_error("--src %s and --dst %s are not the same IP version",
			    fl_addr_format(opt->src.family, &opt->src.first, a,
					   sizeof(a)),
			    fl_addr_format(opt->dst.family, &opt->dst.first, b,
					   sizeof(b)));
		return -EINVAL;
	}
	if (!opt->src.set) {
		union fl_addr src;
		int err = flgen_source_address(ifc, opt->dst.family,
					       &opt->dst.first, &src);

		if (err)
			return err;
		fl_addr_format(opt->dst.family, &src, a, sizeof(a));
		if (flgen_parse_addr(a, &opt->src, b, sizeof(b)))
			return -EINVAL;
		pr_debug("source address: %s", a);
	}
	if (!opt->sport_set)
		opt->sport =
			(struct flgen_port_range){ .base = 1024, .count = 1 };
	if (!opt->dport_set)
		opt->dport = (struct flgen_port_range){
			.base = opt->command == CMD_UDP ? 9 : 80, .count = 1
		};

	ipv6 = opt->dst.family == AF_INET6;
	if (!opt->size) {
		opt->size = flgen_min_frame_size(opt->command, ipv6);
		if (opt->size < FLGEN_MIN_FRAME)
			opt->size = FLGEN_MIN_FRAME;
	} else if (opt->size < flgen_min_frame_size(opt->command, ipv6)) {
		flgen_error(
			"frame size %u is too small for %s (at least %u bytes)",
			opt->size, kind_name(opt->command, ipv6),
			flgen_min_frame_size(opt->command, ipv6));
		return -EINVAL;
	}

	if (!opt->src_mac.set) {
		memcpy(opt->src_mac.b, ifc->mac, 6);
		opt->src_mac.set = true;
	}
	if (!opt->dst_mac.set) {
		int err = flgen_next_hop_mac(ifc, opt->dst.family,
					     &opt->dst.first, opt->dst_mac.b);

		if (err)
			return err;
		opt->dst_mac.set = true;
	}
	return 0;
}

static int start_senders(struct sender *senders, unsigned int n)
{
	pthread_attr_t attr;
	cpu_set_t set;
	unsigned int i;
	int err = 0;

	atomic_store(&senders_running, n);
	for (i = 0; i < n; i++) {
		pthread_attr_init(&attr);
		CPU_ZERO(&set);
		CPU_SET(senders[i].cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		err = pthread_create(&senders[i].thread, &attr, sender_main,
				     &senders[i]);
		pthread_attr_destroy(&attr);
		if (err) {
			flgen_error("cannot start a thread on CPU %d: %s",
				    senders[i].cpu, strerror(err));
			/* Nothing has started: the barrier holds them all. */
			exit(EXIT_FAILURE);
		}
	}
	return 0;
}

static void wait_senders(struct sender *senders, unsigned int n)
{
	unsigned int i;

	while (atomic_load(&senders_running)) {
		if (flgen_signal_wait(0.05))
			atomic_store(&stop_requested, true);
	}
	for (i = 0; i < n; i++)
		pthread_join(senders[i].thread, NULL);
}

int flgen_cmd_generate(struct flgen_options *opt)
{
	struct flgen_if_stats before, after;
	struct flgen_counter *per_cpu = NULL;
	struct flgen_result *results = NULL;
	struct sender *senders = NULL;
	struct flgen_bpf *skel = NULL;
	pthread_barrier_t ready;
	unsigned char *frame = NULL;
	struct flgen_config cfg;
	struct flgen_iface ifc;
	int nr_possible, err;
	uint64_t sent = 0;
	unsigned int i;

	err = flgen_iface_get(opt->ifname, &ifc);
	if (err)
		return err;
	if (!ifc.up) {
		flgen_error("%s is down (ip link set dev %s up)", ifc.name,
			    ifc.name);
		return -ENETDOWN;
	}
	err = complete_options(opt, &ifc);
	if (err)
		return err;
	err = choose_cpus(opt);
	if (err)
		return err;
	if (opt->rate && opt->rate < opt->threads) {
		flgen_error(
			"--rate %llu is less than one packet/s for each of the %u threads",
			(unsigned long long)opt->rate, opt->threads);
		return -EINVAL;
	}

	frame = calloc(1, opt->size);
	if (!frame)
		return -ENOMEM;
	err = flgen_build_template(opt, opt->src_mac.b, opt->dst_mac.b, frame,
				   opt->size, &cfg);
	if (err)
		goto out;
	err = flgen_live_load(&cfg, &skel);
	if (err)
		goto out;
	err = flgen_check_frame_size(skel, &ifc, opt->size, 0, "frame size");
	if (err)
		goto out;

	nr_possible = libbpf_num_possible_cpus();
	senders = calloc(opt->threads, sizeof(*senders));
	results = calloc(opt->threads, sizeof(*results));
	per_cpu = calloc(nr_possible > 0 ? nr_possible : 1, sizeof(*per_cpu));
	if (nr_possible <= 0 || !senders || !results || !per_cpu) {
		err = -ENOMEM;
		goto out;
	}
	pthread_barrier_init(&ready, NULL, opt->threads);
	for (i = 0; i < opt->threads; i++) {
		struct sender *s = &senders[i];

		s->cpu = opt->cpus[i];
		s->prog_fd = bpf_program__fd(skel->progs.flgen_xdp);
		s->ifindex = ifc.ifindex;
		s->frame = frame;
		s->len = opt->size;
		s->batch = opt->batch;
		s->limited = opt->count > 0;
		s->count = opt->count / opt->threads +
			   (i < opt->count % opt->threads);
		s->rate = opt->rate / opt->threads +
			  (i < opt->rate % opt->threads);
		s->duration = opt->duration;
		s->ready = &ready;
	}

	flgen_iface_stats(&ifc, &before);
	start_senders(senders, opt->threads);
	wait_senders(senders, opt->threads);
	pthread_barrier_destroy(&ready);

	err = flgen_live_sent(skel, per_cpu, nr_possible);
	if (err) {
		flgen_error("cannot read the sent counters: %s",
			    strerror(-err));
		goto out;
	}
	for (i = 0; i < opt->threads; i++) {
		struct sender *s = &senders[i];
		struct flgen_counter *c = &per_cpu[s->cpu];

		results[i].cpu = s->cpu;
		results[i].packets = c->packets;
		results[i].bytes = c->bytes;
		results[i].seconds = (s->stop_ns - s->start_ns) / 1e9;
		sent += c->packets;
		if (c->packets != s->ran)
			pr_warn("CPU %d: the program sent %llu frames, the kernel ran it %llu times",
				s->cpu, (unsigned long long)c->packets,
				(unsigned long long)s->ran);
		if (s->err && !err) {
			flgen_error("sending on %s from CPU %d failed: %s",
				    ifc.name, s->cpu, strerror(-s->err));
			err = s->err;
		}
	}
	flgen_iface_settle(&ifc, &before, sent, &after);
	flgen_report_send(opt, &ifc, results, opt->threads, &before, &after,
			  NULL, NULL, 0);
	flgen_iface_check_delivery(&ifc, &before, &after, sent);
out:
	flgen_bpf__destroy(skel);
	free(per_cpu);
	free(results);
	free(senders);
	free(frame);
	return err;
}
