/*
 * Tern block devices (docs/abi.md, "Block devices (blkif)"): Xen's blkif
 * ring protocol, byte for byte, so that existing frontends port with
 * little change, plus a fixed-layout control page in place of the
 * XenStore keys Xen negotiates through.
 *
 * The ring is a tern/ring.h ring (64-byte header, then slots) whose slots
 * hold a struct tern_blkif_request until the backend overwrites it with a
 * struct tern_blkif_response: 112-byte slots, 32 per 4 KiB page, twice as
 * many for each step of ring order. Operation numbers, status values,
 * struct sizes and field offsets are Xen's (x86-64); the padding Xen
 * leaves implicit is spelled out as reserved fields, which a frontend
 * writes as zero and a backend never reads.
 *
 * Units: sector numbers, first_sect/last_sect and the control page's
 * `sectors` always count 512-byte sectors, even on a disk whose logical
 * sector_size is 4096 (then they must be multiples of 8).
 *
 * The backend copies each request out of the ring exactly once and checks
 * only its copy (tern_blkif_copy_request; Xen XSA-155); it writes every
 * byte of each response, reserved ones as zero (Xen XSA-216).
 */
#ifndef TERN_BLKIF_H
#define TERN_BLKIF_H

#include "abi.h"
#include "ring.h"
#include "device.h"

/* ---- The ring ----------------------------------------------------------- */

/* struct tern_blkif_request.operation: Xen's BLKIF_OP_* numbers. */
#define TERN_BLKIF_OP_READ            0
#define TERN_BLKIF_OP_WRITE           1
#define TERN_BLKIF_OP_WRITE_BARRIER   2  /* not offered by Tern's backend: EOPNOTSUPP */
#define TERN_BLKIF_OP_FLUSH_DISKCACHE 3  /* TERN_BLKIF_FEATURE_FLUSH; 0..11 segments of data written first */
#define TERN_BLKIF_OP_RESERVED_1      4  /* Xen: reserved (SLES); never valid */
#define TERN_BLKIF_OP_DISCARD         5  /* TERN_BLKIF_FEATURE_DISCARD: struct tern_blkif_request_discard */
#define TERN_BLKIF_OP_INDIRECT        6  /* max_indirect_segments > 0: struct tern_blkif_request_indirect */

/* struct tern_blkif_response.status: Xen's BLKIF_RSP_* values. */
#define TERN_BLKIF_RSP_EOPNOTSUPP (-2)  /* operation or feature not offered */
#define TERN_BLKIF_RSP_ERROR      (-1)  /* refused (invalid request) or failed */
#define TERN_BLKIF_RSP_OKAY       0

#define TERN_BLKIF_SECTOR_SIZE            512   /* the unit of every sector field */
#define TERN_BLKIF_PAGE_SIZE              4096  /* a ring page, a data page, an indirect page */
#define TERN_BLKIF_SECTORS_PER_PAGE       8     /* so last_sect <= 7 */
#define TERN_BLKIF_MAX_SEGMENTS           11    /* segments in a direct request */
#define TERN_BLKIF_MAX_INDIRECT_PAGES     8     /* indirect_grefs per indirect request */
#define TERN_BLKIF_SEGMENTS_PER_INDIRECT_PAGE 512  /* struct tern_blkif_segment per indirect page */
#define TERN_BLKIF_RING_ENTRIES           32    /* slots in a one-page ring; 32 << ring_order in general */

/* One page (or part of a page) of a transfer: sectors first_sect..last_sect
 * (inclusive, 512-byte units, both <= 7) of the page granted as gref. */
struct tern_blkif_segment {
    uint32_t gref;            /* grant ref of the data page, in the frontend's table */
    uint8_t  first_sect;      /* first sector in the page, 0..7 */
    uint8_t  last_sect;       /* last sector in the page, first_sect..7 */
    uint16_t reserved;        /* zero (Xen: implicit padding) */
};

