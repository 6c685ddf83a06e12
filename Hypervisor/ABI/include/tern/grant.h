/*
 * Tern grant tables (docs/abi.md, "Grant tables"), after Xen's version 1.
 * A domain shares one of its own frames with one other domain by filling
 * an entry of its grant table (a page of its own memory, read-write) and
 * passing the entry's index, the grant reference, to that domain. Fill
 * `frame` and `domid` first, then `flags` (with a write barrier between):
 * Tern reads the entry when the grantee maps or copies and checks that
 * the flags say TERN_GRANT_ACCESS, that `domid` is the caller and, for a
 * writable use, that TERN_GRANT_READONLY is clear. To revoke, clear
 * `flags`; a grant already mapped stays mapped until the grantee unmaps
 * (TERN_GRANT_IN_USE tells the granter when it may reuse the frame).
 */
#ifndef TERN_GRANT_H
#define TERN_GRANT_H

#include "abi.h"

typedef uint32_t tern_grant_ref_t;

struct tern_grant_entry {
    uint16_t flags;           /* IN: TERN_GRANT_*; OUT: TERN_GRANT_IN_USE */
    uint16_t domid;           /* IN: the one domain allowed to use it */
    uint32_t frame;           /* IN: guest frame number (gpa >> 12) in the granter's memory */
};

#define TERN_GRANT_ACCESS     (1u << 0)  /* the entry grants access */
#define TERN_GRANT_READONLY   (1u << 2)  /* the grantee may only read */
#define TERN_GRANT_IN_USE     (1u << 3)  /* OUT: Tern holds a mapping of it */

/* The table Tern sets up at build: one page. TERN_HC_GRANT_TABLE_SETUP may
 * move it to up to TERN_GRANT_ENTRIES_MAX entries of the domain's memory. */
#define TERN_GRANT_ENTRIES_DEFAULT 512
#define TERN_GRANT_ENTRIES_MAX     4096
/* Refs 0..TERN_DEVICE_CONTROL_PAGES-1 are Tern's: each grants a frontend
 * device's control page to its backend (tern/device.h). Guests allocate
 * from here on. */
#define TERN_GRANT_REF_FIRST_FREE  8
#define TERN_GRANT_REF_INVALID     0xFFFFFFFFu

/* TERN_HC_GRANT_MAP flags */
#define TERN_GRANT_MAP_READONLY    (1u << 0)
/* Privileged callers only (Dom0's toolstack and backends): `ref` is a
 * frame number (gpa >> 12) of the other domain's memory, mapped without a
 * grant entry, as Xen's foreign mappings. Counted like a grant mapping:
 * a destroyed domain's memory stays until the last one is unmapped. */
#define TERN_GRANT_MAP_FOREIGN     (1u << 1)

/* TERN_HC_GRANT_COPY: up to TERN_GRANT_COPY_MAX copies per call, each
 * within one page on either side. A side is either the caller's own
 * memory (gpa) or a frame another domain granted to the caller (domid,
 * ref, offset). Each op's status is 0 or a negated TERN_E*. */
#define TERN_GRANT_COPY_MAX        16
#define TERN_GRANT_COPY_SOURCE_REF (1u << 0)  /* source is (domid, ref, offset) */
#define TERN_GRANT_COPY_DEST_REF   (1u << 1)  /* dest is (domid, ref, offset) */

struct tern_grant_copy_side {
    uint64_t gpa;             /* IN: the caller's own memory (when not a ref) */
    uint32_t ref;             /* IN: grant reference (when a ref) */
    uint16_t domid;           /* IN: granter (when a ref) */
    uint16_t offset;          /* IN: byte offset in the granted frame (when a ref) */
};

struct tern_grant_copy {
    struct tern_grant_copy_side source;  /* IN */
    struct tern_grant_copy_side dest;    /* IN */
    uint16_t length;          /* IN: bytes, <= 4096 */
    uint16_t flags;           /* IN: TERN_GRANT_COPY_* */
    int32_t  status;          /* OUT: 0 or -TERN_E* */
};

/* TERN_HC_GRANT_MAP_BATCH and _UNMAP_BATCH: up to TERN_GRANT_BATCH_MAX
 * mappings made or removed in one call, as Xen's GNTTABOP_map_grant_ref
 * takes a count (a backend maps a request's segments at once). Each op is
 * checked and done on its own, exactly as TERN_HC_GRANT_MAP / _UNMAP
 * would, and answers its own status; one refused op does not stop the
 * others. The call returns the count, or -TERN_EINVAL (count too large)
 * or -TERN_EFAULT (the array is not all in the caller's memory) with no
 * op done. */
#define TERN_GRANT_BATCH_MAX       64

struct tern_grant_map_op {
    uint64_t gpa;             /* IN: a free page of the caller's grant window */
    uint32_t ref;             /* IN: grant ref (a frame number with TERN_GRANT_MAP_FOREIGN) */
    uint16_t domid;           /* IN: the granter */
    uint16_t flags;           /* IN: TERN_GRANT_MAP_* */
    uint32_t handle;          /* OUT: the window page's index, when status is 0 */
    int32_t  status;          /* OUT: 0 or -TERN_E*, as TERN_HC_GRANT_MAP's */
};

struct tern_grant_unmap_op {
    uint32_t handle;          /* IN: as TERN_HC_GRANT_UNMAP's */
    int32_t  status;          /* OUT: 0 or -TERN_E* */
};

struct tern_grant_table_info {
    uint64_t gpa;             /* OUT: where the table is */
    uint32_t entries;         /* OUT */
    uint32_t mapped_by_others;/* OUT: mappings other domains hold of this domain's grants */
    uint32_t maps_held;       /* OUT: grants of others this domain has mapped */
    uint32_t reserved;        /* OUT: zero */
};

TERN_STATIC_ASSERT(sizeof(struct tern_grant_entry) == 8, "tern_grant_entry layout");
TERN_STATIC_ASSERT(sizeof(struct tern_grant_map_op) == 24, "tern_grant_map_op layout");
TERN_STATIC_ASSERT(sizeof(struct tern_grant_unmap_op) == 8, "tern_grant_unmap_op layout");
TERN_STATIC_ASSERT(sizeof(struct tern_grant_copy_side) == 16, "tern_grant_copy_side layout");
TERN_STATIC_ASSERT(sizeof(struct tern_grant_copy) == 40, "tern_grant_copy layout");
TERN_STATIC_ASSERT(sizeof(struct tern_grant_table_info) == 24, "tern_grant_table_info layout");

#endif /* TERN_GRANT_H */
