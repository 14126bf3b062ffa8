// SPDX-License-Identifier: Apache-2.0
/*
 * pcm_compare - how close decoded audio is to its source: two files of
 * 16 kHz mono signed 16-bit little-endian PCM (sox's -t raw, flowlensd
 * replay --audio-dir), compared as selftests/audio_compare.h says.
 *
 *   pcm_compare [--max-lag-ms N] REF.raw GOT.raw
 *
 * Prints one JSON object: ref_seconds, got_seconds, correlation and
 * envelope (per mille, at the best lag of GOT behind REF up to N ms,
 * default 60).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio_compare.h"

#define RATE 16000

static int16_t *load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	int16_t *v = NULL;
	long size;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "pcm_compare: %s: %s\n", path, strerror(errno));
		goto out;
	}
	*n = size / 2;
	v = malloc(*n ? *n * 2 : 1);
	if (v && fread(v, 2, *n, f) != *n) {
		fprintf(stderr, "pcm_compare: %s: short read\n", path);
		free(v);
		v = NULL;
	}
out:
	if (f)
		fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-lag-ms", required_argument, NULL, 'l' },
		{},
	};
	unsigned long lag_ms = 60;
	int16_t *ref, *got;
	size_t nref, ngot;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'l')
			goto usage;
		lag_ms = strtoul(optarg, NULL, 0);
	}
	if (argc - optind != 2)
		goto usage;
	ref = load(argv[optind], &nref);
	got = load(argv[optind + 1], &ngot);
	if (!ref || !got)
		return 1;
	printf("{\"ref_seconds\": %.3f, \"got_seconds\": %.3f, \"correlation\": %d, \"envelope\": %d}\n",
	       (double)nref / RATE, (double)ngot / RATE,
	       audio_correlation(ref, nref, got, ngot, lag_ms * RATE / 1000),
	       audio_envelope_correlation(ref, nref, got, ngot,
					  lag_ms * RATE / 1000));
	free(ref);
	free(got);
	return 0;
usage:
	fprintf(stderr,
		"usage: pcm_compare [--max-lag-ms N] REF.raw GOT.raw\n");
	return 2;
}