/* READ, WRITE, FLUSH_DISKCACHE (and the layout every request starts with). */
struct tern_blkif_request {
    uint8_t  operation;       /* TERN_BLKIF_OP_* */
    uint8_t  nr_segments;     /* 1..11 for READ/WRITE, 0..11 for FLUSH_DISKCACHE */
    uint16_t handle;          /* Xen's vdev; one device per ring in Tern: ignored */
    uint32_t reserved;        /* zero (Xen: implicit padding) */
    uint64_t id;              /* the frontend's, echoed in the response */
    uint64_t sector_number;   /* first sector on the disk (512-byte units) */
    struct tern_blkif_segment seg[TERN_BLKIF_MAX_SEGMENTS];
};

/* DISCARD: sectors [sector_number, sector_number + nr_sectors). */
#define TERN_BLKIF_DISCARD_SECURE (1u << 0)  /* struct tern_blkif_request_discard.flag */
struct tern_blkif_request_discard {
    uint8_t  operation;       /* TERN_BLKIF_OP_DISCARD */
    uint8_t  flag;            /* TERN_BLKIF_DISCARD_SECURE needs TERN_BLKIF_FEATURE_DISCARD_SECURE */
    uint16_t handle;          /* ignored */
    uint32_t reserved;        /* zero */
    uint64_t id;
    uint64_t sector_number;
    uint64_t nr_sectors;
};

/* INDIRECT: the segments are in indirect pages (the first
 * (nr_segments + 511) / 512 of indirect_grefs), 512 per page. */
struct tern_blkif_request_indirect {
    uint8_t  operation;       /* TERN_BLKIF_OP_INDIRECT */
    uint8_t  indirect_op;     /* TERN_BLKIF_OP_READ or _WRITE; the response carries it */
    uint16_t nr_segments;     /* 1..the backend's max_indirect_segments */
    uint32_t reserved0;       /* zero */
    uint64_t id;
    uint64_t sector_number;
    uint16_t handle;          /* ignored */
    uint16_t reserved1;       /* zero */
    uint32_t indirect_grefs[TERN_BLKIF_MAX_INDIRECT_PAGES];
    uint32_t reserved2;       /* zero (Xen: implicit padding) */
};

/* The response: in the slot rsp_prod names, in completion order (not
 * necessarily its request's slot); the frontend matches it by id. */
struct tern_blkif_response {
    uint64_t id;              /* the request's */
    uint8_t  operation;       /* the request's (for INDIRECT: its indirect_op) */
    uint8_t  reserved0;       /* zero */
    int16_t  status;          /* TERN_BLKIF_RSP_* */
    uint32_t reserved1;       /* zero */
};

/* A ring slot. */
union tern_blkif_slot {
    struct tern_blkif_request          request;
    struct tern_blkif_request_discard  discard;
    struct tern_blkif_request_indirect indirect;
    struct tern_blkif_response         response;
};

/*
 * The one read of a request in shared memory: a volatile copy, so the
 * compiler neither elides it nor reads the slot again later (Xen's
 * RING_COPY_REQUEST). Check the copy, never the slot.
 */
static inline void tern_blkif_copy_request(union tern_blkif_slot *copy, const volatile union tern_blkif_slot *slot)
{
    *copy = *slot;
}

/* The same for the segments of an indirect page: segments[0, count). */
static inline void tern_blkif_copy_segments(struct tern_blkif_segment *copy,
                                            const volatile struct tern_blkif_segment *segments, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        copy[i] = segments[i];
}

/* A response written field by field, every byte (reserved ones zero). */
static inline void tern_blkif_write_response(volatile struct tern_blkif_response *slot,
                                             uint64_t id, uint8_t operation, int16_t status)
{
    slot->id = id;
    slot->operation = operation;
    slot->reserved0 = 0;
    slot->status = status;
    slot->reserved1 = 0;
}

/* ---- The control page ------------------------------------------------------ */

