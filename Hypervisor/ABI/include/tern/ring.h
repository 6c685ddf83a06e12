/*
 * Tern shared-memory I/O rings (docs/abi.md, "I/O rings"), with the
 * semantics of Xen's io/ring.h: one page shared by a frontend (requests)
 * and a backend (responses); a header of four free-running 32-bit indices
 * and then a power-of-two array of entries, each slot holding a request
 * until its response overwrites it.
 *
 *   req_prod   written by the frontend: requests produced so far
 *   req_event  written by the backend: notify me when req_prod passes this
 *   rsp_prod   written by the backend: responses produced so far
 *   rsp_event  written by the frontend: notify me when rsp_prod passes this
 *
 * Indices wrap at 2^32; slot = index & (entries - 1). Each side keeps its
 * own private consumer index; a peer's indices are never trusted (the Swift
 * library, Hypervisor/ABI/Ring, checks them before every access).
 */
#ifndef TERN_RING_H
#define TERN_RING_H

#include "abi.h"

struct tern_ring_header {
    uint32_t req_prod;   /* frontend */
    uint32_t req_event;  /* backend */
    uint32_t rsp_prod;   /* backend */
    uint32_t rsp_event;  /* frontend */
    uint8_t  pad[48];    /* entries start at byte 64 (a cache line) */
};
TERN_STATIC_ASSERT(sizeof(struct tern_ring_header) == 64, "tern_ring_header layout");

/*
 * Barriers. x86-64 keeps loads in order with loads and stores with stores
 * (APM vol. 2, 7.2), so read and write barriers only have to stop the
 * compiler; a store followed by a load of another location can pass it,
 * so the full barrier (used before deciding whether to notify) is MFENCE.
 */
static inline void tern_ring_wmb(void) { __asm__ __volatile__("" ::: "memory"); }
static inline void tern_ring_rmb(void) { __asm__ __volatile__("" ::: "memory"); }
static inline void tern_ring_mb(void) { __asm__ __volatile__("mfence" ::: "memory"); }

/* Volatile accesses, so that each index is read or written exactly once. */
static inline uint32_t tern_ring_load(const volatile uint32_t *p) { return *p; }
static inline void tern_ring_store(volatile uint32_t *p, uint32_t v) { *p = v; }

#endif /* TERN_RING_H */
