/*
 * Signals read from a descriptor (signalfd(2)) for the block backend's
 * supervisor and worker, which sleep in poll(2) beside event channels:
 * thin wrappers, no logic.
 */
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "tern_syscalls.h"

int tern_signals_as_fd(const int *signals, int count)
{
    sigset_t set;
    int i, fd;

    sigemptyset(&set);
    for (i = 0; i < count; i++)
        sigaddset(&set, signals[i]);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -EINVAL;
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int tern_signal_take(int fd)
{
    struct signalfd_siginfo info;

    if (read(fd, &info, sizeof(info)) != (ssize_t)sizeof(info))
        return 0;
    return (int)info.ssi_signo;
}
