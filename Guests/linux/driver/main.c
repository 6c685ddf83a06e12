// SPDX-License-Identifier: GPL-2.0
/*
 * tern_guest.ko: the guest core of a Linux guest of the Tern hypervisor
 * (internal.h lists its parts, tern_guest.h is what frontends use). It
 * loads only under Tern (CPUID leaf 0x40000000) in an unprivileged
 * domain (Dom0's driver is tern.ko), checks the ABI major version, then
 * attaches its event page, grant table and device pages and brings up the
 * bus and the power paths.
 */
#define pr_fmt(fmt) "tern_guest: " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>

#include "internal.h"

u16 tern_domid;

/* Tern's CPUID signature: "Tern" in EBX, ECX and EDX of leaf 0x40000000. */
static bool tern_detect(void)
{
	unsigned int eax, ebx, ecx, edx;

	/* Without the "hypervisor present" bit, leaf 0x40000000 means nothing. */
	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	cpuid(TERN_CPUID_LEAF_BASE, &eax, &ebx, &ecx, &edx);
	return ebx == TERN_CPUID_SIGNATURE && ecx == TERN_CPUID_SIGNATURE && edx == TERN_CPUID_SIGNATURE;
}

/* Who we are: an unprivileged domain (Dom0 has tern.ko). */
static int tern_whoami(void)
{
	struct tern_domain_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	long ret;
	int err = 0;

	if (!info)
		return -ENOMEM;
	ret = tern_hypercall(TERN_HC_DOMAIN_INFO, TERN_DOMID_SELF, __pa(info), 0, 0, 0);
	if (ret < 0) {
		pr_err("TERN_HC_DOMAIN_INFO failed: %ld\n", ret);
		err = -ENODEV;
	} else if (info->flags & TERN_DOMAIN_FLAG_PRIVILEGED) {
		pr_info("this is Tern's privileged domain: tern.ko is its driver\n");
		err = -ENODEV;
	} else {
		tern_domid = info->domid;
	}
	kfree(info);
	return err;
}

static int __init tern_guest_init(void)
{
	long version;
	int err;

	if (!tern_detect()) {
		pr_info("not running on the Tern hypervisor\n");
		return -ENODEV;
	}
	version = tern_hypercall(TERN_HC_VERSION, 0, 0, 0, 0, 0);
	if (version < 0 || (version >> 16) != TERN_ABI_MAJOR) {
		pr_err("Tern ABI %ld.%ld, this module speaks %d.x\n", version >> 16, version & 0xffff, TERN_ABI_MAJOR);
		return -EPROTO;
	}
	err = tern_whoami();
	if (err)
		return err;
	err = tern_grants_init();
	if (err)
		return err;
	err = tern_events_attach();
	if (err)
		return err;
	err = tern_bus_init();
	if (err)
		goto detach;
	err = tern_power_init();
	if (err)
		goto bus;
	pr_info("attached to Tern (ABI %ld.%ld) as d%u: event upcall on vector %#x (IRQ %d), grant table of %u entries, device page at %#llx\n",
		version >> 16, version & 0xffff, tern_domid, tern_attached.vector, tern_attached.irq,
		tern_attached.grant_entries, (unsigned long long)__pa(tern_attached.devices));
	return 0;
bus:
	tern_bus_exit();
detach:
	tern_events_detach();
	return err;
}

/* Frontend modules are gone (they use its symbols); Tern is detached last. */
static void __exit tern_guest_exit(void)
{
	tern_power_exit();
	tern_bus_exit();
	tern_events_detach();
}

module_init(tern_guest_init);
module_exit(tern_guest_exit);

MODULE_DESCRIPTION("Guest core for Linux guests of the Tern hypervisor: event channels, grants, device bus, power");
MODULE_LICENSE("GPL");
