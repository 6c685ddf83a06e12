// SPDX-License-Identifier: GPL-2.0
/*
 * tern.ko: Dom0's driver for the Tern hypervisor (tern.h lists its parts).
 * Detects Tern (CPUID leaf 0x40000000), checks the ABI major version, then
 * brings up /proc/tern, Dom0's event channels and /dev/tern.
 */
#define pr_fmt(fmt) "tern: " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>

#include "tern.h"

u32 tern_abi_version;

/* Tern's CPUID signature: "Tern" in EBX, ECX and EDX of leaf 0x40000000. */
static bool tern_detect(void)
{
	unsigned int eax, ebx, ecx, edx;

	/* Without the "hypervisor present" bit, leaf 0x40000000 means nothing. */
	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	cpuid(TERN_CPUID_LEAF_BASE, &eax, &ebx, &ecx, &edx);
	return ebx == TERN_CPUID_SIGNATURE && ecx == TERN_CPUID_SIGNATURE &&
	       edx == TERN_CPUID_SIGNATURE;
}


static int __init tern_init(void)
{
	long version;
	int err;

	if (!tern_detect()) {
		pr_info("not running on the Tern hypervisor\n");
		return -ENODEV;
	}
	version = tern_hypercall(TERN_HC_VERSION, 0, 0, 0, 0, 0);
	if (version < 0) {
		pr_err("TERN_HC_VERSION failed: %ld\n", version);
		return -ENODEV;
	}
	if ((version >> 16) != TERN_ABI_MAJOR) {
		pr_err("Tern ABI %ld.%ld, this driver speaks %d.x\n",
		       version >> 16, version & 0xffff, TERN_ABI_MAJOR);
		return -EPROTO;
	}
	tern_abi_version = (u32)version;

	err = tern_proc_init();
	if (err)
		return err;
	/* Without event channels /dev/tern still creates and controls
	 * domains; its event and mapping ioctls then fail with ENODEV. */
	if (tern_events_attach())
		pr_warn("Dom0 event channels and grant mappings unavailable\n");
	err = tern_control_init();
	if (err) {
		tern_events_detach();
		tern_proc_exit();
		return err;
	}
	pr_info("Tern ABI %u.%u, /proc/tern and /dev/tern ready\n", tern_abi_version >> 16,
		tern_abi_version & 0xffff);
	return 0;
}

/* Only when nothing uses /dev/tern or an event-channel fd (each holds a
 * module reference), so no port or mapping is left. */
static void __exit tern_exit(void)
{
	tern_control_exit();
	tern_events_detach();
	tern_proc_exit();
}

module_init(tern_init);
module_exit(tern_exit);

MODULE_DESCRIPTION("Dom0 driver for the Tern hypervisor: /proc/tern, /dev/tern, event channels, grant mappings");
MODULE_LICENSE("GPL");
