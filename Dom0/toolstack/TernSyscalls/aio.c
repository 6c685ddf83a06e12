/*
 * Linux native AIO for the block backend's direct I/O (docs/blockback.md,
 * "Data path"): glibc has no wrappers for io_setup(2), io_submit(2) and
 * io_getevents(2), and O_DIRECT needs _GNU_SOURCE. Thin wrappers, no logic.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tern_syscalls.h"

int tern_aio_setup(unsigned depth, unsigned long *context)
{
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, depth, &ctx) < 0)
        return -errno;
    *context = ctx;
    return 0;
}

int tern_aio_submit(unsigned long context, int fd, const struct tern_aio_request *requests, int count,
                    const struct iovec *pieces, int resfd)
{
    struct iocb blocks[TERN_AIO_SUBMIT_MAX];
    struct iocb *list[TERN_AIO_SUBMIT_MAX];
    if (count < 0 || count > TERN_AIO_SUBMIT_MAX)
        return -EINVAL;
    for (int i = 0; i < count; i++) {
        struct iocb *request = &blocks[i];
        memset(request, 0, sizeof *request);
        request->aio_data = requests[i].tag;
        request->aio_fildes = (unsigned)fd;
        switch (requests[i].operation) {
        case TERN_AIO_READ:
        case TERN_AIO_WRITE:
            /* The kernel copies the iovec arrays during io_submit: they
             * need not outlive this call (the buffers they name must). */
            request->aio_lio_opcode = requests[i].operation == TERN_AIO_READ ? IOCB_CMD_PREADV : IOCB_CMD_PWRITEV;
            request->aio_buf = (unsigned long long)(unsigned long)(pieces + requests[i].first_piece);
            request->aio_nbytes = (unsigned long long)requests[i].piece_count;
            request->aio_offset = requests[i].offset;
            break;
        case TERN_AIO_FDSYNC:
            request->aio_lio_opcode = IOCB_CMD_FDSYNC;
            break;
        default:
            return -EINVAL;
        }
        if (resfd >= 0) {
            request->aio_flags = IOCB_FLAG_RESFD;
            request->aio_resfd = (unsigned)resfd;
        }
        list[i] = request;
    }
    /* One call for the whole batch: the block layer plugs it, so Dom0's
     * disk driver is kicked once for all of it, not once per operation. */
    long submitted = syscall(SYS_io_submit, (aio_context_t)context, (long)count, list);
    return submitted < 0 ? -errno : (int)submitted;
}

int tern_aio_reap(unsigned long context, struct tern_aio_event *events, int max)
{
    struct io_event done[TERN_AIO_REAP_MAX];
    struct timespec now = { 0, 0 };
    if (max > TERN_AIO_REAP_MAX)
        max = TERN_AIO_REAP_MAX;
    long got = syscall(SYS_io_getevents, (aio_context_t)context, 0L, (long)max, done, &now);
    if (got < 0)
        return -errno;
    for (long i = 0; i < got; i++) {
        events[i].tag = done[i].data;
        events[i].result = done[i].res;
    }
    return (int)got;
}

void tern_aio_destroy(unsigned long context)
{
    /* Waits for what is still in flight (io_destroy(2)). */
    syscall(SYS_io_destroy, (aio_context_t)context);
}

int tern_eventfd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int tern_open_direct(int fd, int read_only)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int direct = open(path, (read_only ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
    return direct < 0 ? -errno : direct;
}
