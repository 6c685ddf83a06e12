/*
 * Tern network interfaces (docs/abi.md, "Network interfaces (netif)"):
 * Xen's netif ring protocol, byte for byte, so that existing frontends
 * (Linux's xen-netfront, Mini-OS) port with little change, plus a
 * fixed-layout control page in place of the XenStore keys Xen negotiates
 * through (feature-rx-copy, feature-sg, mac, tx-ring-ref, ...).
 *
 * Two rings, each one page: tx (the guest's packets out) and rx (packets
 * in, copied by the backend into pages the guest posted). Each is a
 * tern/ring.h ring (64-byte header, then slots): tx slots are 12 bytes
 * (a request; its 4-byte response overwrites it), rx slots 8 bytes, 256
 * of each per page (Xen's __RING_SIZE: the largest power of two that
 * fits). Flag bits, status values, struct sizes and field offsets are
 * Xen's (x86-64); the padding Xen leaves implicit is spelled out as
 * reserved fields, written as zero and never read.
 *
 * Transmit: a packet is one or more tx requests. The first gives the whole
 * packet's size in `size` and the bytes [offset, offset + its own part) of
 * its page; TERN_NETTXF_MORE_DATA says a request follows with more of the
 * packet, each later one giving only its own part's size. The first
 * part's size is the packet's size minus the later parts'. A slot of
 * extra information (struct tern_netif_extra_info) follows the first
 * request when it has TERN_NETTXF_EXTRA_INFO, and chains with
 * TERN_NETIF_EXTRA_FLAG_MORE. Every request is answered (the first with
 * the packet's status, the others and extra slots TERN_NETIF_RSP_NULL), by
 * id, in any order.
 *
 * Receive: the frontend posts empty pages (rx requests: id, gref); the
 * backend copies a packet into the page of the request in the same slot
 * and answers in that slot (xen-netfront ignores the response's id and
 * relies on it), with the bytes' offset and their count in `status`
 * (>0), or a negative status.
 *
 * The backend copies each slot out of the ring exactly once and checks
 * only its copy (tern_netif_copy_tx_request; Xen XSA-155); it writes
 * every byte of each response, reserved ones as zero.
 */
#ifndef TERN_NETIF_H
#define TERN_NETIF_H

#include "abi.h"
#include "ring.h"
#include "device.h"

/* ---- Transmit ------------------------------------------------------------ */

/* struct tern_netif_tx_request.flags: Xen's NETTXF_* bits. */
#define TERN_NETTXF_CSUM_BLANK     (1u << 0)  /* checksum not filled in: the backend (or the NIC) fills it */
#define TERN_NETTXF_DATA_VALIDATED (1u << 1)  /* checksum known good */
#define TERN_NETTXF_MORE_DATA      (1u << 2)  /* the packet goes on in the next request */
#define TERN_NETTXF_EXTRA_INFO     (1u << 3)  /* an extra-info slot follows */

struct tern_netif_tx_request {
    uint32_t gref;    /* the page holding this part */
    uint16_t offset;  /* first byte in the page */
    uint16_t flags;   /* TERN_NETTXF_* */
    uint16_t id;      /* the frontend's, echoed in the response */
    uint16_t size;    /* the first request: the packet's size; the others: their part's */
};

struct tern_netif_tx_response {
    uint16_t id;
    int16_t  status;  /* TERN_NETIF_RSP_* */
};

/* ---- Extra information (a tx slot after TERN_NETTXF_EXTRA_INFO) ---------- */

#define TERN_NETIF_EXTRA_TYPE_NONE      0
#define TERN_NETIF_EXTRA_TYPE_GSO       1  /* segmentation offload (TERN_NETIF_FEATURE_GSO) */
#define TERN_NETIF_EXTRA_TYPE_MCAST_ADD 2
#define TERN_NETIF_EXTRA_TYPE_MCAST_DEL 3
#define TERN_NETIF_EXTRA_TYPE_HASH      4
#define TERN_NETIF_EXTRA_TYPE_MAX       5  /* types are below this */

