// SPDX-License-Identifier: GPL-2.0
/*
 * Dom0's event channels (tern/event.h, tern/ioctl.h). Linux has no notion
 * of Tern's event page, so at load this driver gives Tern one, and a grant
 * table, from its own pages (TERN_HC_ATTACH), and claims an ISA IRQ
 * that no device uses: Tern raises it, with the vector Linux programmed on
 * that IOAPIC pin, when it sets upcall_pending. The handler scans the page
 * the 2-level way (event.h) and wakes the file descriptor bound to each
 * pending port; a process reads it to wait and writes it to notify.
 */
#define pr_fmt(fmt) "tern: " fmt

#include <linux/anon_inodes.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <asm/io.h>

#include "tern.h"

static int upcall_irq = TERN_DOM0_UPCALL_IRQ_DEFAULT;
module_param(upcall_irq, int, 0444);
MODULE_PARM_DESC(upcall_irq, "ISA IRQ Tern raises for Dom0's events (3, 5 or 7; no device may use it)");

static struct tern_event_page *tern_events;  /* written by Tern and by the handler */
static struct tern_grant_entry *tern_grants; /* Dom0's own grants (none yet) */
static bool tern_irq_claimed;
u64 tern_window_gpa;
u32 tern_window_frames;

/* A port Dom0 bound, and the fds listening to it: one for an
 * interdomain or unbound port; any number for a VIRQ (Tern binds a VIRQ
 * once per domain, and several Dom0 tools may want TERN_VIRQ_CONSOLE).
 * Guarded by tern_ports_lock. */
struct tern_port {
	u32 port;
	u32 virq;                    /* TERN_VIRQ_COUNT: not a VIRQ */
	struct list_head listeners;  /* struct tern_listener */
};

/* One event-channel fd: what its reads see. */
struct tern_listener {
	struct tern_port *port;
	struct list_head link;
	u32 fired;                   /* notifications since the last read */
	wait_queue_head_t wait;
};

static DEFINE_SPINLOCK(tern_ports_lock);
static struct tern_port *tern_ports[TERN_EVENT_PORTS];
static struct tern_port *tern_virqs[TERN_VIRQ_COUNT];

static irqreturn_t tern_upcall(int irq, void *unused)
{
	struct tern_event_vcpu *vcpu = &tern_events->vcpu[0];
	unsigned long sel, bits;
	unsigned int word, bit;
	struct tern_listener *l;
	struct tern_port *p;

	/* Cleared before the scan: an event Tern sets during it raises
	 * the IRQ again rather than being missed (event.h). */
	WRITE_ONCE(vcpu->upcall_pending, 0);
	sel = xchg(&vcpu->pending_sel, 0);
	spin_lock(&tern_ports_lock);
	while (sel) {
		word = __ffs(sel);
		sel &= sel - 1;
		bits = READ_ONCE(tern_events->pending[word]) & ~READ_ONCE(tern_events->mask[word]);
		while (bits) {
			bit = __ffs(bits);
			bits &= bits - 1;
			/* (u64 and unsigned long are one size on x86-64.) */
			clear_bit(bit, (unsigned long *)&tern_events->pending[word]);
			p = tern_ports[word * 64 + bit];
			if (!p)
				continue;
			list_for_each_entry(l, &p->listeners, link) {
				l->fired++;
				wake_up_interruptible(&l->wait);
			}
		}
	}
	spin_unlock(&tern_ports_lock);
	return IRQ_HANDLED;
}

