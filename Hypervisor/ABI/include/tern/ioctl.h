/*
 * /dev/tern (docs/dom0.md, "Control device"): how Dom0's toolstack reaches
 * Tern through tern.ko. Root only. The numbers are Linux's _IOWR/_IOW
 * encodings, spelled out so that Swift imports them; tern.c checks them
 * against the macros at build time.
 *
 * TERN_IOCTL_HYPERCALL issues one privileged hypercall (tern.ko allows only
 * the toolstack's: VERSION, DOMAIN_INFO, DOMAIN_LIST, LOG_READ,
 * DOMAIN_CONTROL, DOMAIN_PREPARE, SYSTEM_INFO, DEVICE_ADD, DEVICE_REMOVE,
 * CONSOLE_INPUT).
 * A call that takes a pointer gets it through `buffer`: tern.ko copies
 * buffer_size bytes (<= 4096) from user space into a kernel page, puts that
 * page's address in args[buffer_arg], makes the call and copies the page
 * back. TERN_HC_LOG_READ's request names its own byte buffer: pass the
 * request as the buffer (argument 0) with room after it; tern.ko points
 * buffer_gpa just past the request and caps size to the room left.
 *
 * TERN_IOCTL_CREATE copies an ELF image (and a Linux guest's ramdisk, ABI
 * 0.9) from user space into Dom0 pages, fills in the request's image_* and
 * ramdisk_* fields and issues TERN_HC_DOMAIN_CREATE.
 * The new domain belongs to this open file until TERN_IOCTL_COMMIT: if the
 * file is closed first (the toolstack exited or was killed), tern.ko
 * destroys it, so a failed or interrupted create leaves nothing behind.
 *
 * Dom0's own event channels and mappings (ABI 0.5; tern.ko attaches Dom0
 * at load with TERN_HC_ATTACH):
 *
 * TERN_IOCTL_EVTCHN_BIND binds a port and returns a new file descriptor
 * for it: read() blocks (or fails with EAGAIN when non-blocking) until the
 * port was notified since the last read, then returns a uint32_t, the
 * number of notifications that arrived (they coalesce); poll() reports
 * POLLIN then; write() of any 1 or more bytes notifies the remote end
 * (ENOTCONN once it closed); close() closes the port. A VIRQ may be bound
 * through several fds (Tern binds it once for Dom0): each sees every
 * notification, and the port closes with the last of them.
 *
 * TERN_IOCTL_MAP maps another domain's granted page (or, with
 * TERN_GRANT_MAP_FOREIGN, any frame of it) into Dom0's grant window and
 * answers an offset: mmap() one page of /dev/tern at that offset to reach
 * it. The mapping ends when that mmap is unmapped (munmap, exit), with
 * TERN_IOCTL_UNMAP if it was never mmap'd, or when /dev/tern is closed.
 * Ports and mappings of a process that exits or is killed are released
 * by the kernel closing its files.
 */
#ifndef TERN_IOCTL_H
#define TERN_IOCTL_H

/* The most bytes one TERN_IOCTL_HYPERCALL buffer carries (one kernel page). */
#define TERN_IOCTL_BUFFER_MAX 4096

#include "control.h"
#include "grant.h"

struct tern_ioctl_hypercall {
    uint64_t nr;              /* IN: TERN_HC_* */
    uint64_t args[5];         /* IN */
    uint64_t buffer;          /* IN: user address, or 0 for none */
    uint32_t buffer_size;     /* IN: <= TERN_IOCTL_BUFFER_MAX */
    uint32_t buffer_arg;      /* IN: 0-4, the argument that gets the buffer's address */
    int64_t  result;          /* OUT: what Tern returned */
};

struct tern_ioctl_create {
    uint64_t image;           /* IN: user address of the ELF image */
    uint64_t image_bytes;     /* IN: <= TERN_IMAGE_FRAMES_MAX * 4096 */
    uint64_t ramdisk;         /* IN: user address of the ramdisk (ABI 0.9), or 0 */
    uint64_t ramdisk_bytes;   /* IN: <= TERN_IMAGE_FRAMES_MAX * 4096; 0 = none */
    struct tern_domain_create request; /* IN/OUT: image_* and ramdisk_* filled in by tern.ko */
    int64_t  result;          /* OUT: domid, or -TERN_E* */
};

/* struct tern_ioctl_evtchn_bind.kind */
#define TERN_EVTCHN_BIND_INTERDOMAIN 1  /* remote_domid's remote_port, allocated for Dom0 */
#define TERN_EVTCHN_BIND_UNBOUND     2  /* a new port for remote_domid to bind */
#define TERN_EVTCHN_BIND_VIRQ        3  /* remote_port = TERN_VIRQ_* */

struct tern_ioctl_evtchn_bind {
    uint32_t kind;            /* IN: TERN_EVTCHN_BIND_* */
    uint32_t remote_domid;    /* IN */
    uint32_t remote_port;     /* IN: the remote's port, or the VIRQ */
    uint32_t local_port;      /* OUT: Dom0's port */
};

struct tern_ioctl_map {
    uint32_t domid;           /* IN: the granter */
    uint32_t flags;           /* IN: TERN_GRANT_MAP_READONLY, TERN_GRANT_MAP_FOREIGN */
    uint64_t ref;             /* IN: grant ref, or (FOREIGN) frame number */
    uint64_t offset;          /* OUT: mmap() offset of the page in /dev/tern */
};

#define TERN_IOCTL_HYPERCALL 0xC0485401u  /* _IOWR('T', 1, struct tern_ioctl_hypercall) */
#define TERN_IOCTL_CREATE    0xC4985402u  /* _IOWR('T', 2, struct tern_ioctl_create) */
#define TERN_IOCTL_COMMIT    0x40045403u  /* _IOW('T', 3, uint32_t): keep domid past close */
#define TERN_IOCTL_EVTCHN_BIND 0xC0105404u /* _IOWR('T', 4, struct tern_ioctl_evtchn_bind) -> fd */
#define TERN_IOCTL_MAP       0xC0185405u  /* _IOWR('T', 5, struct tern_ioctl_map) */
#define TERN_IOCTL_UNMAP     0x40085406u  /* _IOW('T', 6, uint64_t offset): a mapping not mmap'd */

TERN_STATIC_ASSERT(sizeof(struct tern_ioctl_hypercall) == 72, "tern_ioctl_hypercall layout");
TERN_STATIC_ASSERT(sizeof(struct tern_ioctl_create) == 1176, "tern_ioctl_create layout");
TERN_STATIC_ASSERT(sizeof(struct tern_ioctl_evtchn_bind) == 16, "tern_ioctl_evtchn_bind layout");
TERN_STATIC_ASSERT(sizeof(struct tern_ioctl_map) == 24, "tern_ioctl_map layout");

#endif /* TERN_IOCTL_H */
