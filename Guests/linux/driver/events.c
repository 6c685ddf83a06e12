// SPDX-License-Identifier: GPL-2.0
/*
 * Event channels of a Linux guest (tern/event.h, docs/abi.md "Event
 * channels"), after drivers/xen/events: Tern's upcall arrives as a vector
 * of this guest's virtual LAPIC (TERN_UPCALL_VIA_VECTOR), taken from the
 * x86 vector domain like any device interrupt, so Linux sees a normal IRQ
 * ("tern-events" in /proc/interrupts) and acknowledges it with a LAPIC
 * EOI. The handler scans the event page the 2-level way and calls the
 * handler each port has. The attach also gives Tern the grant table, the
 * device page and the control pages (TERN_ATTACH_DEVICES, ABI 0.9).
 */
#define pr_fmt(fmt) "tern_guest: " fmt

#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/hw_irq.h>
#include <asm/irq_vectors.h>
#include <asm/irqdomain.h>

#include "internal.h"

struct tern_attached tern_attached;

struct tern_port_handler {
	tern_evtchn_handler_t fn;
	void *data;
};

/* Guards the handlers; held while one runs, so tern_evtchn_unbind()
 * returns only once its handler cannot run any more. */
static DEFINE_SPINLOCK(tern_handlers_lock);
static struct tern_port_handler tern_handlers[TERN_EVENT_PORTS];
static unsigned long tern_unhandled;

static irqreturn_t tern_upcall(int irq, void *unused)
{
	struct tern_event_page *ev = tern_attached.events;
	struct tern_event_vcpu *vcpu = &ev->vcpu[0];
	unsigned long sel, bits;
	unsigned int word, bit, port;
	struct tern_port_handler *h;

	/* Cleared before the scan (docs/abi.md): an event Tern sets during
	 * it sets the flag again, and Tern raises the vector again at our
	 * EOI while the flag is set, so nothing is missed. */
	WRITE_ONCE(vcpu->upcall_pending, 0);
	sel = xchg(&vcpu->pending_sel, 0);
	spin_lock(&tern_handlers_lock);
	while (sel) {
		word = __ffs(sel);
		sel &= sel - 1;
		bits = READ_ONCE(ev->pending[word]) & ~READ_ONCE(ev->mask[word]);
		while (bits) {
			bit = __ffs(bits);
			bits &= bits - 1;
			/* (u64 and unsigned long are one size on x86-64.) */
			clear_bit(bit, (unsigned long *)&ev->pending[word]);
			port = word * BITS_PER_LONG + bit;
			h = port < TERN_EVENT_PORTS ? &tern_handlers[port] : NULL;
			if (h && h->fn)
				h->fn(port, h->data);
			else
				tern_unhandled++;
		}
	}
	spin_unlock(&tern_handlers_lock);
	return IRQ_HANDLED;
}

static bool tern_port_valid(u32 port)
{
	return port != TERN_EVENT_PORT_INVALID && port < TERN_EVENT_PORTS;
}

void tern_evtchn_mask(u32 port)
{
	if (tern_port_valid(port))
		set_bit(port % BITS_PER_LONG, (unsigned long *)&tern_attached.events->mask[port / BITS_PER_LONG]);
}
EXPORT_SYMBOL_GPL(tern_evtchn_mask);

/* Tern clears the bit and, if the port is pending, raises the upcall
 * (a local clear would leave a pending event unannounced). */
void tern_evtchn_unmask(u32 port)
{
	long ret;

	if (!tern_port_valid(port))
		return;
	ret = tern_hypercall(TERN_HC_EVTCHN_UNMASK, port, 0, 0, 0, 0);
	if (ret < 0)
		pr_warn_ratelimited("unmasking port %u: %ld\n", port, ret);
}
EXPORT_SYMBOL_GPL(tern_evtchn_unmask);

int tern_evtchn_notify(u32 port)
{
	if (!tern_port_valid(port))
		return -EINVAL;
	return tern_errno(tern_hypercall(TERN_HC_EVTCHN_SEND, port, 0, 0, 0, 0));
}
EXPORT_SYMBOL_GPL(tern_evtchn_notify);

