/*
 * Tern device pages (docs/abi.md, "Device pages"): LightVM's noxs in
 * place of XenStore. Each domain has one read-only page listing its
 * devices, the ones it uses (frontend) and the ones it serves (backend,
 * TERN_DEVICE_FLAG_BACKEND). The toolstack adds and removes entries with
 * the privileged TERN_HC_DEVICE_ADD/REMOVE; Tern fills in the rest:
 *   - a control page in the frontend's memory (one of its
 *     TERN_DEVICE_CONTROL_PAGES), granted to the backend with the
 *     reserved grant ref equal to the slot;
 *   - an event channel: a port in the frontend, unbound for the backend
 *     (the backend binds it with TERN_HC_EVTCHN_BIND_INTERDOMAIN);
 *   - the same entry in the backend's page, with BACKEND set.
 * Handshake on the control page (struct tern_device_control), as
 * XenbusState: the frontend publishes its ring's grant ref and sets
 * frontend_state = READY and notifies; the backend maps the ring, sets
 * backend_state = CONNECTED and notifies.
 * Read the page as a sequence lock: read version, the entries, version
 * again; retry while it changed or is odd.
 */
#ifndef TERN_DEVICE_H
#define TERN_DEVICE_H

#include "abi.h"

#define TERN_DEVICE_PAGE_MAGIC    0x5345564544524554ull /* "TERNDEVS" little-endian */
#define TERN_DEVICE_MAX           64  /* entries in a device page */
#define TERN_DEVICE_CONTROL_PAGES 8   /* frontend devices per domain; slot 0 is the console */

/* struct tern_device_entry.type */
#define TERN_DEVICE_CONSOLE  1  /* control page: struct tern_console_ring */
#define TERN_DEVICE_CHANNEL  2  /* a message channel: control page struct tern_device_control */
#define TERN_DEVICE_BLOCK    3  /* a disk (blkif): control page struct tern_blkif_control (tern/blkif.h) */
#define TERN_DEVICE_NET      4  /* a network interface (netif, ABI 0.11): control page struct tern_netif_control (tern/netif.h) */

/* struct tern_device_entry.flags */
#define TERN_DEVICE_FLAG_BACKEND (1u << 0)  /* this domain serves the device */
/* flags bits 16-31 (ABI 0.12): the entry's instance, 1-65535, numbered by
 * Tern per frontend at each device add (the console, Tern's own: 0). A
 * device removed and added again with the same type and devid (a detach,
 * then an attach) may get the same control page, grant ref and port: a
 * frontend that looks only after both tells its old device from the new
 * one by the instance (docs/abi.md "Device pages"). */
#define TERN_DEVICE_INSTANCE_SHIFT 16
#define TERN_DEVICE_INSTANCE_MASK  0xFFFF0000u

/* struct tern_device_entry.state: the entry's life, set by Tern */
#define TERN_DEVICE_ACTIVE   1  /* set up: connect */
#define TERN_DEVICE_CLOSED   2  /* the peer domain is gone: disconnect, unmap, close */

struct tern_device_entry {
    uint16_t type;            /* OUT: TERN_DEVICE_* */
    uint16_t devid;           /* OUT: per frontend and type */
    uint16_t frontend;        /* OUT: domid */
    uint16_t backend;         /* OUT: domid, or TERN_DOMID_TERN */
    uint32_t state;           /* OUT: TERN_DEVICE_ACTIVE / CLOSED */
    uint32_t flags;           /* OUT: TERN_DEVICE_FLAG_* */
    uint32_t grant_ref;       /* OUT: the control page, in the frontend's grant table */
    uint32_t port;            /* OUT: the frontend's event channel port */
    uint64_t control_gpa;     /* OUT: the control page in the frontend's memory (frontend only, else 0) */
};

struct tern_device_page {
    uint64_t magic;           /* OUT: TERN_DEVICE_PAGE_MAGIC */
    uint32_t version;         /* OUT: changes at every update; odd while updating */
    uint32_t count;           /* OUT: valid entries */
    struct tern_device_entry entries[TERN_DEVICE_MAX];
};

struct tern_device_add {
    uint16_t type;            /* IN: TERN_DEVICE_CHANNEL, or TERN_DEVICE_BLOCK (ABI 0.10); the console is Tern's */
    uint16_t devid;           /* IN: unique per frontend and type */
    uint16_t frontend;        /* IN: domid */
    uint16_t backend;         /* IN: domid, not the frontend */
    uint32_t flags;           /* IN: zero */
    uint32_t reserved;        /* IN: zero */
    uint32_t port;            /* OUT: the frontend's port, unbound for the backend (ABI 0.5) */
    uint32_t grant_ref;       /* OUT: the control page's ref in the frontend's grant table */
    uint64_t control_gpa;     /* OUT: the control page in the frontend's memory */
};

/* The first bytes of a TERN_DEVICE_CHANNEL control page. */
#define TERN_LINK_INITIALISING 1
#define TERN_LINK_READY        2  /* frontend: ring published */
#define TERN_LINK_CONNECTED    3  /* backend: ring mapped, serving */
#define TERN_LINK_CLOSED       4

struct tern_device_control {
    uint32_t frontend_state;  /* written by the frontend: TERN_LINK_* */
    uint32_t backend_state;   /* written by the backend: TERN_LINK_* */
    uint32_t ring_ref;        /* written by the frontend: its ring page's grant ref */
    uint32_t reserved;
};

/* TERN_DEVICE_CONSOLE's control page: two byte rings with free-running
 * indices (mask with the size). The guest produces `out` and notifies
 * the device's port; the backend consumes it and notifies back when it
 * made room. `in` is the other way round. */
#define TERN_CONSOLE_IN_SIZE   1024
#define TERN_CONSOLE_OUT_SIZE  2048
struct tern_console_ring {
    char     in[TERN_CONSOLE_IN_SIZE];
    char     out[TERN_CONSOLE_OUT_SIZE];
    uint32_t in_cons;         /* guest */
    uint32_t in_prod;         /* backend */
    uint32_t out_cons;        /* backend */
    uint32_t out_prod;        /* guest */
};

TERN_STATIC_ASSERT(sizeof(struct tern_device_entry) == 32, "tern_device_entry layout");
TERN_STATIC_ASSERT(sizeof(struct tern_device_page) == 16 + 32 * TERN_DEVICE_MAX, "tern_device_page layout");
TERN_STATIC_ASSERT(sizeof(struct tern_device_page) <= 4096, "tern_device_page fits a page");
TERN_STATIC_ASSERT(sizeof(struct tern_device_add) == 32, "tern_device_add layout");
TERN_STATIC_ASSERT(sizeof(struct tern_device_control) == 16, "tern_device_control layout");
TERN_STATIC_ASSERT(sizeof(struct tern_console_ring) == 3088, "tern_console_ring layout");

#endif /* TERN_DEVICE_H */
