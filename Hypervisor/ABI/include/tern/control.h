/*
 * Tern domain control (docs/abi.md, "Domain control"): what the Dom0
 * toolstack asks of Tern. All calls are privileged (-EPERM otherwise).
 *
 * TERN_HC_DOMAIN_CREATE builds a domain from an ELF image in Dom0's
 * memory, given as a list of Dom0 frames (the image need not be
 * physically contiguous), in one call: on any failure nothing of it is
 * left. The image says what kind of guest it is (ABI 0.9): one with a
 * PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, as Linux's vmlinux has) is
 * built as a Linux guest (TERN_KIND_LINUX: RAM at 0, its ramdisk, a
 * virtual LAPIC, 8259 pair and UART, entered at the PVH entry; docs/
 * porting.md, "Linux guests"); any other as a PV guest (TERN_KIND_PV). It starts paused unless TERN_CREATE_START is set. With
 * TERN_CREATE_FROM_POOL, a shell prepared by TERN_HC_DOMAIN_PREPARE (memory
 * taken, zeroed and mapped) is used when one of that size is ready, so
 * the call only loads the image (LightVM's split toolstack).
 */
#ifndef TERN_CONTROL_H
#define TERN_CONTROL_H

#include "abi.h"

#define TERN_IMAGE_FRAMES_MAX 16384 /* an image (and, apart, a ramdisk) of at most 64 MiB (ABI 0.8; 2 MiB before) */
#define TERN_CMDLINE_MAX      1024  /* tern_domain_create.cmdline with its NUL (ABI 0.9; 192 before) */
#define TERN_PV_CMDLINE_MAX   192   /* what a PV guest's start info holds (tern_start_info.cmdline) */
#define TERN_DOMAINS_MAX      256   /* domain ids 0..255 */

/* struct tern_domain_create.flags */
#define TERN_CREATE_START     (1u << 0)  /* unpause once built */
#define TERN_CREATE_FROM_POOL (1u << 1)  /* use a prepared shell if one fits */
/* ABI 0.8: when it stops this way, Tern keeps it (state, reason, memory;
 * its ports close) until TERN_DOMCTL_DESTROY, instead of destroying it at
 * once; Dom0 gets TERN_VIRQ_DOMAIN_DIED either way. The toolstack's
 * on_poweroff / on_reboot / on_crash = "preserve" or "restart". */
#define TERN_CREATE_KEEP_ON_POWEROFF (1u << 2)
#define TERN_CREATE_KEEP_ON_REBOOT   (1u << 3)
#define TERN_CREATE_KEEP_ON_CRASH    (1u << 4)  /* any crash: TERN_STOP_CRASH and the faults */
/* ABI 0.8: its console lines also go to Tern's serial port. Without it they
 * go only to Tern's log (TERN_HC_LOG_READ: `tern console`, `tern dmesg`,
 * the toolstack's logs), as a DomU's console is its own under xl; guests
 * from boot modules always write to the serial port too. */
#define TERN_CREATE_CONSOLE_TO_SERIAL (1u << 5)

/* struct tern_domain_create.kind (ABI 0.9): what Tern built, told by the image */
#define TERN_KIND_PV    1       /* a PV guest (Guests/Runtime): start info, event page, device page */
#define TERN_KIND_LINUX 2       /* a PVH kernel (Linux): RAM at 0, emulated LAPIC, 8259 pair, UART */