int tern_events_attach(void)
{
	struct tern_attach *req;
	long ret;
	int err;

	tern_events = (void *)get_zeroed_page(GFP_KERNEL);
	tern_grants = (void *)get_zeroed_page(GFP_KERNEL);
	req = kzalloc(sizeof(*req), GFP_KERNEL);
	err = -ENOMEM;
	if (!tern_events || !tern_grants || !req)
		goto fail;
	/* Claimed first: Linux programs and unmasks the pin, and an upcall
	 * right after the attach finds its handler. */
	err = request_irq(upcall_irq, tern_upcall, 0, "tern-events", NULL);
	if (err) {
		pr_err("cannot claim IRQ %d for Tern's events: %d\n", upcall_irq, err);
		goto fail;
	}
	tern_irq_claimed = true;
	req->event_page_gpa = __pa(tern_events);
	req->grant_table_gpa = __pa(tern_grants);
	req->grant_entries = PAGE_SIZE / sizeof(struct tern_grant_entry);
	req->upcall_via = TERN_UPCALL_VIA_ISA_IRQ;
	req->upcall_line = upcall_irq;
	ret = tern_hypercall(TERN_HC_ATTACH, __pa(req), 0, 0, 0, 0);
	if (ret < 0) {
		pr_err("TERN_HC_ATTACH failed: %ld\n", ret);
		err = tern_errno(ret);
		goto fail;
	}
	tern_window_gpa = req->grant_window_gpa;
	tern_window_frames = min_t(u32, req->grant_window_frames, TERN_WINDOW_FRAMES_MAX);
	pr_info("event channels on IRQ %d; grant window of %u pages at %#llx\n", upcall_irq,
		tern_window_frames, tern_window_gpa);
	kfree(req);
	return 0;
fail:
	if (tern_irq_claimed)
		free_irq(upcall_irq, NULL);
	tern_irq_claimed = false;
	free_page((unsigned long)tern_events);
	free_page((unsigned long)tern_grants);
	tern_events = NULL;
	tern_grants = NULL;
	kfree(req);
	return err;
}

void tern_events_detach(void)
{
	struct tern_attach *req;
	long ret = -TERN_ENOMEM;

	if (!tern_events)
		return;
	req = kzalloc(sizeof(*req), GFP_KERNEL); /* event_page_gpa 0: detach */
	if (req)
		ret = tern_hypercall(TERN_HC_ATTACH, __pa(req), 0, 0, 0, 0);
	kfree(req);
	free_irq(upcall_irq, NULL);
	tern_irq_claimed = false;
	tern_window_frames = 0;
	if (ret < 0) {
		/* Tern may still write them: never give them back to Linux. */
		pr_err("TERN_HC_ATTACH (detach) failed: %ld; its pages are kept\n", ret);
		return;
	}
	free_page((unsigned long)tern_events);
	free_page((unsigned long)tern_grants);
	tern_events = NULL;
	tern_grants = NULL;
}

/* --- Event-channel file descriptors --------------------------------------- */

static ssize_t tern_evtchn_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct tern_listener *p = file->private_data;
	unsigned long flags;
	u32 fired;
	int err;

	if (count < sizeof(fired))
		return -EINVAL;
	for (;;) {
		spin_lock_irqsave(&tern_ports_lock, flags);
		fired = p->fired;
		p->fired = 0;
		spin_unlock_irqrestore(&tern_ports_lock, flags);
		if (fired)
			break;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		err = wait_event_interruptible(p->wait, READ_ONCE(p->fired) != 0);
		if (err)
			return err;
	}
	return copy_to_user(buf, &fired, sizeof(fired)) ? -EFAULT : sizeof(fired);
}

static ssize_t tern_evtchn_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	struct tern_listener *l = file->private_data;
	long ret;

	if (count == 0)
		return 0;
	ret = tern_hypercall(TERN_HC_EVTCHN_SEND, l->port->port, 0, 0, 0, 0);
	return ret < 0 ? tern_errno(ret) : count;
}

static __poll_t tern_evtchn_poll(struct file *file, poll_table *wait)
{
	struct tern_listener *p = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &p->wait, wait);
	if (READ_ONCE(p->fired))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* Drops a listener; the port closes with its last one (its peer sees
 * TERN_EVTCHN_PEER_CLOSED). Returns the port to free, or NULL. */
static struct tern_port *tern_listener_drop(struct tern_listener *l)
{
	struct tern_port *p = l->port;
	unsigned long flags;
	long ret = 0;

	spin_lock_irqsave(&tern_ports_lock, flags);
	list_del(&l->link);
	if (list_empty(&p->listeners)) {
		tern_ports[p->port] = NULL;
		if (p->virq < TERN_VIRQ_COUNT)
			tern_virqs[p->virq] = NULL;
		ret = tern_hypercall(TERN_HC_EVTCHN_CLOSE, p->port, 0, 0, 0, 0);
	} else {
		p = NULL;
	}
	spin_unlock_irqrestore(&tern_ports_lock, flags);
	if (ret < 0)
		pr_warn_ratelimited("closing port %u: %ld\n", l->port->port, ret);
	return p;
}

