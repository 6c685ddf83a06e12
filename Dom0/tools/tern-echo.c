/*
 * tern-echo: a Dom0 backend for Guests/ping's mode=evtchn, written against
 * /dev/tern's event-channel fds and mmap (tern/ioctl.h) as a real backend
 * would be. It checks Dom0's side of the inter-domain ABI end to end:
 *
 *   tern-echo DOMAIN-ID [--stop-after N]
 *
 * 1. adds channel 0 to the guest with Dom0 as its backend (TERN_HC_DEVICE_ADD
 *    answers the port, the control page's grant ref and its gpa);
 * 2. binds the guest's port (an fd), maps the control page by its grant
 *    (mmap) and, read-only, by its frame number (a foreign mapping), and
 *    checks that both show the same bytes;
 * 3. waits for READY, maps the guest's ring page, sets CONNECTED;
 * 4. answers every round trip: copies the `pings` word to `pongs` and
 *    notifies, until the guest sets CLOSED; then CLOSED too, and exits,
 *    which releases the port and the mappings.
 *
 * --stop-after N stops answering after N round trips and sleeps, holding
 * everything, until killed: the test of what a killed backend leaves.
 * Installed in Dom0 as /usr/lib/tern/tools/tern-echo (docs/toolstack.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <tern/abi.h>
#include <tern/device.h>
#include <tern/ioctl.h>

/* Guests/PingPong/PingSetup.swift: u32 words after struct tern_device_control. */
enum { SETUP_PINGS = 6, SETUP_PONGS = 7 };

static int dev;

static void die(const char *what)
{
	fprintf(stderr, "tern-echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint32_t load(volatile uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void store(volatile uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Maps `ref` (a grant ref, or a frame number with TERN_GRANT_MAP_FOREIGN) of `domid`. */
static void *map_page(uint32_t domid, uint64_t ref, uint32_t flags)
{
	struct tern_ioctl_map req = { .domid = domid, .flags = flags, .ref = ref };
	int prot = PROT_READ | (flags & TERN_GRANT_MAP_READONLY ? 0 : PROT_WRITE);
	void *page;

	if (ioctl(dev, TERN_IOCTL_MAP, &req) < 0)
		die("TERN_IOCTL_MAP");
	page = mmap(NULL, 4096, prot, MAP_SHARED, dev, (off_t)req.offset);
	if (page == MAP_FAILED)
		die("mmap");
	return page;
}

static void notify(int port_fd)
{
	char byte = 1;

	if (write(port_fd, &byte, 1) != 1)
		die("notify");
}

static void wait_event(int port_fd)
{
	uint32_t count;

	if (read(port_fd, &count, sizeof(count)) != sizeof(count))
		die("wait");
}

int main(int argc, char **argv)
{
	struct tern_ioctl_hypercall call = { .nr = TERN_HC_DEVICE_ADD };
	struct tern_device_add add = { .type = TERN_DEVICE_CHANNEL, .devid = 0, .backend = 0 };
	struct tern_ioctl_evtchn_bind bind = { .kind = TERN_EVTCHN_BIND_INTERDOMAIN };
	volatile struct tern_device_control *control;
	const volatile struct tern_device_control *foreign;
	volatile uint32_t *setup;
	unsigned long stop_after = 0, answered = 0;
	uint32_t domid;
	int port_fd;

	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--stop-after") == 0)) {
		fprintf(stderr, "usage: tern-echo DOMAIN-ID [--stop-after N]\n");
		return 2;
	}
	domid = (uint32_t)strtoul(argv[1], NULL, 10);
	if (argc == 4)
		stop_after = strtoul(argv[3], NULL, 10);
	dev = open("/dev/tern", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die("/dev/tern");

	add.frontend = (uint16_t)domid;
	call.buffer = (uint64_t)(uintptr_t)&add;
	call.buffer_size = sizeof(add);
	call.buffer_arg = 0;
	if (ioctl(dev, TERN_IOCTL_HYPERCALL, &call) < 0)
		die("TERN_IOCTL_HYPERCALL");
	if (call.result < 0) {
		fprintf(stderr, "tern-echo: TERN_HC_DEVICE_ADD: %s\n", strerror((int)-call.result));
		return 1;
	}
	printf("tern-echo: channel 0 of d%u: port %u, control page ref %u at %#llx\n", domid, add.port,
	       add.grant_ref, (unsigned long long)add.control_gpa);

	bind.remote_domid = domid;
	bind.remote_port = add.port;
	port_fd = ioctl(dev, TERN_IOCTL_EVTCHN_BIND, &bind);
	if (port_fd < 0)
		die("TERN_IOCTL_EVTCHN_BIND");
	control = map_page(domid, add.grant_ref, 0);
	foreign = map_page(domid, add.control_gpa / 4096, TERN_GRANT_MAP_FOREIGN | TERN_GRANT_MAP_READONLY);
	setup = (volatile uint32_t *)(control + 1);
	store(&control->backend_state, TERN_LINK_INITIALISING);
	while (load(&control->frontend_state) != TERN_LINK_READY) {
		if (load(&control->frontend_state) == TERN_LINK_CLOSED) {
			fprintf(stderr, "tern-echo: the guest closed before READY\n");
			return 1;
		}
		wait_event(port_fd);
	}
	/* The same page seen by grant and by frame number. */
	if (memcmp((const void *)control, (const void *)foreign, 4096) != 0) {
		fprintf(stderr, "tern-echo: the foreign mapping differs from the granted one\n");
		return 1;
	}
	printf("tern-echo: port bound (local %u); control page mapped by grant and by frame: same bytes\n",
	       bind.local_port);
	map_page(domid, control->ring_ref, 0);
	store(&control->backend_state, TERN_LINK_CONNECTED);
	notify(port_fd);
	fflush(stdout);

	for (;;) {
		uint32_t pings = load(&setup[SETUP_PINGS]);

		if (pings != load(&setup[SETUP_PONGS])) {
			if (stop_after && answered == stop_after) {
				printf("tern-echo: stopped after %lu round trips, holding on\n", answered);
				fflush(stdout);
				for (;;)
					pause();
			}
			store(&setup[SETUP_PONGS], pings);
			notify(port_fd);
			answered++;
		}
		if (load(&control->frontend_state) == TERN_LINK_CLOSED)
			break;
		wait_event(port_fd);
	}
	store(&control->backend_state, TERN_LINK_CLOSED);
	if (write(port_fd, "", 1) != 1 && errno != ENOTCONN) /* the guest may have gone */
		die("notify");
	printf("tern-echo: answered %lu event round trips\n", answered);
	return 0; /* the exit closes the port and unmaps the pages */
}
