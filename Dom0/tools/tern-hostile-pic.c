/*
 * tern-hostile-pic: programs the machine's two 8259s as a broken or hostile
 * Dom0 could, to check that Tern stays up (docs/dom0.md, "8259 mode"):
 *
 *   tern-hostile-pic
 *
 * 1. starts the PIT's channel 0 as a 1 kHz rate generator (IRQ 0 rises
 *    every millisecond);
 * 2. initialises the master with vector base 0 and the slave with base 8,
 *    both in the exception range, waiting 20 ms between each ICW1 and its
 *    ICW2. ICW1 resets a chip's base to 0 and unmasks every line: a Tern
 *    that passed it on at once took the PIT's interrupt as vector 0, a #DE
 *    in the hypervisor. Tern must hold ICW1 until ICW2 and raise the bases
 *    to 32 (it logs a warning for each);
 * 3. unmasks IRQ 0 for 20 ms (it arrives at vector 32, not 0), then sends
 *    the 8259 an EOI;
 * 4. puts back what Linux programs in APIC mode (bases 0x30/0x38, every
 *    line masked) and stops the PIT as Linux's shutdown does.
 *
 * Needs root (ioperm), and Dom0 booted with hpet=disable: in the HPET's
 * legacy-replacement mode, which Linux turns on otherwise, QEMU disconnects
 * the PIT from IRQ 0. Prints what it did; Tern's log shows the rest.
 * Installed in Dom0 as /usr/lib/tern/tools/tern-hostile-pic.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/io.h>
#include <time.h>

/* The PC's fixed I/O ports (8259A and 8254 datasheets). */
enum {
    PIC_MASTER_COMMAND = 0x20, PIC_MASTER_DATA = 0x21,
    PIC_SLAVE_COMMAND = 0xA0, PIC_SLAVE_DATA = 0xA1,
    PIT_CHANNEL0 = 0x40, PIT_MODE = 0x43,
};
enum {
    ICW1_INIT_WITH_ICW4 = 0x11,         /* edge, cascaded, ICW4 follows */
    ICW3_MASTER_CASCADE_ON_IRQ2 = 0x04, /* a bit per line */
    ICW3_SLAVE_ID = 0x02,               /* the line's number */
    ICW4_8086 = 0x01,
    OCW2_NONSPECIFIC_EOI = 0x20,
    MASK_ALL = 0xFF, MASK_ALL_BUT_IRQ0 = 0xFE,
    LINUX_MASTER_BASE = 0x30, LINUX_SLAVE_BASE = 0x38,
    HOSTILE_MASTER_BASE = 0x00, HOSTILE_SLAVE_BASE = 0x08,
};
enum {
    PIT_CH0_LOHI_RATE_GENERATOR = 0x34, /* channel 0, lobyte/hibyte, mode 2 */
    PIT_CH0_LOHI_ONE_SHOT = 0x30,       /* mode 0: Linux's PIT shutdown */
    PIT_HZ = 1193182, TICK_HZ = 1000,
    WINDOW_MS = 20,
};

static void wait_ms(long ms)
{
    /* Busy: the point is to keep running (and exiting to Tern) meanwhile. */
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static void pit_start(uint16_t divisor)
{
    outb(PIT_CH0_LOHI_RATE_GENERATOR, PIT_MODE);
    outb(divisor & 0xFF, PIT_CHANNEL0);
    outb(divisor >> 8, PIT_CHANNEL0);
}

static void pic_init(uint16_t command, uint16_t data, uint8_t base, uint8_t icw3, long pause_ms)
{
    outb(ICW1_INIT_WITH_ICW4, command);
    wait_ms(pause_ms);
    outb(base, data);
    outb(icw3, data);
    outb(ICW4_8086, data);
}

int main(void)
{
    if (ioperm(PIC_MASTER_COMMAND, 2, 1) || ioperm(PIC_SLAVE_COMMAND, 2, 1) || ioperm(PIT_CHANNEL0, 4, 1)) {
        perror("tern-hostile-pic: ioperm");
        return 1;
    }
    outb(MASK_ALL, PIC_MASTER_DATA);
    outb(MASK_ALL, PIC_SLAVE_DATA);
    pit_start(PIT_HZ / TICK_HZ);
    pic_init(PIC_MASTER_COMMAND, PIC_MASTER_DATA, HOSTILE_MASTER_BASE, ICW3_MASTER_CASCADE_ON_IRQ2, WINDOW_MS);
    pic_init(PIC_SLAVE_COMMAND, PIC_SLAVE_DATA, HOSTILE_SLAVE_BASE, ICW3_SLAVE_ID, WINDOW_MS);
    printf("tern-hostile-pic: 8259 bases %d and %d set with the PIT at %d Hz, %d ms between ICW1 and ICW2\n",
           HOSTILE_MASTER_BASE, HOSTILE_SLAVE_BASE, TICK_HZ, WINDOW_MS);
    outb(MASK_ALL, PIC_SLAVE_DATA);
    outb(MASK_ALL_BUT_IRQ0, PIC_MASTER_DATA);
    wait_ms(WINDOW_MS);
    outb(MASK_ALL, PIC_MASTER_DATA);
    outb(OCW2_NONSPECIFIC_EOI, PIC_MASTER_COMMAND);
    printf("tern-hostile-pic: IRQ 0 unmasked for %d ms\n", WINDOW_MS);

    pic_init(PIC_MASTER_COMMAND, PIC_MASTER_DATA, LINUX_MASTER_BASE, ICW3_MASTER_CASCADE_ON_IRQ2, 0);
    pic_init(PIC_SLAVE_COMMAND, PIC_SLAVE_DATA, LINUX_SLAVE_BASE, ICW3_SLAVE_ID, 0);
    outb(MASK_ALL, PIC_MASTER_DATA);
    outb(MASK_ALL, PIC_SLAVE_DATA);
    outb(PIT_CH0_LOHI_ONE_SHOT, PIT_MODE);
    outb(0, PIT_CHANNEL0);
    outb(0, PIT_CHANNEL0);
    printf("tern-hostile-pic: Linux's programming restored\n");
    return 0;
}