/*
 * A TERN_DEVICE_BLOCK's control page (the frontend's, granted to the
 * backend as for any device, tern/device.h): struct tern_device_control,
 * then the blkif fields XenStore would hold. Handshake:
 *   1. Tern zeroes the page and lists the device (version is 0).
 *   2. The backend writes its fields (sectors .. discard_alignment),
 *      then version = TERN_BLKIF_CONTROL_VERSION last, and notifies.
 *   3. The frontend, once version != 0, copies the backend's fields,
 *      writes frontend_version, frontend_features, ring_order, its ring
 *      pages' grant refs (page 0 in link.ring_ref, pages 1.. in
 *      extra_ring_refs), then link.frontend_state = TERN_LINK_READY last,
 *      and notifies.
 *   4. The backend copies the frontend's fields once and checks them; it
 *      maps the ring and sets link.backend_state = TERN_LINK_CONNECTED,
 *      or sets backend_error (TERN_BLKIF_ERROR_*) and backend_state =
 *      TERN_LINK_CLOSED. It notifies either way.
 * Versions: a later version only gives meaning to reserved bytes (zero
 * before); each side reads a field only when both versions have it.
 */
#define TERN_BLKIF_CONTROL_VERSION 1

/* backend_features and frontend_features. */
#define TERN_BLKIF_FEATURE_FLUSH          (1u << 0)  /* FLUSH_DISKCACHE (Xen feature-flush-cache) */
#define TERN_BLKIF_FEATURE_DISCARD        (1u << 1)  /* DISCARD (feature-discard) */
#define TERN_BLKIF_FEATURE_DISCARD_SECURE (1u << 2)  /* DISCARD with TERN_BLKIF_DISCARD_SECURE (discard-secure) */
#define TERN_BLKIF_FEATURE_PERSISTENT     (1u << 3)  /* persistent grants (feature-persistent): both sides */
/* The only bit a frontend may set in frontend_features (the others are the
 * backend's to offer, the frontend's to use or not). */
#define TERN_BLKIF_FRONTEND_FEATURES      TERN_BLKIF_FEATURE_PERSISTENT

/* backend_info: Xen's VDISK_* bits (XenStore "info"). */
#define TERN_BLKIF_INFO_CDROM     (1u << 0)
#define TERN_BLKIF_INFO_REMOVABLE (1u << 1)
#define TERN_BLKIF_INFO_READONLY  (1u << 2)  /* writes, flushes and discards fail */

/* Ring order: 2^ring_order pages, 32 << ring_order slots. */
#define TERN_BLKIF_MAX_RING_ORDER 2
#define TERN_BLKIF_MAX_RING_PAGES (1 << TERN_BLKIF_MAX_RING_ORDER)

/* Indirect segments a backend may offer: what 8 indirect pages hold. */
#define TERN_BLKIF_INDIRECT_SEGMENTS_LIMIT (TERN_BLKIF_MAX_INDIRECT_PAGES * TERN_BLKIF_SEGMENTS_PER_INDIRECT_PAGE)

/* backend_error: why the backend closed the device (backend_state
 * TERN_LINK_CLOSED); 0 while it has not. */
#define TERN_BLKIF_ERROR_NONE           0
#define TERN_BLKIF_ERROR_VERSION        1  /* frontend_version 0 or above the backend's version */
#define TERN_BLKIF_ERROR_RING_ORDER     2  /* ring_order above backend_max_ring_order */
#define TERN_BLKIF_ERROR_RING_REF       3  /* a ring ref reserved (< TERN_GRANT_REF_FIRST_FREE), repeated, or not mappable */
#define TERN_BLKIF_ERROR_FEATURES       4  /* frontend_features not offered or unknown; nonzero reserved bytes */
#define TERN_BLKIF_ERROR_RING_BROKEN    5  /* req_prod moved more than the ring's size, or backwards */

