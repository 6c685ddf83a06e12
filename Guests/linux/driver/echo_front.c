// SPDX-License-Identifier: GPL-2.0
/*
 * tern_echo_front.ko: a frontend for Dom0's tern-echo backend
 * (Dom0/tools/tern-echo.c), the Linux counterpart of Guests/ping's
 * mode=evtchn, proving tern_guest.ko's path end to end: it registers for
 * TERN_DEVICE_CHANNEL; when tern-echo adds channel 0, tern_guest's bus
 * probes it here. It grants a ring page to the backend, publishes its ref
 * in the control page with the mode (PingSetup.swift's words), sets
 * READY, waits for CONNECTED, then makes `round_trips` event-channel round
 * trips (write `pings`, notify; the backend copies it to `pongs` and
 * notifies back), prints what it measured, and closes.
 */
#define pr_fmt(fmt) "tern-echo-front: " fmt

#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "tern_guest.h"

static unsigned int round_trips = 1000;
module_param(round_trips, uint, 0444);
MODULE_PARM_DESC(round_trips, "event-channel round trips per channel (default 1000)");

/* Guests/PingPong/PingSetup.swift: u32 words after struct
 * tern_device_control, and PingMode.evtchn. */
enum { SETUP_MODE = 0, SETUP_PINGS = 6, SETUP_PONGS = 7 };
#define PING_MODE_EVTCHN 2

#define ECHO_CONNECT_TIMEOUT (30 * HZ)
#define ECHO_ANSWER_TIMEOUT  (10 * HZ)
#define ECHO_CLOSE_TIMEOUT   (5 * HZ)
/* Waits for the backend to unmap the ring before its page is ours again. */
#define ECHO_UNMAP_TRIES     50
#define ECHO_UNMAP_WAIT_MS   100

struct echo {
	struct tern_device *tdev;
	struct tern_device_control *control;
	u32 *setup;
	struct page *ring;
	int ring_ref;             /* < 0: not granted, or ended */
	bool stopping;
	wait_queue_head_t wait;
	struct work_struct run;
};

static void echo_event(u32 port, void *data)
{
	struct echo *echo = data;

	wake_up(&echo->wait);
}

static u32 load(u32 *p) { return smp_load_acquire(p); }
static void store(u32 *p, u32 v) { smp_store_release(p, v); }

static bool echo_backend_is(struct echo *echo, u32 state)
{
	return load(&echo->control->backend_state) == state || READ_ONCE(echo->stopping);
}

static void echo_run(struct work_struct *work)
{
	struct echo *echo = container_of(work, struct echo, run);
	struct tern_device *tdev = echo->tdev;
	unsigned int done = 0, i;
	ktime_t start;
	s64 ns;

	if (!wait_event_timeout(echo->wait, echo_backend_is(echo, TERN_LINK_CONNECTED), ECHO_CONNECT_TIMEOUT)) {
		pr_err("channel %u: d%u never connected\n", tdev->devid, tdev->backend);
		goto close;
	}
	if (READ_ONCE(echo->stopping))
		goto close;
	start = ktime_get();
	for (i = 1; i <= round_trips; i++) {
		store(&echo->setup[SETUP_PINGS], i);
		tern_evtchn_notify(tdev->port);
		if (!wait_event_timeout(echo->wait, load(&echo->setup[SETUP_PONGS]) == i || READ_ONCE(echo->stopping),
					ECHO_ANSWER_TIMEOUT) || READ_ONCE(echo->stopping))
			break;
		done = i;
	}
	ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	if (done == round_trips)
		pr_info("channel %u: %u round trips with d%u over port %u in %lld us (%lld ns each); ring granted as ref %d\n",
			tdev->devid, done, tdev->backend, tdev->port, ns / NSEC_PER_USEC, done ? ns / done : 0,
			echo->ring_ref);
	else
		pr_err("channel %u: d%u answered %u of %u round trips\n", tdev->devid, tdev->backend, done, round_trips);
close:
	store(&echo->control->frontend_state, TERN_LINK_CLOSED);
	tern_evtchn_notify(tdev->port);
	if (wait_event_timeout(echo->wait, echo_backend_is(echo, TERN_LINK_CLOSED), ECHO_CLOSE_TIMEOUT))
		pr_info("channel %u: closed\n", tdev->devid);
}

/* The ring page is ours again only once the backend no longer maps it. */
static void echo_end_ring(struct echo *echo)
{
	int tries, err = -EINVAL;

	if (echo->ring_ref < 0)
		return;
	for (tries = 0; tries < ECHO_UNMAP_TRIES; tries++) {
		err = tern_grant_end(echo->ring_ref);
		if (err != -EBUSY)
			break;
		msleep(ECHO_UNMAP_WAIT_MS);
	}
	if (err) {
		pr_warn("ring ref %d still in use (%d): its page is left to the backend\n", echo->ring_ref, err);
		echo->ring = NULL;
	}
	echo->ring_ref = -1;
}

static int echo_probe(struct tern_device *tdev)
{
	struct echo *echo = kzalloc(sizeof(*echo), GFP_KERNEL);
	int err;

	if (!echo)
		return -ENOMEM;
	echo->tdev = tdev;
	echo->control = tdev->control;
	echo->setup = (u32 *)(echo->control + 1);
	init_waitqueue_head(&echo->wait);
	INIT_WORK(&echo->run, echo_run);
	echo->ring = alloc_page(GFP_KERNEL | __GFP_ZERO);
	err = -ENOMEM;
	if (!echo->ring)
		goto fail;
	echo->ring_ref = tern_grant_page(tdev->backend, echo->ring, false);
	if (echo->ring_ref < 0) {
		err = echo->ring_ref;
		goto fail;
	}
	err = tern_evtchn_bind(tdev->port, echo_event, echo);
	if (err)
		goto fail;
	tdev->driver_data = echo;
	store(&echo->setup[SETUP_MODE], PING_MODE_EVTCHN);
	store(&echo->control->ring_ref, echo->ring_ref);
	store(&echo->control->frontend_state, TERN_LINK_READY);
	tern_evtchn_notify(tdev->port);
	pr_info("channel %u: ring page granted to d%u as ref %d, READY on port %u\n", tdev->devid, tdev->backend,
		echo->ring_ref, tdev->port);
	schedule_work(&echo->run);
	return 0;
fail:
	echo_end_ring(echo);
	if (echo->ring)
		__free_page(echo->ring);
	kfree(echo);
	return err;
}

static void echo_remove(struct tern_device *tdev)
{
	struct echo *echo = tdev->driver_data;

	WRITE_ONCE(echo->stopping, true);
	wake_up(&echo->wait);
	flush_work(&echo->run);
	tern_evtchn_unbind(tdev->port);
	echo_end_ring(echo);
	if (echo->ring)
		__free_page(echo->ring);
	kfree(echo);
}

static struct tern_driver echo_driver = {
	.type = TERN_DEVICE_CHANNEL,
	.probe = echo_probe,
	.remove = echo_remove,
	.driver = { .name = "tern-echo-front" },
};

static int __init echo_init(void)
{
	return tern_driver_register(&echo_driver);
}

static void __exit echo_exit(void)
{
	tern_driver_unregister(&echo_driver);
}

module_init(echo_init);
module_exit(echo_exit);

MODULE_DESCRIPTION("Tern echo frontend: event-channel round trips with Dom0's tern-echo");
MODULE_LICENSE("GPL");
