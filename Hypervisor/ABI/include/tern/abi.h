/*
 * Tern public ABI, version 0.5 — the one definition shared by the hypervisor,
 * the Dom0 driver (tern.ko), the Swift toolstack and guests.
 *
 * Rules (as Xen's public headers): fixed-width types only, explicit padding,
 * every struct's size fixed and checked below, fields marked IN (caller to
 * Tern) or OUT (Tern to caller). Numbers are never reused; new calls and
 * fields get new numbers and versions. Documented in docs/abi.md.
 */
#ifndef TERN_ABI_H
#define TERN_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>   /* Dom0's tern.ko: uint32_t and friends */
#else
#include <stdint.h>
#endif

#define TERN_ABI_MAJOR 0
#define TERN_ABI_MINOR 12
/* (TERN_ABI_MAJOR << 16) | TERN_ABI_MINOR, spelled out so Swift imports it. */
#define TERN_ABI_VERSION 0x0000000C

/*
 * CPUID leaf 0x40000000 (the hypervisor range): EAX = highest Tern leaf,
 * EBX:ECX:EDX = "TernTernTern". Leaf 0x40000001: EAX = TERN_ABI_VERSION.
 * (Leaf 1 ECX bit 31, "hypervisor present", is set; SVM is hidden.)
 */
#define TERN_CPUID_LEAF_BASE     0x40000000u
#define TERN_CPUID_LEAF_VERSION  0x40000001u
#define TERN_CPUID_SIGNATURE 0x6e726554u /* "Tern" in EBX, ECX and EDX */

/*
 * Hypercalls: VMMCALL with RAX = number; arguments in RDI, RSI, RDX, R10,
 * R8 (the Linux syscall order, R10 for RCX which VMMCALL leaves alone but
 * syscall-style stubs clobber); result in RAX: >= 0 success, < 0 a
 * negated TERN_E* error. Other registers are preserved.
 * Pointers are guest-physical addresses (a Tern PV guest starts
 * identity-mapped, so its pointers are already guest-physical); every
 * pointer is checked to lie wholly inside the caller's own memory.
 */
#define TERN_HC_VERSION        0  /* () -> TERN_ABI_VERSION */
#define TERN_HC_CONSOLE_WRITE  1  /* (IN gpa buf, IN u64 len) -> bytes written */
#define TERN_HC_YIELD          2  /* () -> 0: give up the CPU */
#define TERN_HC_BLOCK          3  /* () -> 0: sleep until an upcall is pending */
#define TERN_HC_SHUTDOWN       4  /* (IN u64 reason) -> does not return */
#define TERN_HC_SET_TIMER      5  /* (IN u64 deadline_ns) -> 0; 0 cancels */
#define TERN_HC_TIME_INFO      6  /* (OUT gpa struct tern_time_info) -> 0 */
#define TERN_HC_DOMAIN_INFO    7  /* (IN u64 domid, OUT gpa struct tern_domain_info) -> 0 */
#define TERN_HC_SET_UPCALL     8  /* (IN u64 vector 32..255, 0 = none) -> 0 */
/* Privileged (Dom0 only; -EPERM for any other domain): */
#define TERN_HC_DOMAIN_LIST    9  /* (IN u64 first_domid, OUT gpa struct tern_domain_info[max],
                                      IN u64 max <= TERN_DOMAIN_LIST_MAX) -> entries written:
                                      the domains with id >= first_domid, in id order */
#define TERN_HC_LOG_READ      10  /* (IN/OUT gpa struct tern_log_read) -> bytes copied */
/* Event channels (tern/event.h; ABI 0.3). Ports are the caller's own. */
#define TERN_HC_EVTCHN_ALLOC_UNBOUND    11  /* (IN u64 remote_domid) -> new port, for remote to bind */
#define TERN_HC_EVTCHN_BIND_INTERDOMAIN 12  /* (IN u64 remote_domid, IN u64 remote_port) -> local port */
#define TERN_HC_EVTCHN_BIND_VIRQ        13  /* (IN u64 virq) -> port */
#define TERN_HC_EVTCHN_SEND             14  /* (IN u64 port) -> 0 */
#define TERN_HC_EVTCHN_CLOSE            15  /* (IN u64 port) -> 0 */
#define TERN_HC_EVTCHN_MASK             16  /* (IN u64 port) -> 0 */
#define TERN_HC_EVTCHN_UNMASK           17  /* (IN u64 port) -> 0; re-raises the upcall if pending */
#define TERN_HC_EVTCHN_STATUS           18  /* (IN u64 port, OUT gpa struct tern_evtchn_status) -> 0 */
/* Grant tables (tern/grant.h; ABI 0.3). */
#define TERN_HC_GRANT_MAP               19  /* (IN u64 granter_domid, IN u64 ref, IN u64 gpa, IN u64 flags)
                                               -> handle; gpa is a page of the caller's grant window */
