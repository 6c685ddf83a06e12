/*
 * The guest's console, under print(): putchar buffers a line, and a flush
 * writes it to the console device (tern/device.h): the bytes go into the
 * `out` ring of struct tern_console_ring and a send on the device's port
 * tells Tern, which consumes the ring during the send and prints whole
 * lines as "(dN) text". Without a console device (the start info lacks
 * TERN_CONSOLE_DEVICE, or the device page does not list it), or if the
 * device fails, the line goes out with TERN_HC_CONSOLE_WRITE instead.
 * Input comes the other way: the toolstack (`tern console`) types into the
 * `in` ring through Tern, which notifies the same port.
 */
#include <stddef.h>
#include <stdint.h>
#include "tern_guest.h"

static char line[160];
static size_t line_used;

/* How lines go out; decided at the first flush. */
enum console_path { CONSOLE_UNDECIDED, CONSOLE_DEVICE, CONSOLE_HYPERCALL };
static enum console_path path = CONSOLE_UNDECIDED;
static volatile struct tern_console_ring *ring;
static uint32_t ring_port;

/* Looks for this domain's console in its device page, read as a sequence
 * lock (device.h); on success sets `ring` and `ring_port`. */
static int find_console_device(void) {
    const struct tern_start_info *info = tern_guest_start_info;
    if (info == NULL || !(info->console & TERN_CONSOLE_DEVICE) || info->shared.device_page_gpa == 0) {
        return 0;
    }
    /* The device page is mapped read-only at this guest-physical address,
     * which the identity map makes a pointer. */
    const struct tern_device_page *page = (const struct tern_device_page *)(uintptr_t)info->shared.device_page_gpa;
    if (page->magic != TERN_DEVICE_PAGE_MAGIC) {
        return 0;
    }
    for (;;) {
        uint32_t version = *tern_guest_device_page_version(page);
        if (version & 1) {            /* Tern is mid-update */
            tern_guest_pause();
            continue;
        }
        tern_ring_rmb();
        uint32_t count = *tern_guest_device_page_count(page);
        if (count > TERN_DEVICE_MAX) {
            count = TERN_DEVICE_MAX;
        }
        uint64_t control = 0;
        uint32_t port = 0;
        for (uint32_t i = 0; i < count; i++) {
            const struct tern_device_entry *e = tern_guest_device_entry(page, i);
            if (e->type == TERN_DEVICE_CONSOLE && e->devid == 0 && e->backend == TERN_DOMID_TERN &&
                !(e->flags & TERN_DEVICE_FLAG_BACKEND) && e->state == TERN_DEVICE_ACTIVE) {
                control = e->control_gpa;
                port = e->port;
                break;
            }
        }
        tern_ring_rmb();
        if (*tern_guest_device_page_version(page) != version) {
            continue;                 /* changed while read: again */
        }
        if (control == 0 || port == TERN_EVENT_PORT_INVALID) {
            return 0;
        }
        /* The console ring is this domain's control page 0, in its own
         * memory (identity-mapped). */
        ring = (volatile struct tern_console_ring *)(uintptr_t)control;
        ring_port = port;
        return 1;
    }
}

/* Puts `n` bytes into the out ring and notifies, a ring's worth at a time.
 * Returns how many bytes Tern took; fewer than `n` if the device failed
 * (then none of the rest is left in the ring). */
static size_t device_write(const char *bytes, size_t n) {
    size_t done = 0;
    while (done < n) {
        uint32_t producer = ring->out_prod;
        uint32_t consumer = ring->out_cons;
        uint32_t used = producer - consumer;
        if (used > TERN_CONSOLE_OUT_SIZE) {
            return done;              /* indices corrupt */
        }
        size_t room = TERN_CONSOLE_OUT_SIZE - used;
        if (room == 0) {              /* full: a send makes Tern empty it */
            if (tern_hypercall(TERN_HC_EVTCHN_SEND, ring_port, 0, 0, 0, 0) < 0 || ring->out_cons == consumer) {
                return done;
            }
            continue;
        }
        size_t chunk = n - done < room ? n - done : room;
        for (size_t i = 0; i < chunk; i++) {
            ring->out[(producer + i) & (TERN_CONSOLE_OUT_SIZE - 1)] = bytes[done + i];
        }
        tern_ring_wmb();              /* the bytes before the index */
        ring->out_prod = producer + (uint32_t)chunk;
        if (tern_hypercall(TERN_HC_EVTCHN_SEND, ring_port, 0, 0, 0, 0) < 0) {
            ring->out_prod = producer;   /* not taken: withdraw them */
            return done;
        }
        done += chunk;
    }
    return done;
}

void tern_guest_console_flush(void) {
    if (line_used == 0) {
        return;
    }
    if (path == CONSOLE_UNDECIDED) {
        path = find_console_device() ? CONSOLE_DEVICE : CONSOLE_HYPERCALL;
    }
    size_t done = 0;
    if (path == CONSOLE_DEVICE) {
        done = device_write(line, line_used);
        if (done < line_used) {
            path = CONSOLE_HYPERCALL;    /* the device failed: the hypercall from now on */
        }
    }
    if (done < line_used) {
        tern_hypercall(TERN_HC_CONSOLE_WRITE, (uint64_t)(uintptr_t)(line + done), line_used - done, 0, 0, 0);
    }
    line_used = 0;
}

uint32_t tern_guest_console_port(void) {
    if (path == CONSOLE_UNDECIDED) {
        path = find_console_device() ? CONSOLE_DEVICE : CONSOLE_HYPERCALL;
    }
    return path == CONSOLE_DEVICE ? ring_port : 0;
}

size_t tern_guest_console_read(uint8_t *buffer, size_t max) {
    if (tern_guest_console_port() == 0) {
        return 0;
    }
    uint32_t consumer = ring->in_cons;
    uint32_t producer = ring->in_prod;
    tern_ring_rmb();                  /* the index before the bytes */
    if (producer - consumer > TERN_CONSOLE_IN_SIZE) {
        ring->in_cons = producer;     /* corrupt: drop what is there */
        return 0;
    }
    size_t n = 0;
    while (consumer != producer && n < max) {
        buffer[n++] = ring->in[consumer & (TERN_CONSOLE_IN_SIZE - 1)];
        consumer++;
    }
    tern_ring_mb();                   /* the bytes read before the room is given back */
    ring->in_cons = consumer;
    return n;
}

int putchar(int c) {
    line[line_used++] = (char)c;
    if (c == '\n' || line_used == sizeof line) {
        tern_guest_console_flush();
    }
    return c;
}
