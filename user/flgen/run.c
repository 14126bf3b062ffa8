// SPDX-License-Identifier: Apache-2.0
/*
 * Running until a count, a duration or a signal. SIGINT and SIGTERM are
 * blocked in every thread (so a signal never interrupts a BPF_PROG_RUN
 * half-way: the sender threads inherit the mask) and taken synchronously
 * by whichever thread waits for them.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "flgen.h"

static sigset_t stop_signals;

void flgen_signals_block(void)
{
	/* A shell starts background commands with SIGINT ignored. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);
}

/* Waits up to seconds (0: just looks); true if SIGINT or SIGTERM came. */
bool flgen_signal_wait(double seconds)
{
	struct timespec timeout;

	if (seconds < 0)
		seconds = 0;
	timeout.tv_sec = (time_t)seconds;
	timeout.tv_nsec = (long)((seconds - timeout.tv_sec) * 1e9);
	return sigtimedwait(&stop_signals, NULL, &timeout) > 0;
}

double flgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t flgen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Sleeps until the absolute CLOCK_MONOTONIC time ns. */
void flgen_sleep_until(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = ns / 1000000000ULL,
		.tv_nsec = ns % 1000000000ULL,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}