struct tern_domain_create {
    char     name[32];          /* IN: 1-31 of [A-Za-z0-9._-], NUL-padded, unique */
    uint64_t memory_bytes;      /* IN: 2 MiB steps, 2 MiB to 64 GiB (a Linux guest: at most 3 GiB) */
    uint64_t image_frames_gpa;  /* IN: gpa of uint64_t[image_frame_count], each a Dom0 frame's gpa */
    uint64_t image_bytes;       /* IN */
    uint32_t image_frame_count; /* IN: (image_bytes + 4095) / 4096, <= TERN_IMAGE_FRAMES_MAX */
    uint32_t weight;            /* IN: scheduler weight, 0 = default */
    uint32_t flags;             /* IN: TERN_CREATE_* */
    uint32_t domid;             /* OUT */
    uint64_t build_ns;          /* OUT: time Tern spent building it */
    uint32_t from_pool;         /* OUT: 1 if a prepared shell was used */
    uint32_t kind;              /* OUT: TERN_KIND_* (ABI 0.9; IN: zero) */
    /* ABI 0.9: a Linux guest's initramfs (its PVH start info's module);
     * a PV guest takes none (ramdisk_bytes 0). */
    uint64_t ramdisk_frames_gpa;/* IN: like image_frames_gpa; 0 with no ramdisk */
    uint64_t ramdisk_bytes;     /* IN: 0 = none */
    uint32_t ramdisk_frame_count; /* IN: (ramdisk_bytes + 4095) / 4096, <= TERN_IMAGE_FRAMES_MAX */
    uint32_t reserved;          /* IN: zero */
    char     cmdline[TERN_CMDLINE_MAX]; /* IN: NUL-terminated; a PV guest's < TERN_PV_CMDLINE_MAX */
};

/* TERN_HC_DOMAIN_CONTROL operations */
#define TERN_DOMCTL_PAUSE     1
#define TERN_DOMCTL_UNPAUSE   2
#define TERN_DOMCTL_SHUTDOWN  3  /* stop it now as if it powered off (kept if KEEP_ON_POWEROFF) */
#define TERN_DOMCTL_DESTROY   4  /* stop it and return its memory (kept while others map its grants);
                                    also ends a stopped domain Tern kept */
/* ABI 0.8: */
#define TERN_DOMCTL_REQUEST_POWEROFF 5  /* ask it to power off: TERN_VIRQ_SHUTDOWN; -ENOTCONN if it
                                           has not bound that VIRQ (it would not hear) */
#define TERN_DOMCTL_REQUEST_REBOOT   6  /* ask it to reboot, likewise */
#define TERN_DOMCTL_SET_WEIGHT       7  /* value: its scheduler weight, 1-65535 */

/* TERN_HC_DOMAIN_PREPARE (ABI 0.8): (IN u64 memory_bytes, IN u64 count)
 * makes `count` the pool's target for that size: shells are prepared now
 * up to it, and again in the background (when no vCPU wants the CPU)
 * after creates take them; count 0 releases that size's shells. At most
 * TERN_POOL_SIZES_MAX sizes (-ENOSPC for another), TERN_DOMAINS_MAX
 * shells in all. Returns the shells of that size ready now. */
#define TERN_POOL_SIZES_MAX 4

struct tern_pool_size {
    uint64_t memory_bytes;      /* OUT: 0 = unused slot */
    uint32_t ready;             /* OUT: shells of this size ready now */
    uint32_t target;            /* OUT: what TERN_HC_DOMAIN_PREPARE asked for */
};

struct tern_system_info {
    uint32_t abi_version;       /* OUT */
    uint32_t domains;           /* OUT: domains that exist (any state) */
    uint32_t max_domains;       /* OUT */
    uint32_t pool_shells;       /* OUT: prepared shells ready */
    uint64_t total_frames;      /* OUT: 4 KiB frames Tern manages */
    uint64_t free_frames;       /* OUT: free now (pool shells count as used) */
    uint64_t tsc_hz;            /* OUT */
    uint64_t uptime_ns;         /* OUT */
    /* ABI 0.8: */
    uint64_t pool_bytes;        /* OUT: memory the prepared shells hold (counted as used) */
    struct tern_pool_size pool[TERN_POOL_SIZES_MAX]; /* OUT */
    uint64_t reserved;          /* OUT: zero */
};