#define TERN_NETIF_EXTRA_FLAG_MORE (1u << 0)  /* another extra slot follows */

/* A GSO extra slot (Xen's xen_netif_extra_info.u.gso): u[0] is the
 * segment size (the MSS: each segment's TCP payload), the low byte of
 * u[1] the type below (its high byte zero), u[2] zero (Xen's features).
 * Only with TERN_NETIF_FEATURE_GSO: the packet is then up to
 * TERN_NETIF_MAX_TX_SIZE bytes of Ethernet frame over several slots, to
 * be cut into segments of that size (by Dom0's kernel or its NIC on tx,
 * by the frontend's stack on rx, or never: Linux takes them whole). */
#define TERN_NETIF_GSO_TYPE_NONE   0
#define TERN_NETIF_GSO_TYPE_TCPV4  1
#define TERN_NETIF_GSO_TYPE_TCPV6  2

struct tern_netif_extra_info {
    uint8_t  type;        /* TERN_NETIF_EXTRA_TYPE_* */
    uint8_t  flags;       /* TERN_NETIF_EXTRA_FLAG_* */
    uint16_t u[3];        /* by type: gso {size; type, pad (u8); features}; mcast {addr[6]}; hash {type, alg, value[4]} */
};

/* ---- Receive ------------------------------------------------------------- */

/* struct tern_netif_rx_response.flags: Xen's NETRXF_* bits. */
#define TERN_NETRXF_DATA_VALIDATED (1u << 0)
#define TERN_NETRXF_CSUM_BLANK     (1u << 1)
#define TERN_NETRXF_MORE_DATA      (1u << 2)  /* the packet goes on in the next slot's page */
#define TERN_NETRXF_EXTRA_INFO     (1u << 3)

struct tern_netif_rx_request {
    uint16_t id;
    uint16_t reserved;  /* zero (Xen: implicit padding) */
    uint32_t gref;      /* an empty page the backend may copy a packet into */
};

struct tern_netif_rx_response {
    uint16_t id;
    uint16_t offset;  /* where the bytes start in the page */
    uint16_t flags;   /* TERN_NETRXF_* */
    int16_t  status;  /* > 0: bytes copied; else TERN_NETIF_RSP_* */
};

/* Response status: Xen's NETIF_RSP_* values. */
#define TERN_NETIF_RSP_DROPPED (-2)  /* not sent: the backend dropped it (malformed, rate limit, link down) */
#define TERN_NETIF_RSP_ERROR   (-1)
#define TERN_NETIF_RSP_OKAY    0
#define TERN_NETIF_RSP_NULL    1     /* a later part of a packet, or an extra slot: its status is the first's */

/* ---- Slots and sizes ------------------------------------------------------- */

union tern_netif_tx_slot {
    struct tern_netif_tx_request request;
    struct tern_netif_tx_response response;
    struct tern_netif_extra_info extra;
};

/* With TERN_NETIF_FEATURE_GSO an rx packet's first response may carry
 * TERN_NETRXF_EXTRA_INFO: the next slot (whose request the backend took,
 * its page unused and still the frontend's) holds a GSO extra instead of a
 * response; the packet's other slots follow it (as Xen's rx). */
union tern_netif_rx_slot {
    struct tern_netif_rx_request request;
    struct tern_netif_rx_response response;
    struct tern_netif_extra_info extra;
};

#define TERN_NETIF_PAGE_SIZE      4096
#define TERN_NETIF_RING_ENTRIES   256     /* tx and rx slots per ring page (Xen's __RING_SIZE) */
#define TERN_NETIF_MAX_TX_SIZE    0xFFFF  /* a packet's largest size (Xen's XEN_NETIF_MAX_TX_SIZE) */
#define TERN_NETIF_NR_SLOTS_MIN   18      /* slots a packet may span that every backend takes (XEN_NETIF_NR_SLOTS_MIN) */
#define TERN_NETIF_MTU_DEFAULT    1500
#define TERN_NETIF_ETH_HEADER     14      /* bytes of an Ethernet header: the least packet */

