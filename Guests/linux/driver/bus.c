// SPDX-License-Identifier: GPL-2.0
/*
 * The bus of a Linux guest's devices (tern/device.h, docs/abi.md "Device
 * pages"), Tern's noxs in place of xenbus: the device page the attach gave
 * Tern lists this guest's devices; each frontend entry becomes a device
 * on bus "tern" (/sys/bus/tern/devices/channel-0 ...), and a frontend
 * registers a driver for a device type. The page is read again, as the
 * sequence lock device.h describes, at load and at each
 * TERN_VIRQ_DEVICES: an entry that appears is probed, one that goes (or
 * turns CLOSED: its backend died) is removed, one whose port, control
 * page or instance changed is removed and probed again (a detach and an
 * attach again between two looks: the same devid, maybe the same control
 * page and port, but a new instance, tern/device.h).
 */
#define pr_fmt(fmt) "tern_guest: " fmt

#include <linux/device.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "internal.h"

/* Rereads of a page caught mid-update before giving up until the next VIRQ. */
#define TERN_DEVICE_PAGE_TRIES 100

static LIST_HEAD(tern_devices);        /* struct tern_device, by link */
static DEFINE_MUTEX(tern_devices_lock);
static u32 tern_devices_port;
static bool tern_bus_stopping;

static const char *tern_type_name(u16 type)
{
	switch (type) {
	case TERN_DEVICE_CONSOLE: return "console";
	case TERN_DEVICE_CHANNEL: return "channel";
	case TERN_DEVICE_BLOCK: return "block";
	case TERN_DEVICE_NET: return "net";
	default: return "device";
	}
}

static int tern_bus_match(struct device *dev, struct device_driver *drv)
{
	return to_tern_device(dev)->type == to_tern_driver(drv)->type;
}

static int tern_bus_probe(struct device *dev)
{
	struct tern_driver *drv = to_tern_driver(dev->driver);

	return drv->probe ? drv->probe(to_tern_device(dev)) : 0;
}

static void tern_bus_remove(struct device *dev)
{
	struct tern_driver *drv = to_tern_driver(dev->driver);

	if (drv->remove)
		drv->remove(to_tern_device(dev));
}

static int tern_bus_uevent(struct device *dev, struct kobj_uevent_env *env)
{
	struct tern_device *tdev = to_tern_device(dev);

	return add_uevent_var(env, "TERN_DEVICE=%s-%u", tern_type_name(tdev->type), tdev->devid);
}

static struct bus_type tern_bus = {
	.name = "tern",
	.match = tern_bus_match,
	.probe = tern_bus_probe,
	.remove = tern_bus_remove,
	.uevent = tern_bus_uevent,
};

