/*
 * /dev/tern (docs/dom0.md, "Control device"): how Dom0's toolstack reaches
 * Tern through tern.ko. Root only. The numbers are Linux's _IOWR/_IOW
 * encodings, spelled out so that Swift imports them; tern.c checks them
 * against the macros at build time.
 *
 * TERN_IOCTL_HYPERCALL issues one privileged hypercall (tern.ko allows only
 * the toolstack's: VERSION, DOMAIN_INFO, DOMAIN_LIST, LOG_READ,
 * DOMAIN_CONTROL, DOMAIN_PREPARE, SYSTEM_INFO, DEVICE_ADD, DEVICE_REMOVE).
 * A call that takes a pointer gets it through `buffer`: tern.ko copies
 * buffer_size bytes (<= 4096) from user space into a kernel page, puts that
 * page's address in args[buffer_arg], makes the call and copies the page
 * back. TERN_HC_LOG_READ's request names its own byte buffer: pass the
 * request as the buffer (argument 0) with room after it; tern.ko points
 * buffer_gpa just past the request and caps size to the room left.
 *
 * TERN_IOCTL_CREATE copies an ELF image from user space into Dom0 pages,
 * fills in the request's image fields and issues TERN_HC_DOMAIN_CREATE.
 * The new domain belongs to this open file until TERN_IOCTL_COMMIT: if the
 * file is closed first (the toolstack exited or was killed), tern.ko
 * destroys it, so a failed or interrupted create leaves nothing behind.
 */
#ifndef TERN_IOCTL_H
#define TERN_IOCTL_H

#include "control.h"

struct tern_ioctl_hypercall {
    uint64_t nr;              /* IN: TERN_HC_* */
    uint64_t args[5];         /* IN */
    uint64_t buffer;          /* IN: user address, or 0 for none */
    uint32_t buffer_size;     /* IN: <= 4096 */
    uint32_t buffer_arg;      /* IN: 0-4, the argument that gets the buffer's address */
    int64_t  result;          /* OUT: what Tern returned */
};

struct tern_ioctl_create {
    uint64_t image;           /* IN: user address of the ELF image */
    uint64_t image_bytes;     /* IN: <= TERN_IMAGE_FRAMES_MAX * 4096 */
    struct tern_domain_create request; /* IN/OUT: image_* filled in by tern.ko */
    int64_t  result;          /* OUT: domid, or -TERN_E* */
};

#define TERN_IOCTL_HYPERCALL 0xC0485401u  /* _IOWR('T', 1, struct tern_ioctl_hypercall) */
#define TERN_IOCTL_CREATE    0xC1305402u  /* _IOWR('T', 2, struct tern_ioctl_create) */
#define TERN_IOCTL_COMMIT    0x40045403u  /* _IOW('T', 3, uint32_t): keep domid past close */

TERN_STATIC_ASSERT(sizeof(struct tern_ioctl_hypercall) == 72, "tern_ioctl_hypercall layout");
TERN_STATIC_ASSERT(sizeof(struct tern_ioctl_create) == 304, "tern_ioctl_create layout");

#endif /* TERN_IOCTL_H */
