/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: Prometheus' text exposition format (version 0.0.4), written to a
 * stdio stream.
 *   fl_prom_family()       # HELP and # TYPE of one metric family
 *   fl_prom_sample()       one sample: NAME{k="v",...} VALUE
 *   fl_prom_label_value()  a label value escaped as the format asks:
 *                          backslash, double quote and newline
 */
#ifndef FL_PROMTEXT_H
#define FL_PROMTEXT_H

#include <stdio.h>

void fl_prom_family(FILE *f, const char *name, const char *type,
		    const char *help);
/* @labels: key, value, key, value, ..., NULL; a NULL value ends the list
 * early. No labels: NULL. */
void fl_prom_sample(FILE *f, const char *name, const char *const *labels,
		    double value);
void fl_prom_label_value(FILE *f, const char *value);

#endif /* FL_PROMTEXT_H */
