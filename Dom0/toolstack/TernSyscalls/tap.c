/*
 * A guest interface's tap device in Dom0 and its place on a bridge
 * (docs/netback.md): thin wrappers over the ioctls of tun(4), netdevice(7)
 * and the bridge, which glibc and Swift do not wrap. No logic.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "tern_syscalls.h"

int tern_tap_open(const char *name)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* One netdevice(7) ioctl on `name` through a throwaway socket. */
int tern_tap_set_offloads(int fd, int checksum, int segmentation)
{
    unsigned int offloads = 0;

    if (checksum)
        offloads |= TUN_F_CSUM;
    if (checksum && segmentation)
        offloads |= TUN_F_TSO4 | TUN_F_TSO6;
    return ioctl(fd, TUNSETOFFLOAD, offloads) < 0 ? -errno : 0;
}

static int link_ioctl(unsigned long request, struct ifreq *ifr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

    if (s < 0)
        return -errno;
    if (ioctl(s, request, ifr) < 0)
        ret = -errno;
    close(s);
    return ret;
}

int tern_link_configure(const char *name, const unsigned char *mac, int mtu)
{
    struct ifreq ifr;
    int ret;

    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
    if ((ret = link_ioctl(SIOCSIFHWADDR, &ifr)) < 0)
        return ret;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_mtu = mtu;
    if ((ret = link_ioctl(SIOCSIFMTU, &ifr)) < 0)
        return ret;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if ((ret = link_ioctl(SIOCGIFFLAGS, &ifr)) < 0)
        return ret;
    ifr.ifr_flags |= IFF_UP;
    return link_ioctl(SIOCSIFFLAGS, &ifr);
}

int tern_bridge_add(const char *bridge, const char *name)
{
    struct ifreq ifr;
    int ret, index;

    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if ((ret = link_ioctl(SIOCGIFINDEX, &ifr)) < 0)
        return ret;
    index = ifr.ifr_ifindex;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, bridge, IFNAMSIZ - 1);
    ifr.ifr_ifindex = index;
    return link_ioctl(SIOCBRADDIF, &ifr);
}