/* Closed, by the process or by its exit. */
static int tern_evtchn_release(struct inode *inode, struct file *file)
{
	struct tern_listener *l = file->private_data;

	kfree(tern_listener_drop(l));
	kfree(l);
	return 0;
}

static const struct file_operations tern_evtchn_fops = {
	.owner = THIS_MODULE,
	.read = tern_evtchn_read,
	.write = tern_evtchn_write,
	.poll = tern_evtchn_poll,
	.release = tern_evtchn_release,
	.llseek = noop_llseek,
};

/* Binds (or, for a VIRQ already bound, joins) a port for `l`; the port
 * number, or a negative errno. */
static long tern_listen(struct tern_ioctl_evtchn_bind *req, struct tern_listener *l, struct tern_port *fresh)
{
	struct tern_port *p = NULL;
	unsigned long flags;
	long port;

	if (req->kind == TERN_EVTCHN_BIND_VIRQ && req->remote_port >= TERN_VIRQ_COUNT)
		return -EINVAL;
	/* Bound and listed with interrupts off: an interdomain port starts
	 * pending, and its upcall must find it listed (Dom0 has one vCPU). */
	spin_lock_irqsave(&tern_ports_lock, flags);
	switch (req->kind) {
	case TERN_EVTCHN_BIND_INTERDOMAIN:
		port = tern_hypercall(TERN_HC_EVTCHN_BIND_INTERDOMAIN, req->remote_domid, req->remote_port, 0, 0, 0);
		break;
	case TERN_EVTCHN_BIND_UNBOUND:
		port = tern_hypercall(TERN_HC_EVTCHN_ALLOC_UNBOUND, req->remote_domid, 0, 0, 0, 0);
		break;
	case TERN_EVTCHN_BIND_VIRQ:
		p = tern_virqs[req->remote_port];
		port = p ? p->port : tern_hypercall(TERN_HC_EVTCHN_BIND_VIRQ, req->remote_port, 0, 0, 0, 0);
		break;
	default:
		port = -TERN_EINVAL;
	}
	if (port > 0 && port < TERN_EVENT_PORTS) {
		if (!p) {
			p = fresh;
			p->port = port;
			p->virq = req->kind == TERN_EVTCHN_BIND_VIRQ ? req->remote_port : TERN_VIRQ_COUNT;
			tern_ports[port] = p;
			if (p->virq < TERN_VIRQ_COUNT)
				tern_virqs[p->virq] = p;
		}
		l->port = p;
		list_add(&l->link, &p->listeners);
	}
	spin_unlock_irqrestore(&tern_ports_lock, flags);
	if (port < 0)
		return tern_errno(port);
	return port > 0 && port < TERN_EVENT_PORTS ? port : -EIO;
}

long tern_ioctl_evtchn_bind(void __user *argp)
{
	struct tern_ioctl_evtchn_bind req;
	struct tern_listener *l;
	struct tern_port *fresh;
	long port;
	int fd;

	if (!tern_events)
		return -ENODEV;
	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	l = kzalloc(sizeof(*l), GFP_KERNEL);
	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!l || !fresh) {
		kfree(l);
		kfree(fresh);
		return -ENOMEM;
	}
	init_waitqueue_head(&l->wait);
	INIT_LIST_HEAD(&fresh->listeners);
	port = tern_listen(&req, l, fresh);
	if (port < 0) {
		kfree(l);
		kfree(fresh);
		return port;
	}
	if (l->port != fresh)
		kfree(fresh); /* joined a VIRQ already bound */
	req.local_port = port;
	if (copy_to_user(argp, &req, sizeof(req))) {
		fd = -EFAULT;
		goto drop;
	}
	fd = anon_inode_getfd("[tern-evtchn]", &tern_evtchn_fops, l, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
drop:
	kfree(tern_listener_drop(l));
	kfree(l);
	return fd;
}
