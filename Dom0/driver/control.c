// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/tern (root only; tern/ioctl.h, docs/dom0.md "Control device"): the
 * toolstack's privileged hypercalls, domain creation from an ELF image in
 * user memory (a created domain is destroyed again if the file is closed,
 * its creator having exited or been killed, before it was committed), and
 * the entry points of event channels (events.c) and mappings (mappings.c).
 */
#define pr_fmt(fmt) "tern: " fmt

#include <linux/miscdevice.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/io.h>

#include "tern.h"
/* --- /dev/tern ------------------------------------------------------------ */

static_assert(TERN_IOCTL_HYPERCALL == _IOWR('T', 1, struct tern_ioctl_hypercall));
static_assert(TERN_IOCTL_CREATE == _IOWR('T', 2, struct tern_ioctl_create));
static_assert(TERN_IOCTL_COMMIT == _IOW('T', 3, uint32_t));
static_assert(TERN_IOCTL_EVTCHN_BIND == _IOWR('T', 4, struct tern_ioctl_evtchn_bind));
static_assert(TERN_IOCTL_MAP == _IOWR('T', 5, struct tern_ioctl_map));
static_assert(TERN_IOCTL_UNMAP == _IOW('T', 6, uint64_t));

struct tern_provisional {
	struct list_head link;
	u32 domid;
};

/* The hypercalls the toolstack may make through TERN_IOCTL_HYPERCALL. */
static bool tern_call_allowed(u64 nr)
{
	switch (nr) {
	case TERN_HC_VERSION:
	case TERN_HC_DOMAIN_INFO:
	case TERN_HC_DOMAIN_LIST:
	case TERN_HC_LOG_READ:
	case TERN_HC_DOMAIN_CONTROL:
	case TERN_HC_DOMAIN_PREPARE:
	case TERN_HC_SYSTEM_INFO:
	case TERN_HC_DEVICE_ADD:
	case TERN_HC_DEVICE_REMOVE:
	case TERN_HC_CONSOLE_INPUT:
		return true;
	default:
		return false;
	}
}

static long tern_ioctl_hypercall(void __user *argp)
{
	struct tern_ioctl_hypercall call;
	void *buffer = NULL;

	if (copy_from_user(&call, argp, sizeof(call)))
		return -EFAULT;
	if (!tern_call_allowed(call.nr))
		return -EPERM;
	if (call.buffer) {
		if (call.buffer_size == 0 || call.buffer_size > TERN_IOCTL_BUFFER_MAX || call.buffer_arg > 4)
			return -EINVAL;
		/* kmalloc'd: physically contiguous, so __pa() is what Tern reads. */
		buffer = kmalloc(TERN_IOCTL_BUFFER_MAX, GFP_KERNEL);
		if (!buffer)
			return -ENOMEM;
		if (copy_from_user(buffer, u64_to_user_ptr(call.buffer), call.buffer_size)) {
			kfree(buffer);
			return -EFAULT;
		}
		call.args[call.buffer_arg] = __pa(buffer);
		/* LOG_READ's request names a second buffer by address: the
		 * bytes go right after the request in the same page. */
		if (call.nr == TERN_HC_LOG_READ) {
			struct tern_log_read *log = buffer;

			if (call.buffer_size < sizeof(*log) || call.buffer_arg != 0) {
				kfree(buffer);
				return -EINVAL;
			}
			log->buffer_gpa = __pa(buffer) + sizeof(*log);
			log->size = min_t(u32, log->size, call.buffer_size - sizeof(*log));
		}
	}
	call.result = tern_hypercall(call.nr, call.args[0], call.args[1], call.args[2],
				     call.args[3], call.args[4]);
	if (buffer) {
		long failed = copy_to_user(u64_to_user_ptr(call.buffer), buffer, call.buffer_size);

		kfree(buffer);
		if (failed)
			return -EFAULT;
	}
	return copy_to_user(argp, &call, sizeof(call)) ? -EFAULT : 0;
}

static int tern_remember(struct tern_file *tf, u32 domid)
{
	struct tern_provisional *p = kmalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	p->domid = domid;
	mutex_lock(&tf->lock);
	list_add(&p->link, &tf->provisional);
	mutex_unlock(&tf->lock);
	return 0;
}

/* A user-space file copied into Dom0 pages, each its own frame: Tern takes
 * an image or a ramdisk as a frame list (tern/control.h). */
struct tern_file_frames {
	struct page **pages;
	u64 *frames;
	unsigned long count;
};

static void tern_frames_free(struct tern_file_frames *f)
{
	unsigned long i;

	if (f->pages) {
		for (i = 0; i < f->count; i++)
			if (f->pages[i])
				__free_page(f->pages[i]);
	}
	kfree(f->pages);
	kfree(f->frames);
	memset(f, 0, sizeof(*f));
}

