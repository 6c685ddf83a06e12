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

#endif
