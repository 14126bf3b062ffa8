// SPDX-License-Identifier: Apache-2.0
/*
 * The DDoS allowlist: prefixes whose sources no attack rule ever
 * matches (the engine skips them) and XDP never drops (the allow tries),
 * and its commands (ddos-allow-add/del/list).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "ddos_priv.h"
#include "log.h"
#include "flowlens.skel.h"

/* ---- the allowlist ---- */

bool allowlisted(struct ddos *dd, const struct fl_ip_id *id)
{
	int i;

	for (i = 0; i < dd->nr_allow; i++)
		if (fl_prefix_contains(&dd->allow[i], id->family, &id->addr))
			return true;
	for (i = 0; i < dd->nr_carriers; i++)
		if (fl_prefix_contains(&dd->carriers[i], id->family, &id->addr))
			return true;
	return false;
}

static int allow_index(struct ddos *dd, const struct fl_prefix *p);

bool ddos_allow_has(struct daemon *d, const struct fl_prefix *p)
{
	return d->ddos && allow_index(d->ddos, p) >= 0;
}

bool ddos_allowlisted(struct daemon *d, const struct fl_ip_id *id)
{
	return d->ddos && allowlisted(d->ddos, id);
}

int ddos_carriers_set(struct daemon *d, const struct fl_prefix *carriers, int n)
{
	if (!d->ddos)
		return -ENOENT;
	d->ddos->carriers = carriers;
	d->ddos->nr_carriers = n;
	return allow_count_write(d);
}

int allow_map_update(struct daemon *d, const struct fl_prefix *p, bool add)
{
	struct bpf_map *map = p->family == AF_INET ?
				      d->skel->maps.FL_MAP_ALLOW4 :
				      d->skel->maps.FL_MAP_ALLOW6;
	struct fl_lpm6_key key = { .prefixlen = p->len };
	struct fl_allow value = {};
	size_t key_size = bpf_map__key_size(map);

	memcpy(key.addr, p->addr.b, key_size - sizeof(key.prefixlen));
	if (add)
		return bpf_map__update_elem(map, &key, key_size, &value,
					    sizeof(value), 0) ?
			       -errno :
			       0;
	return bpf_map__delete_elem(map, &key, key_size, 0) ? -errno : 0;
}

/* The program skips stage 3 while no prefix is allowlisted. */
int allow_count_write(struct daemon *d)
{
	struct fl_config cfg;
	int err = settings_read(d, &cfg);

	if (err)
		return err;
	cfg.allow_prefixes = d->ddos->nr_allow + d->ddos->nr_carriers;
	return settings_write(d, &cfg);
}

/* ---- control requests ---- */

static int req_prefix(struct json_object *req, struct fl_prefix *p, char *err,
		      size_t errlen)
{
	const char *text = json_str(req, "prefix");

	if (!text) {
		snprintf(err, errlen, "needs \"prefix\"");
		return -EINVAL;
	}
	return fl_prefix_parse(text, p, err, errlen) ? -EINVAL : 0;
}

static int allow_index(struct ddos *dd, const struct fl_prefix *p)
{
	int i;

	for (i = 0; i < dd->nr_allow; i++)
		if (dd->allow[i].family == p->family &&
		    dd->allow[i].len == p->len &&
		    !memcmp(&dd->allow[i].addr, &p->addr, sizeof(p->addr)))
			return i;
	return -1;
}

static int allow_change(struct daemon *d, struct json_object *req,
			struct json_object **data, char *err, size_t errlen,
			bool add)
{
	struct ddos *dd = d->ddos;
	char buf[FL_PREFIX_STRLEN];
	struct fl_prefix p;
	int i, ret;

	ret = req_prefix(req, &p, err, errlen);
	if (ret)
		return ret;
	fl_prefix_format(&p, buf, sizeof(buf));
	i = allow_index(dd, &p);
	if (add && i >= 0) {
		snprintf(err, errlen, "%s is already allowlisted", buf);
		return -EEXIST;
	}
	for (i = 0; add && i < dd->nr_carriers; i++)
		if (dd->carriers[i].family == p.family &&
		    dd->carriers[i].len == p.len &&
		    !memcmp(&dd->carriers[i].addr, &p.addr, sizeof(p.addr))) {
			snprintf(
				err, errlen,
				"%s is a VoIP carrier ('voip carrier del' first)",
				buf);
			return -EEXIST;
		}
	i = allow_index(dd, &p);
	if (!add && i < 0) {
		snprintf(err, errlen, "%s is not allowlisted", buf);
		return -ENOENT;
	}
	if (add && dd->nr_allow == FL_ALLOW_MAX) {
		snprintf(err, errlen, "all %d allowlist entries in use",
			 FL_ALLOW_MAX);
		return -ENOSPC;
	}
	ret = allow_map_update(d, &p, add);
	if (ret && !(ret == -ENOENT && !add)) {
		snprintf(err, errlen, "cannot %s %s: %s",
			 add ? "allowlist" : "un-allowlist", buf,
			 strerror(-ret));
		return ret;
	}
	if (add)
		dd->allow[dd->nr_allow++] = p;
	else
		dd->allow[i] = dd->allow[--dd->nr_allow];
	if (allow_count_write(d))
		pr_warn("ddos: cannot write the allowlist's size to the program's settings");
	*data = json_object_new_object();
	json_object_object_add(*data, "prefix", json_object_new_string(buf));
	pr_info("ddos: %s %s the allowlist", buf,
		add ? "added to" : "removed from");
	ddos_save(d);
	return 0;
}

int cmd_allow_add(struct daemon *d, struct json_object *req,
		  struct json_object **data, char *err, size_t errlen)
{
	return allow_change(d, req, data, err, errlen, true);
}

int cmd_allow_del(struct daemon *d, struct json_object *req,
		  struct json_object **data, char *err, size_t errlen)
{
	return allow_change(d, req, data, err, errlen, false);
}

int cmd_allow_list(struct daemon *d, struct json_object *req,
		   struct json_object **data, char *err, size_t errlen)
{
	struct ddos *dd = d->ddos;
	struct json_object *list = json_object_new_array();
	char buf[FL_PREFIX_STRLEN];
	int i;

	for (i = 0; i < dd->nr_allow; i++)
		json_object_array_add(
			list, json_object_new_string(fl_prefix_format(
				      &dd->allow[i], buf, sizeof(buf))));
	*data = json_object_new_object();
	json_object_object_add(*data, "prefixes", list);
	return 0;
}
