/*
 * Tern event channels (docs/abi.md, "Event channels"): Xen's 2-level
 * scheme. A port is a per-domain number; its pending and mask bits live
 * in the domain's event page (struct tern_event_page), which the guest
 * reads and writes directly. Tern sets a pending bit when the port is
 * signalled and, if the port is not masked and was not already pending,
 * sets the word's bit in pending_sel and upcall_pending and injects the
 * upcall vector (TERN_HC_SET_UPCALL) or wakes a vCPU blocked in
 * TERN_HC_BLOCK. A guest handling events:
 *   upcall_pending = 0; sel = xchg(pending_sel, 0);
 *   for each bit w in sel: bits = pending[w] & ~mask[w];
 *     for each bit b: clear pending bit (lock btr), handle port w*64+b
 * TERN_HC_BLOCK returns at once while upcall_pending is set.
 */
#ifndef TERN_EVENT_H
#define TERN_EVENT_H

#include "abi.h"

/* Ports 1..TERN_EVENT_PORTS-1 (port 0 is never allocated). The page has
 * room for 4096 ports (64 words of 64 bits); Tern hands out fewer. */
#define TERN_EVENT_PORTS       1024
#define TERN_EVENT_WORDS       64
#define TERN_EVENT_VCPUS_MAX   32
#define TERN_EVENT_PORT_INVALID 0

/* Virtual IRQs (TERN_HC_EVTCHN_BIND_VIRQ): events Tern itself raises. */
#define TERN_VIRQ_TIMER        0  /* the one-shot timer (TERN_HC_SET_TIMER) expired */
#define TERN_VIRQ_CONSOLE      1  /* privileged: Tern's log (TERN_HC_LOG_READ) has new bytes */
#define TERN_VIRQ_DOMAIN_DIED  2  /* privileged: a domain stopped (crash, shutdown) or was destroyed */
#define TERN_VIRQ_DEVICES      3  /* this domain's device page changed */
#define TERN_VIRQ_SHUTDOWN     4  /* ABI 0.8: the toolstack asks it to shut down; what it asks is
                                     tern_domain_info.shutdown_request (TERN_HC_DOMAIN_INFO of itself) */
#define TERN_VIRQ_COUNT        5

/* struct tern_evtchn_status.state */
#define TERN_EVTCHN_FREE         0  /* not allocated */
#define TERN_EVTCHN_UNBOUND      1  /* allocated for remote_domid to bind */
#define TERN_EVTCHN_INTERDOMAIN  2  /* connected to remote_domid's remote_port */
#define TERN_EVTCHN_VIRQ         3  /* bound to virtual IRQ `virq` */
#define TERN_EVTCHN_TERN         4  /* connected to a device Tern serves (the console) */
#define TERN_EVTCHN_PEER_CLOSED  5  /* the remote end closed or its domain died; close it */

struct tern_event_vcpu {
    uint64_t pending_sel;     /* IN/OUT: bit w: pending[w] may hold an unmasked event */
    uint8_t  upcall_pending;  /* IN/OUT: set by Tern, cleared by the guest */
    uint8_t  pad[7];
};

/* The event page: one 4 KiB page of the domain's own memory. */
struct tern_event_page {
    uint64_t pending[TERN_EVENT_WORDS];  /* IN/OUT: bit p = port p pending (Tern sets, guest clears) */
    uint64_t mask[TERN_EVENT_WORDS];     /* IN: bit p = port p masked (guest's; also TERN_HC_EVTCHN_MASK) */
    struct tern_event_vcpu vcpu[TERN_EVENT_VCPUS_MAX];
    uint8_t  reserved[4096 - 2 * 8 * TERN_EVENT_WORDS - 16 * TERN_EVENT_VCPUS_MAX];
};

struct tern_evtchn_status {
    uint32_t state;           /* OUT: TERN_EVTCHN_* */
    uint16_t remote_domid;    /* OUT: UNBOUND, INTERDOMAIN, PEER_CLOSED */
    uint16_t pad;             /* OUT: zero */
    uint32_t remote_port;     /* OUT: INTERDOMAIN */
    uint32_t virq;            /* OUT: VIRQ */
};

TERN_STATIC_ASSERT(sizeof(struct tern_event_vcpu) == 16, "tern_event_vcpu layout");
TERN_STATIC_ASSERT(sizeof(struct tern_event_page) == 4096, "tern_event_page layout");
TERN_STATIC_ASSERT(sizeof(struct tern_evtchn_status) == 16, "tern_evtchn_status layout");

#endif /* TERN_EVENT_H */
