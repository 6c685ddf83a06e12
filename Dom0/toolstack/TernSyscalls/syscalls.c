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