/* The backend's one read of a tx slot: a volatile copy, checked as a copy. */
static inline void tern_netif_copy_tx_request(struct tern_netif_tx_request *copy,
                                              const volatile union tern_netif_tx_slot *slot)
{
    *copy = slot->request;
}

static inline void tern_netif_copy_extra(struct tern_netif_extra_info *copy,
                                         const volatile union tern_netif_tx_slot *slot)
{
    *copy = slot->extra;
}

static inline void tern_netif_copy_rx_request(struct tern_netif_rx_request *copy,
                                              const volatile union tern_netif_rx_slot *slot)
{
    *copy = slot->request;
}

/* ---- The control page (in place of XenStore) ------------------------------ */

/* 1: ABI 0.11 as first published; 2: adds TERN_NETIF_FEATURE_GSO (the
 * layout is unchanged: a frontend of version 1 takes a subset of a
 * version 2 backend's features, and checks only version 1's bytes). */
#define TERN_NETIF_CONTROL_VERSION 2

/* backend_features / frontend_features (both sides name the same bits:
 * the backend offers, the frontend takes a subset). */
#define TERN_NETIF_FEATURE_SG          (1u << 0)  /* feature-sg: packets over several tx requests / rx slots */
/* Checksum offload (Xen's default, feature-no-csum-offload unset, and
 * feature-ipv6-csum-offload): TCP and UDP over IPv4 and IPv6 may be sent
 * with TERN_NETTXF_CSUM_BLANK (the checksum field holds the pseudo
 * header's sum; the backend has it filled in) and received with
 * TERN_NETRXF_CSUM_BLANK (likewise: the frontend's stack treats it as
 * partial) or TERN_NETRXF_DATA_VALIDATED (checked on the way). */
#define TERN_NETIF_FEATURE_CSUM        (1u << 1)
#define TERN_NETIF_FEATURE_RX_NOTIFY   (1u << 2)  /* feature-rx-notify: the frontend notifies when it posts rx pages */
/* Persistent grants (as blkif's): every page the frontend names in tx and
 * rx requests is one of a pool it granted writable for the interface's
 * life; the backend keeps each mapped from its first use, so a packet
 * costs no map or unmap. Without it the backend maps each packet's pages
 * for that packet (in batches) and unmaps them before answering. */
#define TERN_NETIF_FEATURE_PERSISTENT  (1u << 3)
/* Version 2. TCP segmentation offload both ways (Xen's feature-gso-tcpv4
 * and -tcpv6, offered and taken as one): packets of up to
 * TERN_NETIF_MAX_TX_SIZE bytes over several slots, the first with
 * TERN_NETTXF_EXTRA_INFO / TERN_NETRXF_EXTRA_INFO and a GSO extra slot
 * after it. Needs SG and CSUM (a segmented packet's checksums are filled
 * in per segment). */
#define TERN_NETIF_FEATURE_GSO         (1u << 4)
/* Every feature bit of version 2 (spelled out so Swift imports it). */
#define TERN_NETIF_FEATURES            0x1Fu
#define TERN_NETIF_FEATURES_V1         0xFu
TERN_STATIC_ASSERT(TERN_NETIF_FEATURES == (TERN_NETIF_FEATURE_SG | TERN_NETIF_FEATURE_CSUM | TERN_NETIF_FEATURE_RX_NOTIFY |
                                           TERN_NETIF_FEATURE_PERSISTENT | TERN_NETIF_FEATURE_GSO), "every feature");

/* backend_error: why the backend closed the interface. */
#define TERN_NETIF_ERROR_NONE        0
#define TERN_NETIF_ERROR_VERSION     1  /* frontend_version 0 or above the backend's version */
#define TERN_NETIF_ERROR_RING_REF    2  /* a ring ref reserved, the two the same, or not mappable */
#define TERN_NETIF_ERROR_FEATURES    3  /* frontend_features not offered or unknown; nonzero reserved bytes */
#define TERN_NETIF_ERROR_RING_BROKEN 4  /* a producer index moved more than the ring's size, or backwards */
#define TERN_NETIF_ERROR_MALFORMED   5  /* malformed packets past the limit (xenvif_fatal_tx_err): disabled */

