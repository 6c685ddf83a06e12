/*
 * The few Linux calls the toolstack needs that Swift cannot import
 * directly: ioctl(2) is variadic, and termios's raw-mode setup is easier
 * in C. Thin wrappers, no logic.
 */
#ifndef TERN_SYSCALLS_H
#define TERN_SYSCALLS_H

/* ioctl(fd, request, arg): 0 or -errno. */
int tern_ioctl(int fd, unsigned long request, void *arg);
/* ioctl(fd, request, arg) for a request that answers a new fd: the fd or -errno. */
int tern_ioctl_fd(int fd, unsigned long request, void *arg);
/* Puts the terminal on `fd` in raw mode (no echo, no line editing, no
 * signals from keys); saves the old mode for tern_terminal_restore. 0 or -errno. */
int tern_terminal_raw(int fd);
void tern_terminal_restore(int fd);
/* fallocate(fd, PUNCH_HOLE | KEEP_SIZE, offset, length) (a discarded range
 * of a disk image: _GNU_SOURCE, which Swift's Glibc does not define): 0 or -errno. */
int tern_punch_hole(int fd, long long offset, long long length);
/* Starts argv (argv[0] is the path; NULL-terminated) as a child with
 * stdin, stdout and stderr on /dev/null and fds[i] as its descriptor 3 + i;
 * in a session of its own if `detach` (it outlives this process's
 * terminal). Its pid or -errno. */
int tern_spawn(char *const argv[], const int *fds, int nfds, int detach);

/* Linux native AIO (aio.c), the block backend's direct I/O. */
struct iovec;
enum { TERN_AIO_READ = 0, TERN_AIO_WRITE = 1, TERN_AIO_FDSYNC = 2 };
enum { TERN_AIO_REAP_MAX = 64 };
/* One finished operation: the tag it was submitted with, and its result
 * (bytes transferred, or -errno). */
struct tern_aio_event {
    unsigned long long tag;
    long long result;
};
/* io_setup(depth): 0 or -errno. */
int tern_aio_setup(unsigned depth, unsigned long *context);
/* One operation of a batch: a read or write of the pieces
 * [first_piece, first_piece + piece_count) of the batch's iovec array at
 * offset (preadv/pwritev), or an fdatasync (pieces and offset unused).
 * Its completion carries `tag`. */
struct tern_aio_request {
    int operation;
    int first_piece;
    int piece_count;
    long long offset;
    unsigned long long tag;
};
enum { TERN_AIO_SUBMIT_MAX = 128 };
/* Submits requests[0..count) on fd in one io_submit; each completion adds
 * 1 to the eventfd resfd when resfd >= 0. How many were submitted (the
 * first ones; fewer than count when the kernel took only those), or
 * -errno for none. */
int tern_aio_submit(unsigned long context, int fd, const struct tern_aio_request *requests, int count,
                    const struct iovec *pieces, int resfd);
/* The completions ready now (never waits), at most min(max,
 * TERN_AIO_REAP_MAX): how many, or -errno. */
int tern_aio_reap(unsigned long context, struct tern_aio_event *events, int max);
/* io_destroy: waits for operations still in flight. */
void tern_aio_destroy(unsigned long context);
/* eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC): the fd or -errno. */
int tern_eventfd(void);
/* `fd`'s file opened again with O_DIRECT (no page cache): the new fd or
 * -errno (EINVAL: its file system has no direct I/O, e.g. tmpfs). */
int tern_open_direct(int fd, int read_only);

/* Signals as descriptors (a backend's "detach" is SIGTERM, docs/blockback.md):
 * blocks `signals` in the calling thread (children started after inherit
 * the mask) and returns a non-blocking signalfd for them, or -errno. */
int tern_signals_as_fd(const int *signals, int count);
/* The next signal pending on such a descriptor: its number, 0 for none. */
int tern_signal_take(int fd);

/* A guest interface's tap (docs/netback.md): /dev/net/tun as IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR (a 10-byte struct virtio_net_hdr before each
 * frame, both ways) named `name`, non-blocking: the fd or -errno. */
int tern_tap_open(const char *name);
/* TUNSETOFFLOAD: frames read may carry partial checksums (`checksum`) and
 * be TCP segmentation packets (`segmentation`, with checksum): 0 or -errno. */
int tern_tap_set_offloads(int fd, int checksum, int segmentation);
/* Sets `name`'s MAC (6 bytes) and MTU and brings it up: 0 or -errno. */
int tern_link_configure(const char *name, const unsigned char *mac, int mtu);
/* Puts `name` on bridge `bridge` (SIOCBRADDIF): 0 or -errno. */
int tern_bridge_add(const char *bridge, const char *name);

#endif