#define TERN_HC_GRANT_UNMAP             20  /* (IN u64 handle) -> 0 */
#define TERN_HC_GRANT_COPY              21  /* (IN/OUT gpa struct tern_grant_copy[count], IN u64 count
                                               <= TERN_GRANT_COPY_MAX) -> 0; each op has its status */
#define TERN_HC_GRANT_TABLE_QUERY       22  /* (OUT gpa struct tern_grant_table_info) -> 0 */
#define TERN_HC_GRANT_TABLE_SETUP       23  /* (IN u64 gpa, IN u64 entries) -> 0: move the table */
/* Shared pages and devices (tern/device.h; ABI 0.3). */
#define TERN_HC_SHARED_LAYOUT           24  /* (OUT gpa struct tern_shared_layout) -> 0 */
#define TERN_HC_DEVICE_ADD              25  /* privileged: (IN gpa struct tern_device_add) -> 0 */
#define TERN_HC_DEVICE_REMOVE           26  /* privileged: (IN u64 frontend, IN u64 type, IN u64 devid) -> 0 */
/* Domain control, the toolstack's (tern/control.h; ABI 0.4). Privileged. */
#define TERN_HC_DOMAIN_CREATE           27  /* (IN/OUT gpa struct tern_domain_create) -> domid */
#define TERN_HC_DOMAIN_CONTROL          28  /* (IN u64 domid, IN u64 TERN_DOMCTL_*, IN u64 value) -> 0 */
#define TERN_HC_DOMAIN_PREPARE          29  /* (IN u64 memory_bytes, IN u64 count) -> shells now in the pool */
#define TERN_HC_SYSTEM_INFO             30  /* (OUT gpa struct tern_system_info) -> 0 */
/* A Linux's own event page, grant table and upcall (tern/control.h; ABI
 * 0.5 for Dom0 as TERN_HC_DOM0_ATTACH, any domain with an interrupt
 * controller since 0.7). */
#define TERN_HC_ATTACH                  31  /* (IN/OUT gpa struct tern_attach) -> 0 */
#define TERN_HC_CONSOLE_INPUT           32  /* privileged: (IN u64 domid, IN gpa bytes, IN u64 len
                                               <= TERN_CONSOLE_IN_SIZE) -> bytes put in the guest's
                                               console `in` ring (0: full) (tern/device.h) */
/* Grant mappings in batches (tern/grant.h; ABI 0.6). */
#define TERN_HC_GRANT_MAP_BATCH         33  /* (IN/OUT gpa struct tern_grant_map_op[count], IN u64 count
                                               <= TERN_GRANT_BATCH_MAX) -> count; each op's status */
#define TERN_HC_GRANT_UNMAP_BATCH       34  /* (IN/OUT gpa struct tern_grant_unmap_op[count], IN u64 count
                                               <= TERN_GRANT_BATCH_MAX) -> count; each op's status */
#define TERN_HC_COUNT                   35

/*
 * The calling convention above, for guests and Dom0's driver alike (the
 * hypervisor never calls it): VMMCALL with RAX = number; RDI, RSI, RDX,
 * R10, R8 = arguments; RAX = result. Tern preserves every other register.
 */
static inline int64_t tern_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
    register uint64_t r10 __asm__("r10") = a3;
    register uint64_t r8 __asm__("r8") = a4;
    int64_t result;
    __asm__ __volatile__("vmmcall"
                         : "=a"(result)
                         : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8)
                         : "memory");
    return result;
}

/* Errors, as negative return values (same numbers as Linux errno). */
#define TERN_EPERM    1
#define TERN_ENOENT   2
#define TERN_EIO      5   /* (the guest SDK's: a device answered with an error) */
#define TERN_ENOEXEC  8
#define TERN_EAGAIN  11
#define TERN_ENOMEM  12
#define TERN_EFAULT  14
#define TERN_EBUSY   16
#define TERN_EEXIST  17
#define TERN_EINVAL  22
#define TERN_ENOSPC  28
#define TERN_ENOSYS  38
#define TERN_ENOTCONN 107