int __tern_driver_register(struct tern_driver *drv, struct module *owner)
{
	drv->driver.bus = &tern_bus;
	drv->driver.owner = owner;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_GPL(__tern_driver_register);

void tern_driver_unregister(struct tern_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_GPL(tern_driver_unregister);

static void tern_device_release(struct device *dev)
{
	kfree(to_tern_device(dev));
}

/* The page as one consistent snapshot; the entry count, or -EAGAIN when
 * every try caught Tern mid-update, -EIO for a page that is not one. */
static int tern_devices_snapshot(struct tern_device_entry *out)
{
	const struct tern_device_page *page = tern_attached.devices;
	u32 before, count;
	int tries;

	for (tries = 0; tries < TERN_DEVICE_PAGE_TRIES; tries++) {
		before = READ_ONCE(page->version);
		smp_rmb();
		if (before & 1) {
			cpu_relax();
			continue;
		}
		count = min_t(u32, READ_ONCE(page->count), TERN_DEVICE_MAX);
		memcpy(out, (const void *)page->entries, count * sizeof(*out));
		smp_rmb();
		if (READ_ONCE(page->version) != before)
			continue;
		return READ_ONCE(page->magic) == TERN_DEVICE_PAGE_MAGIC ? (int)count : -EIO;
	}
	return -EAGAIN;
}

/* An entry this guest uses as a frontend and can trust: its own domid,
 * a port, and a control page that is one of the pages it gave Tern. */
static bool tern_entry_usable(const struct tern_device_entry *e)
{
	u64 first = tern_attached.control_pages_gpa;
	u64 end = first + TERN_DEVICE_CONTROL_PAGES * PAGE_SIZE;

	return !(e->flags & TERN_DEVICE_FLAG_BACKEND) && e->state == TERN_DEVICE_ACTIVE &&
	       e->frontend == tern_domid && e->port != TERN_EVENT_PORT_INVALID && e->port < TERN_EVENT_PORTS &&
	       e->control_gpa >= first && e->control_gpa < end && e->control_gpa % PAGE_SIZE == 0;
}

static struct tern_device *tern_device_find(u16 type, u16 devid)
{
	struct tern_device *tdev;

	list_for_each_entry(tdev, &tern_devices, link)
		if (tdev->type == type && tdev->devid == devid)
			return tdev;
	return NULL;
}

static void tern_device_add(const struct tern_device_entry *e)
{
	struct tern_device *tdev = kzalloc(sizeof(*tdev), GFP_KERNEL);
	int err;

	if (!tdev)
		return;
	tdev->type = e->type;
	tdev->devid = e->devid;
	tdev->backend = e->backend;
	tdev->port = e->port;
	tdev->control_ref = e->grant_ref;
	tdev->instance = e->flags & TERN_DEVICE_INSTANCE_MASK;
	tdev->control = (char *)tern_attached.control_pages + (e->control_gpa - tern_attached.control_pages_gpa);
	tdev->dev.bus = &tern_bus;
	tdev->dev.release = tern_device_release;
	dev_set_name(&tdev->dev, "%s-%u", tern_type_name(e->type), e->devid);
	pr_info("device %s: backend d%u, port %u, control page ref %u, instance %u\n", dev_name(&tdev->dev), e->backend,
		e->port, e->grant_ref, tdev->instance >> TERN_DEVICE_INSTANCE_SHIFT);
	err = device_register(&tdev->dev);
	if (err) {
		pr_err("device %s: %d\n", dev_name(&tdev->dev), err);
		put_device(&tdev->dev);
		return;
	}
	list_add_tail(&tdev->link, &tern_devices);
}

static void tern_device_remove(struct tern_device *tdev)
{
	pr_info("device %s gone\n", dev_name(&tdev->dev));
	list_del(&tdev->link);
	device_unregister(&tdev->dev);
}

static void tern_devices_scan(struct work_struct *unused)
{
	struct tern_device_entry *entries;
	struct tern_device *tdev, *next;
	const struct tern_device_entry *e;
	bool listed;
	int count, i;

	entries = kcalloc(TERN_DEVICE_MAX, sizeof(*entries), GFP_KERNEL);
	if (!entries)
		return;
	count = tern_devices_snapshot(entries);
	if (count < 0) {
		pr_warn("device page unreadable: %d\n", count);
		kfree(entries);
		return;
	}
	mutex_lock(&tern_devices_lock);
	if (tern_bus_stopping)
		goto out;
	/* Gone, closed or changed: removed. */
	list_for_each_entry_safe(tdev, next, &tern_devices, link) {
		listed = false;
		for (i = 0; i < count; i++) {
			e = &entries[i];
			if (tern_entry_usable(e) && e->type == tdev->type && e->devid == tdev->devid &&
			    e->port == tdev->port && e->grant_ref == tdev->control_ref &&
			    (e->flags & TERN_DEVICE_INSTANCE_MASK) == tdev->instance &&
			    e->control_gpa - tern_attached.control_pages_gpa ==
				    (u64)((char *)tdev->control - (char *)tern_attached.control_pages))
				listed = true;
		}
		if (!listed)
			tern_device_remove(tdev);
	}
	/* New: probed. */
	for (i = 0; i < count; i++) {
		e = &entries[i];
		if (tern_entry_usable(e) && !tern_device_find(e->type, e->devid))
			tern_device_add(e);
	}
out:
	mutex_unlock(&tern_devices_lock);
	kfree(entries);
}

static DECLARE_WORK(tern_devices_work, tern_devices_scan);

static void tern_devices_changed(u32 port, void *unused)
{
	schedule_work(&tern_devices_work);
}

int tern_bus_init(void)
{
	int err, port;

	err = bus_register(&tern_bus);
	if (err)
		return err;
	port = tern_evtchn_bind_virq(TERN_VIRQ_DEVICES, tern_devices_changed, NULL);
	if (port < 0) {
		pr_err("cannot bind TERN_VIRQ_DEVICES: %d\n", port);
		bus_unregister(&tern_bus);
		return port;
	}
	tern_devices_port = port;
	schedule_work(&tern_devices_work);
	return 0;
}

/* Every device is removed (their drivers first let go of their ports and
 * grants); frontend modules are gone already (they use our symbols). */
void tern_bus_exit(void)
{
	struct tern_device *tdev, *next;

	tern_evtchn_close(tern_devices_port);
	mutex_lock(&tern_devices_lock);
	tern_bus_stopping = true;
	mutex_unlock(&tern_devices_lock);
	cancel_work_sync(&tern_devices_work);
	mutex_lock(&tern_devices_lock);
	list_for_each_entry_safe(tdev, next, &tern_devices, link)
		tern_device_remove(tdev);
	mutex_unlock(&tern_devices_lock);
	bus_unregister(&tern_bus);
}
