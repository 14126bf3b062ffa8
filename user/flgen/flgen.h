/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: flgen's userspace, one file per concern.
 *   main.c     commands, the option table every --help is made from
 *   range.c    addresses, prefixes, A-B ranges, ports, MACs, CPU lists
 *   packet.c   the template frame and its checksum bases
 *   live.c     BPF_PROG_RUN with live frames: load, probe, send, count
 *   gen.c      udp/syn/ack/icmp: threads pinned to CPUs, exact counts, pacing
 *   run.c      clocks, absolute-deadline sleeps, SIGINT/SIGTERM
 *   replay.c   replay a pcap or pcapng file
 *   sink.c     count (and drop) what an interface receives
 *   netlink.c  interface, route, neighbour and counters, via libnl-route
 *   report.c   results and errors, as text or JSON
 */
#ifndef FLGEN_H
#define FLGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <flowlens/types.h>

#include "common_kern_user.h"

#define FLGEN_MAX_THREADS 256
#define FLGEN_IF_NAMESIZE \
	16 /* IF_NAMESIZE, without <net/if.h> and its clashes */
#define FLGEN_ETH_HLEN 14
#define FLGEN_MIN_FRAME 60 /* Ethernet's minimum without the FCS */
#define FLGEN_DEFAULT_BATCH 64 /* the kernel's default, NAPI's budget */
#define FLGEN_MAX_BATCH 256 /* the kernel's limit for live frames */

enum flgen_command {
	CMD_UDP = 1,
	CMD_SYN,
	CMD_ACK,
	CMD_ICMP,
	CMD_REPLAY,
	CMD_SINK,
};

enum flgen_timing {
	TIMING_MAX = 0,
	TIMING_ORIGINAL,
};

/* An address option: one address, a prefix or an A-B range. */
struct flgen_addr_spec {
	bool set;
	int family; /* AF_INET, AF_INET6 */
	union fl_addr first; /* network order */
	struct flgen_addr_range range;
};

struct flgen_mac {
	bool set;
	unsigned char b[6];
};

/* Everything the command line can say; each command uses its part. */
struct flgen_options {
	enum flgen_command command;
	const char *command_name;
	const char *ifname;
	struct flgen_addr_spec src, dst;
	struct flgen_port_range sport, dport;
	bool sport_set, dport_set;
	struct flgen_mac src_mac, dst_mac;
	uint64_t count; /* 0: no limit */
	double duration; /* seconds, 0: no limit */
	uint64_t rate; /* packets/s over all threads, 0: as fast as possible */
	unsigned int size; /* frame bytes without FCS, 0: the minimum */
	unsigned int threads;
	bool cpus_set;
	unsigned int nr_cpus;
	int cpus[FLGEN_MAX_THREADS];
	unsigned int batch;
	enum flgen_timing timing;
	uint64_t loops; /* replay: 0 = until interrupted */
	bool keep_macs;
	bool pass; /* sink */
	const char *file;
	bool json, pretty;
	int verbose;
};

struct flgen_iface {
	char name[FLGEN_IF_NAMESIZE];
	int ifindex;
	unsigned char mac[6];
	unsigned int mtu;
	bool up;
	bool veth;
};

struct flgen_if_stats {
	uint64_t tx_packets, tx_bytes, tx_dropped, tx_errors;
};

/* What one sender did; the total is the sum. */
struct flgen_result {
	int cpu;
	uint64_t packets, bytes;
	double seconds;
};

/* range.c */
int flgen_parse_addr(const char *text, struct flgen_addr_spec *spec, char *err,
		     size_t errlen);
int flgen_parse_port(const char *text, struct flgen_port_range *range,
		     char *err, size_t errlen);
int flgen_parse_mac(const char *text, unsigned char mac[6]);
int flgen_parse_cpus(const char *text, int *cpus, unsigned int max,
		     unsigned int *nr, char *err, size_t errlen);
const char *flgen_mac_format(const unsigned char mac[6], char *buf, size_t len);
bool flgen_addr_is_fixed(const struct flgen_addr_spec *spec);

/* packet.c */
unsigned int flgen_min_frame_size(enum flgen_command kind, bool ipv6);
int flgen_build_template(const struct flgen_options *opt,
			 const unsigned char src_mac[6],
			 const unsigned char dst_mac[6], unsigned char *frame,
			 unsigned int size, struct flgen_config *cfg);

/* netlink.c */
int flgen_iface_get(const char *name, struct flgen_iface *ifc);
int flgen_iface_stats(const struct flgen_iface *ifc,
		      struct flgen_if_stats *stats);
int flgen_source_address(const struct flgen_iface *ifc, int family,
			 const union fl_addr *dst, union fl_addr *src);
int flgen_next_hop_mac(const struct flgen_iface *ifc, int family,
		       const union fl_addr *dst, unsigned char mac[6]);
void flgen_iface_settle(const struct flgen_iface *ifc,
			const struct flgen_if_stats *before, uint64_t sent,
			struct flgen_if_stats *after);
void flgen_iface_check_delivery(const struct flgen_iface *ifc,
				const struct flgen_if_stats *before,
				const struct flgen_if_stats *after,
				uint64_t sent);

/* live.c */
struct flgen_bpf;
int flgen_live_load(const struct flgen_config *cfg, struct flgen_bpf **skel);
int flgen_live_run(int prog_fd, int ifindex, const void *frame,
		   unsigned int len, uint32_t repeat, uint32_t batch);
unsigned int flgen_live_max_size(struct flgen_bpf *skel,
				 const struct flgen_iface *ifc);
int flgen_live_sent(struct flgen_bpf *skel, struct flgen_counter *per_cpu,
		    unsigned int nr_cpus);
int flgen_live_sent_total(struct flgen_bpf *skel, struct flgen_counter *total);
int flgen_live_replay_fd(struct flgen_bpf *skel);
void flgen_live_destroy(struct flgen_bpf *skel);
int flgen_check_frame_size(struct flgen_bpf *skel,
			   const struct flgen_iface *ifc, unsigned int size,
			   unsigned int mtu_slack, const char *what);
void flgen_libbpf_logging(void);

/* gen.c, replay.c, sink.c */
int flgen_cmd_generate(struct flgen_options *opt);
int flgen_cmd_replay(struct flgen_options *opt);
int flgen_cmd_sink(struct flgen_options *opt);

/* Shared by the commands that run until a count, a duration or a signal. */
void flgen_signals_block(void);
bool flgen_signal_wait(double seconds);
double flgen_now(void);
uint64_t flgen_now_ns(void);
void flgen_sleep_until(uint64_t ns);

/* report.c */
void flgen_report_init(bool json, bool pretty);
bool flgen_json(void);
void flgen_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void flgen_report_send(const struct flgen_options *opt,
		       const struct flgen_iface *ifc,
		       const struct flgen_result *threads,
		       unsigned int nr_threads,
		       const struct flgen_if_stats *before,
		       const struct flgen_if_stats *after,
		       const uint64_t *skipped, const char *const *skip_names,
		       unsigned int nr_skipped);
void flgen_report_sink(const struct flgen_iface *ifc, const char *mode,
		       bool pass, uint64_t packets, uint64_t bytes,
		       double seconds, double active_seconds);

#endif /* FLGEN_H */
