/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API: fl_write_all() - write() until all of buf is written, retrying on
 * EINTR and short writes; 0 or -errno. Shared by the control protocol
 * (ctl.c) and the state file writer (persist.c).
 */
#ifndef FL_IO_H
#define FL_IO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

static inline int fl_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

#endif /* FL_IO_H */