int tern_evtchn_state(u32 port)
{
	struct tern_evtchn_status *status;
	long ret;
	int state;

	if (!tern_port_valid(port))
		return -EINVAL;
	status = kzalloc(sizeof(*status), GFP_ATOMIC);
	if (!status)
		return -ENOMEM;
	ret = tern_hypercall(TERN_HC_EVTCHN_STATUS, port, __pa(status), 0, 0, 0);
	state = ret < 0 ? tern_errno(ret) : (int)status->state;
	kfree(status);
	return state;
}
EXPORT_SYMBOL_GPL(tern_evtchn_state);

int tern_evtchn_bind(u32 port, tern_evtchn_handler_t handler, void *data)
{
	unsigned long flags;
	int err = 0;

	if (!tern_port_valid(port) || !handler)
		return -EINVAL;
	spin_lock_irqsave(&tern_handlers_lock, flags);
	if (tern_handlers[port].fn) {
		err = -EBUSY;
	} else {
		tern_handlers[port].fn = handler;
		tern_handlers[port].data = data;
	}
	spin_unlock_irqrestore(&tern_handlers_lock, flags);
	if (!err)
		tern_evtchn_unmask(port);
	return err;
}
EXPORT_SYMBOL_GPL(tern_evtchn_bind);

void tern_evtchn_unbind(u32 port)
{
	unsigned long flags;

	if (!tern_port_valid(port))
		return;
	tern_evtchn_mask(port);
	spin_lock_irqsave(&tern_handlers_lock, flags);
	tern_handlers[port].fn = NULL;
	tern_handlers[port].data = NULL;
	spin_unlock_irqrestore(&tern_handlers_lock, flags);
}
EXPORT_SYMBOL_GPL(tern_evtchn_unbind);

int tern_evtchn_bind_virq(u32 virq, tern_evtchn_handler_t handler, void *data)
{
	long port;
	int err;

	if (virq >= TERN_VIRQ_COUNT)
		return -EINVAL;
	port = tern_hypercall(TERN_HC_EVTCHN_BIND_VIRQ, virq, 0, 0, 0, 0);
	if (port < 0)
		return tern_errno(port);
	if (!tern_port_valid(port))
		return -EIO;
	err = tern_evtchn_bind(port, handler, data);
	if (err) {
		tern_hypercall(TERN_HC_EVTCHN_CLOSE, port, 0, 0, 0, 0);
		return err;
	}
	return port;
}
EXPORT_SYMBOL_GPL(tern_evtchn_bind_virq);

void tern_evtchn_close(u32 port)
{
	long ret;

	if (!tern_port_valid(port))
		return;
	tern_evtchn_unbind(port);
	ret = tern_hypercall(TERN_HC_EVTCHN_CLOSE, port, 0, 0, 0, 0);
	if (ret < 0)
		pr_warn("closing port %u: %ld\n", port, ret);
}
EXPORT_SYMBOL_GPL(tern_evtchn_close);

/* --- The upcall's vector --------------------------------------------------- */

/*
 * An interrupt of the x86 vector domain (the root of x86's interrupt
 * hierarchy, whose chip acknowledges with a LAPIC EOI): Linux assigns it
 * a free vector when it is requested and routes that vector to it, which
 * is all a LAPIC fixed interrupt needs. No IOAPIC or MSI is involved, as
 * for Xen's HVM callback vector, but allocated at run time.
 */
static int tern_upcall_irq_alloc(void)
{
	struct irq_alloc_info info;
	struct irq_cfg *cfg;
	int irq, err;

	memset(&info, 0, sizeof(info));
	irq = __irq_domain_alloc_irqs(x86_vector_domain, -1, 1, NUMA_NO_NODE, &info, false, NULL);
	if (irq < 0)
		return irq;
	irq_set_handler(irq, handle_edge_irq);
	err = request_irq(irq, tern_upcall, 0, "tern-events", NULL);
	if (err) {
		irq_dispose_mapping(irq);
		return err;
	}
	cfg = irqd_cfg(irq_get_irq_data(irq));
	if (!cfg || cfg->vector < FIRST_EXTERNAL_VECTOR || cfg->vector >= FIRST_SYSTEM_VECTOR) {
		pr_err("IRQ %d got no usable vector (%u)\n", irq, cfg ? cfg->vector : 0);
		free_irq(irq, NULL);
		irq_dispose_mapping(irq);
		return -ENOSPC;
	}
	tern_attached.vector = cfg->vector;
	return irq;
}

