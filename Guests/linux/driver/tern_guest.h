/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tern_guest.ko's API for frontends (docs/porting.md, "Linux guests"):
 * the guest core of a Linux guest of Tern, as drivers/xen's core is for
 * Xen's frontends. It attaches the guest's event page, grant table,
 * device page and control pages (TERN_HC_ATTACH with
 * TERN_ATTACH_DEVICES), takes the event upcall on a vector of the
 * guest's LAPIC, and runs a bus of the devices its device page lists.
 *
 *   event channels  a handler per port, called in interrupt context;
 *                   notify, mask, unmask
 *   grants          grant a page of this guest to one domain; end it
 *   bus             a driver per device type (TERN_DEVICE_*): probe when
 *                   an entry appears, remove when it goes or turns CLOSED
 */
#ifndef TERN_GUEST_H
#define TERN_GUEST_H

#include <linux/device.h>
#include <linux/types.h>

#include <tern/abi.h>
#include <tern/device.h>
#include <tern/event.h>
#include <tern/grant.h>

/* --- Event channels ------------------------------------------------------- */

/* Called with interrupts off, from the upcall: wake a waiter or queue
 * work; never sleep. */
typedef void (*tern_evtchn_handler_t)(u32 port, void *data);

/* Registers `handler` for `port` (one per port) and unmasks it; an event
 * already pending is delivered. -EINVAL a bad port, -EBUSY one taken. */
int tern_evtchn_bind(u32 port, tern_evtchn_handler_t handler, void *data);
/* Masks `port` and forgets its handler; once it returns the handler is not
 * running and will not run. The port stays open. */
void tern_evtchn_unbind(u32 port);
/* Binds virtual IRQ `virq` (TERN_VIRQ_*) to a new port with `handler`;
 * the port, or a negative errno. tern_evtchn_close() ends it. */
int tern_evtchn_bind_virq(u32 virq, tern_evtchn_handler_t handler, void *data);
/* Unbinds and closes the port (TERN_HC_EVTCHN_CLOSE). */
void tern_evtchn_close(u32 port);
int tern_evtchn_notify(u32 port);
void tern_evtchn_mask(u32 port);
void tern_evtchn_unmask(u32 port);
/* TERN_HC_EVTCHN_STATUS: TERN_EVTCHN_*, or a negative errno. */
int tern_evtchn_state(u32 port);

/* --- Grants --------------------------------------------------------------- */

/* Grants the page at `page` (a page of this guest's memory) to `domid`:
 * the grant ref, or -ENOSPC. */
int tern_grant_page(u16 domid, struct page *page, bool readonly);
/* Ends a grant: no new mapping of it can be made. 0 when the ref is free
 * again; -EBUSY while the grantee still maps it (the grant is revoked but
 * the ref and the page stay; call again later, and never reuse the page
 * before 0). */
int tern_grant_end(u32 ref);

/* --- The bus -------------------------------------------------------------- */

/* One entry of this guest's device page, as a frontend sees it. */
struct tern_device {
	struct device dev;
	u16 type;                 /* TERN_DEVICE_* */
	u16 devid;
	u16 backend;              /* domid */
	u32 port;                 /* this guest's event channel to the backend */
	u32 control_ref;          /* the control page's grant ref (Tern's) */
	u32 instance;             /* the entry's TERN_DEVICE_INSTANCE_* bits (ABI 0.12) */
	void *control;            /* the control page (struct tern_device_control first) */
	void *driver_data;
	struct list_head link;    /* the bus's */
};

struct tern_driver {
	u16 type;                 /* TERN_DEVICE_* it serves */
	int (*probe)(struct tern_device *tdev);
	void (*remove)(struct tern_device *tdev);
	struct device_driver driver;
};

#define to_tern_device(d) container_of(d, struct tern_device, dev)
#define to_tern_driver(d) container_of(d, struct tern_driver, driver)

int __tern_driver_register(struct tern_driver *drv, struct module *owner);
#define tern_driver_register(drv) __tern_driver_register(drv, THIS_MODULE)
void tern_driver_unregister(struct tern_driver *drv);

#endif /* TERN_GUEST_H */
