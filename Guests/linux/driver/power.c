// SPDX-License-Identifier: GPL-2.0
/*
 * How a Linux guest ends (docs/abi.md, "The end of a domain"): it has no
 * ACPI FADT, so nothing in Linux can power it off or reset it; this does,
 * with TERN_HC_SHUTDOWN, and the toolstack's on_poweroff / on_reboot /
 * on_crash then apply.
 *   - power-off: a sys-off handler (Linux calls it last, after devices
 *     and syscore shut down) -> TERN_SHUTDOWN_POWEROFF;
 *   - restart: x86 calls no restart handler (it tries ACPI, the keyboard
 *     controller, CF9 ... which this guest does not have), so a syscore
 *     .shutdown, the last thing kernel_restart() runs before
 *     machine_restart(), does it when system_state is SYSTEM_RESTART ->
 *     TERN_SHUTDOWN_REBOOT;
 *   - panic (an oops with panic_on_oops, sysrq c): a panic notifier ->
 *     TERN_SHUTDOWN_CRASH, after Linux printed why;
 *   - TERN_VIRQ_SHUTDOWN (`tern shutdown`, `tern reboot` in Dom0): the
 *     request in its own tern_domain_info becomes orderly_poweroff() or
 *     orderly_reboot(), as Xen's control/shutdown watch does.
 */
#define pr_fmt(fmt) "tern_guest: " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/panic_notifier.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/syscore_ops.h>
#include <linux/workqueue.h>

#include "internal.h"

static void tern_shutdown(u64 reason)
{
	long ret = tern_hypercall(TERN_HC_SHUTDOWN, reason, 0, 0, 0, 0);

	/* It does not return; if it did, Linux goes on its own way (halt). */
	pr_emerg("TERN_HC_SHUTDOWN(%llu) returned %ld\n", reason, ret);
}

static int tern_power_off(struct sys_off_data *data)
{
	tern_shutdown(TERN_SHUTDOWN_POWEROFF);
	return NOTIFY_DONE;
}

static struct sys_off_handler *tern_power_off_handler;

static void tern_syscore_shutdown(void)
{
	if (system_state == SYSTEM_RESTART)
		tern_shutdown(TERN_SHUTDOWN_REBOOT);
}

static struct syscore_ops tern_syscore_ops = {
	.shutdown = tern_syscore_shutdown,
};

static int tern_panic(struct notifier_block *nb, unsigned long event, void *msg)
{
	tern_shutdown(TERN_SHUTDOWN_CRASH);
	return NOTIFY_DONE;
}

static struct notifier_block tern_panic_block = {
	.notifier_call = tern_panic,
	/* Last: other notifiers (kmsg dumpers, ...) run first. */
	.priority = INT_MIN,
};

static u32 tern_shutdown_port;

static void tern_shutdown_requested(struct work_struct *unused)
{
	struct tern_domain_info *info = kzalloc(sizeof(*info), GFP_KERNEL);
	long ret = -TERN_ENOMEM;
	u32 request = TERN_SHUTDOWN_REQUEST_NONE;

	if (info)
		ret = tern_hypercall(TERN_HC_DOMAIN_INFO, TERN_DOMID_SELF, __pa(info), 0, 0, 0);
	if (ret == 0)
		request = info->shutdown_request;
	kfree(info);
	switch (request) {
	case TERN_SHUTDOWN_REQUEST_POWEROFF:
		pr_notice("Tern asks for a poweroff\n");
		orderly_poweroff(true);
		break;
	case TERN_SHUTDOWN_REQUEST_REBOOT:
		pr_notice("Tern asks for a reboot\n");
		orderly_reboot();
		break;
	default:
		pr_warn("TERN_VIRQ_SHUTDOWN with no request (%ld, %u)\n", ret, request);
	}
}

static DECLARE_WORK(tern_shutdown_work, tern_shutdown_requested);

static void tern_shutdown_virq(u32 port, void *unused)
{
	schedule_work(&tern_shutdown_work);
}

int tern_power_init(void)
{
	int port, err;

	tern_power_off_handler = register_sys_off_handler(SYS_OFF_MODE_POWER_OFF, SYS_OFF_PRIO_FIRMWARE,
							  tern_power_off, NULL);
	if (IS_ERR(tern_power_off_handler)) {
		err = PTR_ERR(tern_power_off_handler);
		tern_power_off_handler = NULL;
		return err;
	}
	register_syscore_ops(&tern_syscore_ops);
	atomic_notifier_chain_register(&panic_notifier_list, &tern_panic_block);
	port = tern_evtchn_bind_virq(TERN_VIRQ_SHUTDOWN, tern_shutdown_virq, NULL);
	if (port < 0) {
		/* Power-off, reboot and panic still work; `tern shutdown` does not. */
		pr_warn("cannot bind TERN_VIRQ_SHUTDOWN: %d\n", port);
		return 0;
	}
	tern_shutdown_port = port;
	return 0;
}

void tern_power_exit(void)
{
	if (tern_shutdown_port)
		tern_evtchn_close(tern_shutdown_port);
	tern_shutdown_port = 0;
	cancel_work_sync(&tern_shutdown_work);
	atomic_notifier_chain_unregister(&panic_notifier_list, &tern_panic_block);
	unregister_syscore_ops(&tern_syscore_ops);
	if (tern_power_off_handler)
		unregister_sys_off_handler(tern_power_off_handler);
	tern_power_off_handler = NULL;
}
