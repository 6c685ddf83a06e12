#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <termios.h>
#include "tern_syscalls.h"

int tern_ioctl(int fd, unsigned long request, void *arg)
{
    return ioctl(fd, request, arg) < 0 ? -errno : 0;
}

int tern_ioctl_fd(int fd, unsigned long request, void *arg)
{
    int result = ioctl(fd, request, arg);
    return result < 0 ? -errno : result;
}

static struct termios saved;
static int saved_valid;

int tern_terminal_raw(int fd)
{
    struct termios raw;
    if (tcgetattr(fd, &saved) < 0)
        return -errno;
    saved_valid = 1;
    raw = saved;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST; /* keep "\n" -> "\r\n" on output */
    return tcsetattr(fd, TCSANOW, &raw) < 0 ? -errno : 0;
}

void tern_terminal_restore(int fd)
{
    if (saved_valid)
        tcsetattr(fd, TCSANOW, &saved);
}

int tern_punch_hole(int fd, long long offset, long long length)
{
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) < 0 ? -errno : 0;
}

int tern_spawn(char *const argv[], const int *fds, int nfds, int detach)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    pid_t pid;
    int i, status;

    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    for (i = 0; i < nfds; i++)
        posix_spawn_file_actions_adddup2(&actions, fds[i], 3 + i);
    if (detach)
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
    status = posix_spawn(&pid, argv[0], &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return status ? -status : pid;
}
