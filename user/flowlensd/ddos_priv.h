/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API, private to the DDoS engine's files (ddos*.c; the design: ddos.c):
 * its state, its tuning, and the functions its files share.
 */
#ifndef FLOWLENSD_DDOS_PRIV_H
#define FLOWLENSD_DDOS_PRIV_H

#include <time.h>

#include "ddos.h"

#define DDOS_SAMPLES_MAX 65536 /* kept for signatures, a ring */
#define DDOS_SAMPLE_TARGET 8192 /* samples per second to aim for */
#define DDOS_MIN_SAMPLES 16 /* fewer: no source or port signature */
#define DDOS_SOURCES_SHARE 0.8 /* the handful must carry this much */
#define DDOS_PORT_SHARE 0.8
#define DDOS_PROTO_SHARE 0.9
#define DDOS_HYSTERESIS 0.9 /* above until every rate < 90 % of limit */
#define DDOS_THRESHOLDS_MAX 1024
#define NSEC 1000000000ULL

struct ddos_sample {
	__u64 t_ns; /* when flowlensd read it, CLOCK_MONOTONIC */
	struct fl_sample s;
};

struct victim_key {
	struct fl_ip_id id;
	int direction;
};

struct ddos_victim {
	struct victim_key key;
	bool above;
	__u32 crossings;
	struct ddos_attack *attack;
	unsigned int generation; /* last tick its address was tracked */
	UT_hash_handle hh;
};

struct ddos {
	struct fl_threshold *thresholds;
	int nr_thresholds;
	unsigned int threshold_gen; /* bumped on every change, never 0 */
	struct fl_prefix *allow;
	int nr_allow;
	const struct fl_prefix *carriers; /* voip.c's */
	int nr_carriers;
	struct ddos_victim *victims;
	struct ddos_attack *active;
	struct json_object *history; /* array, oldest first */
	__u32 next_id;
	struct ring_buffer *rb;
	struct ddos_sample *samples;
	size_t sample_head, nr_samples;
	__u64 samples_read;
	__u32 sample_rate;
	__u64 now_ns;
	char state_path[512];
};

static inline __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static inline double unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline const char *ip_text(const struct fl_ip_id *id, char *buf,
				  size_t len)
{
	return fl_addr_format(id->family, &id->addr, buf, len);
}

static inline const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static inline double json_num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	return json_object_get_double(v);
}

/* ddos_json.c */
extern const char *const ddos_signature_names[];
struct json_object *limits_json(const struct fl_threshold *t);
struct json_object *threshold_json(const struct fl_threshold *t);

/* ddos_engine.c */
int threshold_find(struct ddos *dd, const struct fl_prefix *p,
		   enum fl_ddos_dir dir);
void thresholds_changed(struct ddos *dd);
const struct fl_threshold *threshold_of(struct ddos *dd, struct fl_ip_entry *e,
					enum fl_ddos_dir dir);
double metric_value(const struct fl_ip_entry *e, enum fl_ddos_dir dir,
		    enum fl_metric m);
void history_add(struct daemon *d, struct json_object *o);
struct ddos_victim *victim_get(struct ddos *dd, const struct fl_ip_id *id,
			       int dir, bool create);
void sample_rate_adapt(struct daemon *d);
void ddos_tick(struct daemon *d);

/* ddos_signature.c */
/* A ring buffer callback; @ctx is the daemon. */
int ddos_sample_read(void *ctx, void *data, size_t size);
void signature_of(struct daemon *d, struct ddos_attack *a,
		  const struct fl_ip_entry *e, enum fl_metric metric);

/* ddos_mitigate.c */
int attack_mitigate(struct daemon *d, struct ddos_attack *a);
void attack_unmitigate(struct daemon *d, struct ddos_attack *a);

/* ddos_allow.c */
bool allowlisted(struct ddos *dd, const struct fl_ip_id *id);
int allow_map_update(struct daemon *d, const struct fl_prefix *p, bool add);
int allow_count_write(struct daemon *d);
int cmd_allow_add(struct daemon *d, struct json_object *req,
		  struct json_object **data, char *err, size_t errlen);
int cmd_allow_del(struct daemon *d, struct json_object *req,
		  struct json_object **data, char *err, size_t errlen);
int cmd_allow_list(struct daemon *d, struct json_object *req,
		   struct json_object **data, char *err, size_t errlen);

/* ddos_state.c */
void ddos_paths_init(struct daemon *d);
int ddos_save(struct daemon *d);
int orphan_rule(const struct fl_rule_def *def, void *arg);
__u32 ddos_events_last_id(const char *path);
int ddos_restore(struct daemon *d);

/* ddos_cmd.c */
extern const struct command ddos_commands[];

#endif /* FLOWLENSD_DDOS_PRIV_H */
