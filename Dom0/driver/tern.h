/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tern.ko's parts and what they share (docs/dom0.md, "Control device"):
 *
 *   main.c      detection, load and unload
 *   proc.c      /proc/tern: version, domains, dmesg
 *   control.c   /dev/tern: privileged hypercalls, domain creation, and the
 *               per-file state that dies with the file
 *   events.c    Dom0's event page and upcall IRQ; event-channel fds
 *   mappings.c  grant and foreign mappings into Dom0's grant window; mmap
 *
 * Hypercalls are VMMCALL (tern/abi.h). Pointers passed to Tern are
 * guest-physical: Dom0 is identity mapped, so a buffer's address is __pa()
 * of it, and every buffer Tern reads or writes is kmalloc'd or a whole
 * page (physically contiguous; never on the stack, which is vmalloc'd
 * with CONFIG_VMAP_STACK).
 */
#ifndef TERN_DRIVER_H
#define TERN_DRIVER_H

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>

#include <tern/abi.h>
#include <tern/event.h>
#include <tern/grant.h>
#include <tern/ioctl.h>

/* A negative hypercall result as a Linux errno (Tern uses the same numbers). */
static inline int tern_errno(long ret)
{
	if (ret >= 0)
		return 0;
	return ret < -MAX_ERRNO ? -EIO : (int)ret;
}

extern u32 tern_abi_version; /* what TERN_HC_VERSION returned at load */

/* Dom0's grant window (TERN_HC_ATTACH; frames 0: not attached). */
#define TERN_WINDOW_FRAMES_MAX 16384
extern u64 tern_window_gpa;
extern u32 tern_window_frames;

/* What one open /dev/tern holds; all of it goes when the file is closed. */
struct tern_file {
	struct mutex lock;
	struct list_head provisional; /* domains created, not committed */
	struct list_head mappings;    /* struct tern_mapping */
};

int tern_proc_init(void);
void tern_proc_exit(void);

int tern_control_init(void);
void tern_control_exit(void);

int tern_events_attach(void);
void tern_events_detach(void);
long tern_ioctl_evtchn_bind(void __user *argp);

long tern_ioctl_map(struct tern_file *tf, void __user *argp);
long tern_ioctl_unmap(struct tern_file *tf, void __user *argp);
int tern_mmap(struct tern_file *tf, struct vm_area_struct *vma);
void tern_mappings_release(struct tern_file *tf);

#endif /* TERN_DRIVER_H */
