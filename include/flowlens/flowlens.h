/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* API: the whole contract between the BPF program and userspace. */
#ifndef FLOWLENS_H
#define FLOWLENS_H

#include "types.h"
#include "layout.h"
#include "maps.h"
#include "config.h"
#include "counters.h"
#include "account.h"
#include "rules.h"
#include "synproxy.h"
#include "flow.h"
#include "policy.h"
#include "voip.h"
#include "ipv6.h"

#define FLOWLENS_VERSION "0.1.0"

#endif /* FLOWLENS_H */