struct tern_netif_control {
    struct tern_device_control link;  /* frontend_state, backend_state, ring_ref (the tx ring's page) */
    /* Written by the backend (step 2), then fixed while connected: */
    uint32_t version;                 /* TERN_NETIF_CONTROL_VERSION once the fields below are valid; 0 before */
    uint32_t backend_features;        /* TERN_NETIF_FEATURE_* offered */
    uint8_t  mac[6];                  /* the guest's MAC address (xl's vif mac=) */
    uint16_t mtu;                     /* the link's MTU (1500) */
    uint32_t max_tx_slots;            /* slots a packet may span (>= TERN_NETIF_NR_SLOTS_MIN) */
    uint32_t carrier;                 /* 1: the link is up (the backend's tap is attached) */
    uint32_t backend_error;           /* TERN_NETIF_ERROR_*: set with backend_state CLOSED */
    uint32_t backend_reserved[16];    /* zero */
    /* Written by the frontend (step 3), fixed once frontend_state is READY: */
    uint32_t frontend_version;        /* the version it speaks: 1 .. version */
    uint32_t frontend_features;       /* TERN_NETIF_FEATURE_* it uses (offered ones only) */
    uint32_t rx_ring_ref;             /* the rx ring's page */
    uint32_t frontend_reserved[34];   /* zero */
};

static inline void tern_netif_copy_control(struct tern_netif_control *copy,
                                           const volatile struct tern_netif_control *control)
{
    *copy = *control;
}

TERN_STATIC_ASSERT(sizeof(struct tern_netif_tx_request) == 12, "tern_netif_tx_request layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_tx_request, offset) == 4, "tx offset");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_tx_request, flags) == 6, "tx flags");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_tx_request, id) == 8, "tx id");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_tx_request, size) == 10, "tx size");
TERN_STATIC_ASSERT(sizeof(struct tern_netif_tx_response) == 4, "tern_netif_tx_response layout");
TERN_STATIC_ASSERT(sizeof(struct tern_netif_extra_info) == 8, "tern_netif_extra_info layout");
TERN_STATIC_ASSERT(sizeof(struct tern_netif_rx_request) == 8, "tern_netif_rx_request layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_rx_request, gref) == 4, "rx gref");
TERN_STATIC_ASSERT(sizeof(struct tern_netif_rx_response) == 8, "tern_netif_rx_response layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_rx_response, offset) == 2, "rx offset");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_rx_response, flags) == 4, "rx flags");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_rx_response, status) == 6, "rx status");
TERN_STATIC_ASSERT(sizeof(union tern_netif_tx_slot) == 12, "tx slot");
TERN_STATIC_ASSERT(sizeof(union tern_netif_rx_slot) == 8, "rx slot");
TERN_STATIC_ASSERT(sizeof(struct tern_ring_header) + TERN_NETIF_RING_ENTRIES * sizeof(union tern_netif_tx_slot)
                   <= TERN_NETIF_PAGE_SIZE, "256 tx slots fit a page");
TERN_STATIC_ASSERT(sizeof(struct tern_ring_header) + 2 * TERN_NETIF_RING_ENTRIES * sizeof(union tern_netif_tx_slot)
                   > TERN_NETIF_PAGE_SIZE, "512 tx slots would not");
TERN_STATIC_ASSERT(sizeof(struct tern_netif_control) == 256, "tern_netif_control layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_control, version) == 16, "netif version");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_control, mac) == 24, "netif mac");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_control, frontend_version) == 108, "netif frontend_version");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_netif_control, rx_ring_ref) == 116, "netif rx_ring_ref");

#endif /* TERN_NETIF_H */
