/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tern_guest.ko's parts and what they share:
 *
 *   main.c    detection (CPUID), load and unload in order
 *   events.c  the upcall vector, TERN_HC_ATTACH, the event page's scan and
 *             the per-port handlers
 *   grants.c  the grant table's refs
 *   bus.c     the device page, read as a sequence lock, as a Linux bus
 *   power.c   poweroff, reboot and panic as TERN_HC_SHUTDOWN;
 *             TERN_VIRQ_SHUTDOWN as an orderly poweroff or reboot
 *
 * Pointers passed to Tern are guest-physical: __pa() of kmalloc'd memory
 * or whole pages (never the stack, which is vmalloc'd).
 */
#ifndef TERN_GUEST_INTERNAL_H
#define TERN_GUEST_INTERNAL_H

#include <tern/control.h>

#include "tern_guest.h"

/* A negative hypercall result as a Linux errno (Tern uses the same numbers). */
static inline int tern_errno(long ret)
{
	if (ret >= 0)
		return 0;
	return ret < -MAX_ERRNO ? -EIO : (int)ret;
}

/* The guest's grant table: 8 pages, 4096 entries (TERN_GRANT_ENTRIES_MAX,
 * the ABI's most). A disk with persistent grants keeps 1057 refs (its
 * ring, and 32 requests of 32 pages and an indirect page: blkfront's
 * max_indirect_segments), so three disks keep their full queues. */
#define TERN_GUEST_GRANT_PAGES   8
#define TERN_GUEST_GRANT_ENTRIES (TERN_GUEST_GRANT_PAGES * TERN_GRANT_ENTRIES_DEFAULT)

/* What the attach gave Tern, for the parts that use it. */
struct tern_attached {
	struct tern_event_page *events;
	struct tern_grant_entry *grants;
	u32 grant_entries;
	struct tern_device_page *devices;  /* Tern writes, we read */
	void *control_pages;               /* TERN_DEVICE_CONTROL_PAGES pages */
	u64 control_pages_gpa;
	int irq;
	u8 vector;
};
extern struct tern_attached tern_attached;
extern u16 tern_domid;

int tern_events_attach(void);
void tern_events_detach(void);
int tern_grants_init(void);
int tern_bus_init(void);
void tern_bus_exit(void);
int tern_power_init(void);
void tern_power_exit(void);

#endif /* TERN_GUEST_INTERNAL_H */