/* TERN_HC_SHUTDOWN reasons. */
#define TERN_SHUTDOWN_POWEROFF 0
#define TERN_SHUTDOWN_REBOOT   1
#define TERN_SHUTDOWN_CRASH    2

/* TERN_HC_DOMAIN_INFO: the calling domain. */
#define TERN_DOMID_SELF 0x7FF0u
/* A device's backend when Tern itself serves it (the console, for now). */
#define TERN_DOMID_TERN 0x7FF1u

/* Domain states (struct tern_domain_info.state). */
#define TERN_DOMAIN_CREATED   0
#define TERN_DOMAIN_PAUSED    1
#define TERN_DOMAIN_RUNNING   2
#define TERN_DOMAIN_BLOCKED   3
#define TERN_DOMAIN_SHUTDOWN  4
#define TERN_DOMAIN_CRASHED   5
#define TERN_DOMAIN_DYING     6
#define TERN_DOMAIN_DEAD      7

/* Domain flags (struct tern_domain_info.flags). */
#define TERN_DOMAIN_FLAG_PRIVILEGED (1u << 0)

/* OUT of TERN_HC_TIME_INFO: system time is ns since Tern booted;
 * at any moment, now_ns = system_time_ns + (rdtsc - tsc_stamp) * 1e9 / tsc_hz
 * (guests read the TSC directly; RDTSC is not intercepted). */
struct tern_time_info {
    uint64_t tsc_hz;          /* OUT */
    uint64_t system_time_ns;  /* OUT: system time at tsc_stamp */
    uint64_t tsc_stamp;       /* OUT */
    uint64_t reserved;        /* OUT: zero */
};

/* struct tern_domain_info.stop_reason (ABI 0.8): why a stopped domain
 * (TERN_DOMAIN_SHUTDOWN, _CRASHED) stopped. */
#define TERN_STOP_NONE          0  /* it has not stopped */
#define TERN_STOP_POWEROFF      1  /* TERN_HC_SHUTDOWN(POWEROFF), or the toolstack's TERN_DOMCTL_SHUTDOWN */
#define TERN_STOP_REBOOT        2  /* TERN_HC_SHUTDOWN(REBOOT) */
#define TERN_STOP_CRASH         3  /* TERN_HC_SHUTDOWN(CRASH): the guest reported its own crash */
#define TERN_STOP_TRIPLE_FAULT  4  /* crashed: a triple fault */
#define TERN_STOP_BAD_ACCESS    5  /* crashed: it touched memory outside its own */
#define TERN_STOP_BAD_STATE     6  /* crashed: VMRUN refused its state */
#define TERN_STOP_BAD_EXIT      7  /* crashed: an exit Tern does not handle */

/* struct tern_domain_info.shutdown_request (ABI 0.8): what the toolstack
 * asked of the domain (TERN_DOMCTL_REQUEST_*); see TERN_VIRQ_SHUTDOWN. */
#define TERN_SHUTDOWN_REQUEST_NONE     0
#define TERN_SHUTDOWN_REQUEST_POWEROFF 1
#define TERN_SHUTDOWN_REQUEST_REBOOT   2

struct tern_domain_info {
    uint32_t domid;           /* OUT */
    uint32_t state;           /* OUT: TERN_DOMAIN_* */
    uint32_t flags;           /* OUT: TERN_DOMAIN_FLAG_* */
    uint32_t vcpus;           /* OUT */
    uint64_t memory_bytes;    /* OUT */
    uint64_t cpu_time_ns;     /* OUT: time its vCPUs ran */
    char     name[32];        /* OUT: NUL-padded */
    /* ABI 0.8: */
    uint32_t weight;          /* OUT: scheduler weight */
    uint32_t stop_reason;     /* OUT: TERN_STOP_* */
    uint64_t created_ns;      /* OUT: system time it was created; with the id it names one instance */
    uint64_t stopped_ns;      /* OUT: system time it stopped; 0 while it has not */
    uint32_t shutdown_request;/* OUT: TERN_SHUTDOWN_REQUEST_* pending for it */
    uint32_t reserved;        /* OUT: zero */
};

/* TERN_HC_DOMAIN_LIST: most entries per call (bounds one call's cost). */
#define TERN_DOMAIN_LIST_MAX 64

/*
 * TERN_HC_LOG_READ: Tern keeps the last TERN_LOG_RING_SIZE bytes of its
 * console (its own log and the DomUs' console lines, not Dom0's) in a
 * ring. Positions count bytes written since boot, so a reader resumes where
 * it stopped and learns how much it missed. A call copies at most
 * min(size, TERN_LOG_READ_MAX) bytes.
 */