struct tern_blkif_control {
    struct tern_device_control link;  /* frontend_state, backend_state, ring_ref (ring page 0) */
    /* Written by the backend (step 2), then fixed while connected: */
    uint32_t version;                 /* TERN_BLKIF_CONTROL_VERSION once the fields below are valid; 0 before */
    uint32_t backend_info;            /* TERN_BLKIF_INFO_* */
    uint64_t sectors;                 /* disk size, in 512-byte sectors */
    uint32_t sector_size;             /* logical sector size in bytes: 512 or 4096 */
    uint32_t physical_sector_size;    /* bytes, a multiple of sector_size */
    uint32_t backend_features;        /* TERN_BLKIF_FEATURE_* offered */
    uint32_t max_indirect_segments;   /* 0 (no INDIRECT) .. TERN_BLKIF_INDIRECT_SEGMENTS_LIMIT */
    uint32_t max_ring_order;          /* 0 .. TERN_BLKIF_MAX_RING_ORDER */
    uint32_t discard_granularity;     /* bytes (with FEATURE_DISCARD), 0 = sector_size */
    uint32_t discard_alignment;       /* bytes */
    uint32_t backend_error;           /* TERN_BLKIF_ERROR_*: set with backend_state CLOSED */
    uint32_t backend_reserved[16];    /* zero */
    /* Written by the frontend (step 3), fixed once frontend_state is READY: */
    uint32_t frontend_version;        /* the version it speaks: 1 .. version */
    uint32_t frontend_features;       /* TERN_BLKIF_FRONTEND_FEATURES it uses (offered ones only) */
    uint32_t ring_order;              /* 0 .. max_ring_order */
    uint32_t extra_ring_refs[TERN_BLKIF_MAX_RING_PAGES - 1]; /* ring pages 1 .. 2^ring_order - 1 */
    uint32_t frontend_reserved[26];   /* zero */
};

/* The backend's one read of the control page (step 4): a volatile copy,
 * checked as a copy. */
static inline void tern_blkif_copy_control(struct tern_blkif_control *copy,
                                           const volatile struct tern_blkif_control *control)
{
    *copy = *control;
}

TERN_STATIC_ASSERT(sizeof(struct tern_blkif_segment) == 8, "tern_blkif_segment layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_segment, first_sect) == 4, "first_sect");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_segment, last_sect) == 5, "last_sect");
TERN_STATIC_ASSERT(sizeof(struct tern_blkif_request) == 112, "tern_blkif_request layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request, nr_segments) == 1, "nr_segments");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request, handle) == 2, "handle");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request, id) == 8, "id");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request, sector_number) == 16, "sector_number");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request, seg) == 24, "seg");
TERN_STATIC_ASSERT(sizeof(struct tern_blkif_request_discard) == 32, "tern_blkif_request_discard layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_discard, flag) == 1, "flag");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_discard, id) == 8, "discard id");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_discard, nr_sectors) == 24, "nr_sectors");
TERN_STATIC_ASSERT(sizeof(struct tern_blkif_request_indirect) == 64, "tern_blkif_request_indirect layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_indirect, indirect_op) == 1, "indirect_op");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_indirect, nr_segments) == 2, "indirect nr_segments");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_indirect, id) == 8, "indirect id");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_indirect, sector_number) == 16, "indirect sector_number");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_indirect, handle) == 24, "indirect handle");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_request_indirect, indirect_grefs) == 28, "indirect_grefs");
TERN_STATIC_ASSERT(sizeof(struct tern_blkif_response) == 16, "tern_blkif_response layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_response, operation) == 8, "response operation");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_response, status) == 10, "response status");
TERN_STATIC_ASSERT(sizeof(union tern_blkif_slot) == 112, "tern_blkif_slot layout");
TERN_STATIC_ASSERT(sizeof(struct tern_ring_header) + TERN_BLKIF_RING_ENTRIES * sizeof(union tern_blkif_slot)
                   <= TERN_BLKIF_PAGE_SIZE, "32 slots fit a page");
TERN_STATIC_ASSERT(sizeof(struct tern_ring_header) + 2 * TERN_BLKIF_RING_ENTRIES * sizeof(union tern_blkif_slot)
                   > TERN_BLKIF_PAGE_SIZE, "64 slots do not");
TERN_STATIC_ASSERT(TERN_BLKIF_SEGMENTS_PER_INDIRECT_PAGE * sizeof(struct tern_blkif_segment)
                   == TERN_BLKIF_PAGE_SIZE, "an indirect page is full of segments");
TERN_STATIC_ASSERT(sizeof(struct tern_blkif_control) == 256, "tern_blkif_control layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_control, version) == 16, "control version");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_control, sectors) == 24, "control sectors");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_blkif_control, frontend_version) == 128, "control frontend half");

#endif /* TERN_BLKIF_H */