static void tern_upcall_irq_free(void)
{
	free_irq(tern_attached.irq, NULL);
	irq_dispose_mapping(tern_attached.irq);
	tern_attached.irq = 0;
}

static void tern_pages_free(void)
{
	free_page((unsigned long)tern_attached.events);
	if (tern_attached.grants)
		free_pages((unsigned long)tern_attached.grants, get_order(TERN_GUEST_GRANT_PAGES * PAGE_SIZE));
	free_page((unsigned long)tern_attached.devices);
	if (tern_attached.control_pages)
		free_pages((unsigned long)tern_attached.control_pages, get_order(TERN_DEVICE_CONTROL_PAGES * PAGE_SIZE));
	tern_attached.events = NULL;
	tern_attached.grants = NULL;
	tern_attached.devices = NULL;
	tern_attached.control_pages = NULL;
}

int tern_events_attach(void)
{
	struct tern_attach *req;
	long ret;
	int err = -ENOMEM;

	BUILD_BUG_ON(TERN_GUEST_GRANT_ENTRIES * sizeof(struct tern_grant_entry) != TERN_GUEST_GRANT_PAGES * PAGE_SIZE);
	BUILD_BUG_ON(TERN_GUEST_GRANT_ENTRIES > TERN_GRANT_ENTRIES_MAX);
	tern_attached.events = (void *)get_zeroed_page(GFP_KERNEL);
	tern_attached.grants = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, get_order(TERN_GUEST_GRANT_PAGES * PAGE_SIZE));
	tern_attached.devices = (void *)get_zeroed_page(GFP_KERNEL);
	tern_attached.control_pages = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
							       get_order(TERN_DEVICE_CONTROL_PAGES * PAGE_SIZE));
	req = kzalloc(sizeof(*req), GFP_KERNEL);
	if (!tern_attached.events || !tern_attached.grants || !tern_attached.devices ||
	    !tern_attached.control_pages || !req)
		goto fail;
	tern_attached.grant_entries = TERN_GUEST_GRANT_ENTRIES;
	tern_attached.control_pages_gpa = __pa(tern_attached.control_pages);
	/* Requested first: an upcall right after the attach finds its handler. */
	err = tern_upcall_irq_alloc();
	if (err < 0) {
		pr_err("no interrupt vector for Tern's upcall: %d\n", err);
		goto fail;
	}
	tern_attached.irq = err;
	req->event_page_gpa = __pa(tern_attached.events);
	req->grant_table_gpa = __pa(tern_attached.grants);
	req->grant_entries = tern_attached.grant_entries;
	req->upcall_via = TERN_UPCALL_VIA_VECTOR;
	req->upcall_line = tern_attached.vector;
	req->flags = TERN_ATTACH_DEVICES;
	req->device_page_gpa = __pa(tern_attached.devices);
	req->control_pages_gpa = tern_attached.control_pages_gpa;
	ret = tern_hypercall(TERN_HC_ATTACH, __pa(req), 0, 0, 0, 0);
	if (ret < 0) {
		pr_err("TERN_HC_ATTACH failed: %ld\n", ret);
		err = tern_errno(ret);
		tern_upcall_irq_free();
		goto fail;
	}
	kfree(req);
	return 0;
fail:
	kfree(req);
	tern_pages_free();
	return err;
}

void tern_events_detach(void)
{
	struct tern_attach *req;
	long ret = -TERN_ENOMEM;

	if (!tern_attached.events)
		return;
	req = kzalloc(sizeof(*req), GFP_KERNEL); /* event_page_gpa 0: detach */
	if (req)
		ret = tern_hypercall(TERN_HC_ATTACH, __pa(req), 0, 0, 0, 0);
	kfree(req);
	if (ret < 0) {
		/* Tern may still write them and raise the vector: keep both. */
		pr_err("TERN_HC_ATTACH (detach) failed: %ld; its pages and vector are kept\n", ret);
		return;
	}
	tern_upcall_irq_free();
	if (tern_unhandled)
		pr_info("%lu events arrived on ports without a handler\n", tern_unhandled);
	tern_pages_free();
}