/*
 * TERN_HC_ATTACH (ABI 0.7; 0.5-0.6 had it for Dom0 only, as
 * TERN_HC_DOM0_ATTACH with an IRQ): a Linux is built with no event page
 * and no grant table (it knows nothing of them); its driver gives Tern
 * pages of its own RAM for both and names how the upcall reaches it: an
 * ISA IRQ (an interrupt line no device of the machine uses, for a domain
 * that programs the machine's interrupt controllers: Dom0), which Tern
 * raises with the vector the domain programmed on it, or a vector of its
 * virtual LAPIC (a domain built with one). Tern holds that interrupt up
 * while upcall_pending is set in the event page. It answers with the
 * caller's grant window: guest-physical pages where TERN_HC_GRANT_MAP puts
 * its mappings (0 frames: it has none). From then on the event-channel
 * and grant calls work for it as for any domain. event_page_gpa = 0
 * detaches: its ports close (peers see PEER_CLOSED), its mappings go, and
 * the pages are its own again. A domain built with an event page (a PV
 * guest) cannot attach another.
 *
 * ABI 0.9: with TERN_ATTACH_DEVICES in `flags`, the request is the whole
 * struct (64 bytes; without it Tern reads and writes only the first
 * TERN_ATTACH_SIZE_0_7) and also gives Tern a page for the caller's
 * device page and TERN_DEVICE_CONTROL_PAGES pages for its devices'
 * control pages (tern/device.h), from its own RAM: a Linux guest's core
 * module, which a builder gave neither. Tern writes the device page (the
 * guest only reads it, as a sequence lock) and the control pages it hands
 * out; slot 0 stays the console's (a Linux guest has its UART instead:
 * page 0 is unused). Detaching stops Tern using both.
 */
#define TERN_UPCALL_VIA_ISA_IRQ 1       /* upcall_line: IRQ 3, 5 or 7 */
#define TERN_UPCALL_VIA_VECTOR  2       /* upcall_line: a vector, 32-255 */
#define TERN_DOM0_UPCALL_IRQ_DEFAULT 5  /* free on PC-compatible machines (QEMU's too) */

/* struct tern_attach.flags (ABI 0.9; the field was reserved0, zero, before) */
#define TERN_ATTACH_DEVICES     (1u << 0)  /* device_page_gpa and control_pages_gpa are given */
#define TERN_ATTACH_SIZE_0_7    48         /* the request's bytes without TERN_ATTACH_DEVICES */

struct tern_attach {
    uint64_t event_page_gpa;      /* IN: a zeroed page of the caller's RAM; 0 = detach */
    uint64_t grant_table_gpa;     /* IN: page-aligned RAM, grant_entries entries */
    uint32_t grant_entries;       /* IN: TERN_GRANT_ENTRIES_DEFAULT..MAX, whole pages */
    uint32_t upcall_via;          /* IN: TERN_UPCALL_VIA_* */
    uint32_t upcall_line;         /* IN: the IRQ or the vector */
    uint32_t flags;               /* IN: TERN_ATTACH_* (ABI 0.9; zero before) */
    uint64_t grant_window_gpa;    /* OUT: 0 with no window */
    uint32_t grant_window_frames; /* OUT */
    uint32_t reserved1;           /* IN: zero */
    /* ABI 0.9, read only with TERN_ATTACH_DEVICES: */
    uint64_t device_page_gpa;     /* IN: a page of the caller's RAM for its device page */
    uint64_t control_pages_gpa;   /* IN: TERN_DEVICE_CONTROL_PAGES pages of its RAM, one per frontend slot */
};

TERN_STATIC_ASSERT(sizeof(struct tern_attach) == 64, "tern_attach layout");
TERN_STATIC_ASSERT(__builtin_offsetof(struct tern_attach, device_page_gpa) == TERN_ATTACH_SIZE_0_7, "tern_attach 0.7 head");
TERN_STATIC_ASSERT(sizeof(struct tern_domain_create) == 1136, "tern_domain_create layout");
TERN_STATIC_ASSERT(sizeof(struct tern_pool_size) == 16, "tern_pool_size layout");
TERN_STATIC_ASSERT(sizeof(struct tern_system_info) == 128, "tern_system_info layout");

#endif /* TERN_CONTROL_H */
