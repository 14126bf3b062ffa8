/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: fl_iface_mac() - an interface's MAC address, asked of the kernel by
 * name in the caller's network namespace (by ioctl: /sys/class/net shows
 * the namespace sysfs was mounted in, not necessarily the caller's).
 */
#ifndef FL_IFACE_H
#define FL_IFACE_H

#include <linux/types.h>

/* 0 or -errno. */
int fl_iface_mac(const char *ifname, __u8 mac[6]);

#endif /* FL_IFACE_H */