#define TERN_LOG_RING_SIZE 65536
#define TERN_LOG_READ_MAX  4096

struct tern_log_read {
    uint64_t buffer_gpa;      /* IN: where the bytes go (the caller's memory) */
    uint32_t size;            /* IN: bytes available at buffer_gpa */
    uint32_t reserved;        /* IN: zero */
    uint64_t position;        /* IN: first byte wanted; OUT: after the last byte copied */
    uint64_t lost;            /* OUT: bytes from IN position that were overwritten */
    uint64_t end;             /* OUT: position of the next byte Tern will write */
};

/*
 * The start-info page, at the guest-physical address in RDI when a PV
 * guest's first instruction runs. Entry state: 64-bit long mode, CPL 0,
 * paging on with all guest memory identity-mapped (2 MiB pages, page tables
 * near the top of guest memory, listed below), interrupts off, RSP at the
 * top of a small boot stack below the start-info page.
 */
/* struct tern_start_info.console: how this domain's console works (bits). */
#define TERN_CONSOLE_HYPERCALL 1 /* write with TERN_HC_CONSOLE_WRITE (early, debug) */
#define TERN_CONSOLE_DEVICE    2 /* a console ring in the device page (tern/device.h) */

/*
 * Where a domain's shared pages are (TERN_HC_SHARED_LAYOUT; also in the
 * start-info page). A DomU's guest-physical space:
 *   [0, memory_bytes)          its RAM; Tern's pages at the top (start info,
 *                              GDT, stack, page tables, event page, grant
 *                              table, device control pages), the image below
 *   [memory_bytes, +2 MiB)     Tern's area: the device page (read-only),
 *                              then the grant window, where TERN_HC_GRANT_MAP
 *                              maps other domains' granted frames
 * Tern's identity map at start of day covers both.
 */
struct tern_shared_layout {
    uint64_t event_page_gpa;      /* OUT: struct tern_event_page (read-write) */
    uint64_t grant_table_gpa;     /* OUT: struct tern_grant_entry[grant_entries] (read-write) */
    uint32_t grant_entries;       /* OUT */
    uint32_t grant_window_frames; /* OUT: pages in the grant window */
    uint64_t grant_window_gpa;    /* OUT: first page of the grant window */
    uint64_t device_page_gpa;     /* OUT: struct tern_device_page (read-only) */
    uint64_t control_pages_gpa;   /* OUT: TERN_DEVICE_CONTROL_PAGES pages, one per frontend slot */
};

#define TERN_START_INFO_MAGIC 0x5452545349524554ull /* "TERNSTRT" little-endian */

struct tern_start_info {
    uint64_t magic;            /* OUT: TERN_START_INFO_MAGIC */
    uint32_t abi_version;      /* OUT: TERN_ABI_VERSION */
    uint32_t domid;            /* OUT */
    uint64_t memory_bytes;     /* OUT: guest-physical memory is [0, memory_bytes) */
    uint64_t page_tables_gpa;  /* OUT: Tern-built tables [gpa, gpa + size) */
    uint64_t page_tables_size; /* OUT */
    uint64_t free_gpa;         /* OUT: first byte after the loaded image */
    uint32_t console;          /* OUT: TERN_CONSOLE_* */
    uint32_t reserved0;        /* OUT: zero */
    uint64_t reserved1;        /* OUT: zero */
    char     cmdline[192];     /* OUT: NUL-terminated */
    struct tern_shared_layout shared; /* OUT: ABI 0.3 */
    uint64_t reserved2[2];     /* OUT: zero */
};

#ifdef __cplusplus
#define TERN_STATIC_ASSERT static_assert
#else
#define TERN_STATIC_ASSERT _Static_assert
#endif
TERN_STATIC_ASSERT(TERN_ABI_VERSION == ((TERN_ABI_MAJOR << 16) | TERN_ABI_MINOR), "version");
TERN_STATIC_ASSERT(sizeof(struct tern_time_info) == 32, "tern_time_info layout");
TERN_STATIC_ASSERT(sizeof(struct tern_domain_info) == 96, "tern_domain_info layout");
TERN_STATIC_ASSERT(sizeof(struct tern_shared_layout) == 48, "tern_shared_layout layout");
TERN_STATIC_ASSERT(sizeof(struct tern_start_info) == 320, "tern_start_info layout");
TERN_STATIC_ASSERT(sizeof(struct tern_log_read) == 40, "tern_log_read layout");

#endif /* TERN_ABI_H */