static long tern_frames_copy(struct tern_file_frames *f, u64 user, u64 bytes)
{
	unsigned long i;

	if (bytes == 0 || bytes > (u64)TERN_IMAGE_FRAMES_MAX * PAGE_SIZE)
		return -EINVAL;
	f->count = DIV_ROUND_UP(bytes, PAGE_SIZE);
	f->pages = kcalloc(f->count, sizeof(*f->pages), GFP_KERNEL);
	f->frames = kmalloc_array(f->count, sizeof(*f->frames), GFP_KERNEL);
	if (!f->pages || !f->frames)
		return -ENOMEM;
	for (i = 0; i < f->count; i++) {
		u64 done = (u64)i * PAGE_SIZE;
		size_t n = min_t(u64, PAGE_SIZE, bytes - done);

		f->pages[i] = alloc_page(GFP_KERNEL);
		if (!f->pages[i])
			return -ENOMEM;
		if (copy_from_user(page_address(f->pages[i]), u64_to_user_ptr(user + done), n))
			return -EFAULT;
		f->frames[i] = page_to_phys(f->pages[i]);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

static long tern_ioctl_create(struct tern_file *tf, void __user *argp)
{
	struct tern_ioctl_create *req;
	struct tern_domain_create *request = NULL;
	struct tern_file_frames image = { 0 }, ramdisk = { 0 };
	long err = 0;

	req = kmalloc(sizeof(*req), GFP_KERNEL);
	if (!req)
		return -ENOMEM;
	if (copy_from_user(req, argp, sizeof(*req))) {
		err = -EFAULT;
		goto out;
	}
	err = tern_frames_copy(&image, req->image, req->image_bytes);
	if (err)
		goto out;
	if (req->ramdisk_bytes) {
		err = tern_frames_copy(&ramdisk, req->ramdisk, req->ramdisk_bytes);
		if (err)
			goto out;
	}
	request = kmalloc(sizeof(*request), GFP_KERNEL);
	if (!request) {
		err = -ENOMEM;
		goto out;
	}
	*request = req->request;
	request->image_frames_gpa = __pa(image.frames);
	request->image_bytes = req->image_bytes;
	request->image_frame_count = image.count;
	request->ramdisk_frames_gpa = ramdisk.count ? __pa(ramdisk.frames) : 0;
	request->ramdisk_bytes = ramdisk.count ? req->ramdisk_bytes : 0;
	request->ramdisk_frame_count = ramdisk.count;
	req->result = tern_hypercall(TERN_HC_DOMAIN_CREATE, __pa(request), 0, 0, 0, 0);
	req->request = *request;
	if (req->result >= 0) {
		err = tern_remember(tf, (u32)req->result);
		if (err) {
			tern_hypercall(TERN_HC_DOMAIN_CONTROL, req->result, TERN_DOMCTL_DESTROY, 0, 0, 0);
			goto out;
		}
	}
	if (copy_to_user(argp, req, sizeof(*req)))
		err = -EFAULT; /* the domain stays provisional: closing the file destroys it */
out:
	tern_frames_free(&image);
	tern_frames_free(&ramdisk);
	kfree(request);
	kfree(req);
	return err;
}

static long tern_ioctl_commit(struct tern_file *tf, void __user *argp)
{
	struct tern_provisional *p, *next;
	u32 domid;
	long err = -ENOENT;

	if (copy_from_user(&domid, argp, sizeof(domid)))
		return -EFAULT;
	mutex_lock(&tf->lock);
	list_for_each_entry_safe(p, next, &tf->provisional, link) {
		if (p->domid == domid) {
			list_del(&p->link);
			kfree(p);
			err = 0;
			break;
		}
	}
	mutex_unlock(&tf->lock);
	return err;
}

static long tern_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case TERN_IOCTL_HYPERCALL:
		return tern_ioctl_hypercall(argp);
	case TERN_IOCTL_CREATE:
		return tern_ioctl_create(file->private_data, argp);
	case TERN_IOCTL_COMMIT:
		return tern_ioctl_commit(file->private_data, argp);
	case TERN_IOCTL_EVTCHN_BIND:
		return tern_ioctl_evtchn_bind(argp);
	case TERN_IOCTL_MAP:
		return tern_ioctl_map(file->private_data, argp);
	case TERN_IOCTL_UNMAP:
		return tern_ioctl_unmap(file->private_data, argp);
	default:
		return -ENOTTY;
	}
}

static int tern_dev_mmap(struct file *file, struct vm_area_struct *vma)
{
	return tern_mmap(file->private_data, vma);
}

static int tern_dev_open(struct inode *inode, struct file *file)
{
	struct tern_file *tf;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	tf = kmalloc(sizeof(*tf), GFP_KERNEL);
	if (!tf)
		return -ENOMEM;
	mutex_init(&tf->lock);
	INIT_LIST_HEAD(&tf->provisional);
	INIT_LIST_HEAD(&tf->mappings);
	file->private_data = tf;
	return 0;
}

/* The file is closed (the process exited, maybe killed; every mmap of it
 * is gone by now): its mappings go, and whatever it created and did not
 * commit. */
static int tern_dev_release(struct inode *inode, struct file *file)
{
	struct tern_file *tf = file->private_data;
	struct tern_provisional *p, *next;
	long ret;

	tern_mappings_release(tf);
	list_for_each_entry_safe(p, next, &tf->provisional, link) {
		ret = tern_hypercall(TERN_HC_DOMAIN_CONTROL, p->domid, TERN_DOMCTL_DESTROY, 0, 0, 0);
		pr_info("destroyed provisional domain %u (its creator closed /dev/tern before committing): %ld\n",
			p->domid, ret);
		list_del(&p->link);
		kfree(p);
	}
	kfree(tf);
	return 0;
}

static const struct file_operations tern_dev_fops = {
	.owner = THIS_MODULE,
	.open = tern_dev_open,
	.release = tern_dev_release,
	.unlocked_ioctl = tern_dev_ioctl,
	.mmap = tern_dev_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice tern_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "tern",
	.fops = &tern_dev_fops,
	.mode = 0600,
};

int tern_control_init(void)
{
	return misc_register(&tern_dev);
}

void tern_control_exit(void)
{
	misc_deregister(&tern_dev);
}

