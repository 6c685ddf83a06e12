// SPDX-License-Identifier: GPL-2.0
/*
 * Grant and foreign mappings for Dom0 processes (tern/ioctl.h). Tern puts
 * each mapped page at a page of Dom0's grant window (guest-physical pages
 * above all RAM, TERN_HC_ATTACH), and a process reaches it by
 * mmap()ing one page of /dev/tern at the offset TERN_IOCTL_MAP answered:
 * a PFN map of that window page, like /dev/mem's of device memory. A
 * mapping ends with its mmap (munmap, exit), with TERN_IOCTL_UNMAP if it
 * was never mmap'd, or with the file.
 */
#define pr_fmt(fmt) "tern: " fmt

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "tern.h"

struct tern_mapping {
	struct list_head link;  /* in its file's list, under tf->lock */
	struct tern_file *tf;
	u32 slot;               /* window page; also the mmap offset in pages */
	u32 handle;             /* TERN_HC_GRANT_MAP's answer */
	bool readonly;
	bool mmapped;
};

static DEFINE_MUTEX(tern_window_lock);
static DECLARE_BITMAP(tern_window_used, TERN_WINDOW_FRAMES_MAX);

/* A window page is free for another mapping. */
static void tern_window_put(unsigned long slot)
{
	mutex_lock(&tern_window_lock);
	clear_bit(slot, tern_window_used);
	mutex_unlock(&tern_window_lock);
}

/* Tern's mapping and the window page go; the caller unlinked it. */
static void tern_mapping_free(struct tern_mapping *m)
{
	long ret = tern_hypercall(TERN_HC_GRANT_UNMAP, m->handle, 0, 0, 0, 0);

	if (ret < 0) {
		/* The page stays mapped in Tern's view: never hand the slot out again. */
		pr_warn_ratelimited("unmapping window page %u: %ld\n", m->slot, ret);
	} else {
		tern_window_put(m->slot);
	}
	kfree(m);
}

long tern_ioctl_map(struct tern_file *tf, void __user *argp)
{
	struct tern_ioctl_map req;
	struct tern_mapping *m;
	unsigned long slot;
	long ret;

	if (!tern_window_frames)
		return -ENODEV;
	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~(TERN_GRANT_MAP_READONLY | TERN_GRANT_MAP_FOREIGN))
		return -EINVAL;
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	mutex_lock(&tern_window_lock);
	slot = find_first_zero_bit(tern_window_used, tern_window_frames);
	if (slot < tern_window_frames)
		set_bit(slot, tern_window_used);
	mutex_unlock(&tern_window_lock);
	if (slot >= tern_window_frames) {
		kfree(m);
		return -ENOSPC;
	}
	ret = tern_hypercall(TERN_HC_GRANT_MAP, req.domid, req.ref, tern_window_gpa + slot * PAGE_SIZE,
			     req.flags, 0);
	if (ret < 0) {
		tern_window_put(slot);
		kfree(m);
		return tern_errno(ret);
	}
	m->tf = tf;
	m->slot = slot;
	m->handle = ret;
	m->readonly = req.flags & TERN_GRANT_MAP_READONLY;
	mutex_lock(&tf->lock);
	list_add(&m->link, &tf->mappings);
	mutex_unlock(&tf->lock);
	req.offset = (u64)slot << PAGE_SHIFT;
	/* On a fault here the mapping stays until the file is closed. */
	return copy_to_user(argp, &req, sizeof(req)) ? -EFAULT : 0;
}

static struct tern_mapping *tern_mapping_find(struct tern_file *tf, u64 slot)
{
	struct tern_mapping *m;

	list_for_each_entry(m, &tf->mappings, link)
		if (m->slot == slot)
			return m;
	return NULL;
}

long tern_ioctl_unmap(struct tern_file *tf, void __user *argp)
{
	struct tern_mapping *m;
	u64 offset;

	if (copy_from_user(&offset, argp, sizeof(offset)))
		return -EFAULT;
	mutex_lock(&tf->lock);
	m = offset % PAGE_SIZE ? NULL : tern_mapping_find(tf, offset >> PAGE_SHIFT);
	if (!m || m->mmapped) {
		mutex_unlock(&tf->lock);
		return m ? -EBUSY : -EINVAL; /* an mmap'd page goes with its munmap */
	}
	list_del(&m->link);
	mutex_unlock(&tf->lock);
	tern_mapping_free(m);
	return 0;
}

/* The process's mapping of the page is gone (munmap or exit): the page
 * table entries are already zapped, so Tern's mapping may go. */
static void tern_vma_close(struct vm_area_struct *vma)
{
	struct tern_mapping *m = vma->vm_private_data;

	mutex_lock(&m->tf->lock);
	list_del(&m->link);
	mutex_unlock(&m->tf->lock);
	tern_mapping_free(m);
}

static const struct vm_operations_struct tern_vm_ops = {
	.close = tern_vma_close,
};

int tern_mmap(struct tern_file *tf, struct vm_area_struct *vma)
{
	struct tern_mapping *m;
	int err;

	if (vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	mutex_lock(&tf->lock);
	m = tern_mapping_find(tf, vma->vm_pgoff);
	err = !m ? -EINVAL : m->mmapped ? -EBUSY : (m->readonly && (vma->vm_flags & VM_WRITE)) ? -EPERM : 0;
	if (err)
		goto out;
	if (m->readonly)
		vma->vm_flags &= ~VM_MAYWRITE;
	/* One page, never copied to a child nor grown: the mapping has one
	 * owner and goes with it (vm_ops.close). */
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTCOPY | VM_DONTDUMP;
	err = remap_pfn_range(vma, vma->vm_start, PHYS_PFN(tern_window_gpa) + m->slot, PAGE_SIZE,
			      vma->vm_page_prot);
	if (err)
		goto out;
	m->mmapped = true;
	vma->vm_private_data = m;
	vma->vm_ops = &tern_vm_ops;
out:
	mutex_unlock(&tf->lock);
	return err;
}

/* The file is closed: every mmap of it is gone, so what is left was
 * never mmap'd. */
void tern_mappings_release(struct tern_file *tf)
{
	struct tern_mapping *m, *next;

	list_for_each_entry_safe(m, next, &tf->mappings, link) {
		list_del(&m->link);
		tern_mapping_free(m);
	}
}
