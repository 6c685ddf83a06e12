/*
 * tern-hostile-msi: sends message-signalled interrupts at Tern's own
 * vectors, as a broken or hostile Dom0 could (it programs the devices'
 * MSIs and the IOAPIC itself; docs/dom0.md, "Known gaps"), to check that
 * Tern drops them and stays up:
 *
 *   tern-hostile-msi [VECTOR ...]     (default: 3 8 14 17 20 240 255)
 *
 * The source is the HPET's timer 0 in FSB mode: its interrupt is a write of
 * the vector to the LAPIC's MSI address 0xFEE00000 (IA-PC HPET
 * specification 1.0a, 2.3.9 and 2.3.8; the MSI format is AMD APM vol. 2,
 * 16.5). Each vector is sent once, 1 ms after the timer is armed.
 *
 * Needs root, /dev/mem access to the HPET (Dom0 booted with hpet=disable,
 * so Linux does not claim it) and QEMU's HPET with MSI (-global
 * hpet.msi=on). Puts the HPET back as it found it. Installed in Dom0 as
 * /usr/lib/tern/tools/tern-hostile-msi.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The HPET's registers (IA-PC HPET specification 1.0a, 2.3). */
enum {
    HPET_BASE = 0xFED00000,
    HPET_SIZE = 0x400,
    HPET_CAPABILITIES = 0x000,   /* bits 63:32: counter period in fs */
    HPET_CONFIG = 0x010,         /* bit 0: enable, bit 1: legacy routes */
    HPET_COUNTER = 0x0F0,
    HPET_T0_CONFIG = 0x100,
    HPET_T0_COMPARATOR = 0x108,
    HPET_T0_FSB_ROUTE = 0x110,   /* bits 63:32 address, 31:0 data */
};
enum {
    HPET_ENABLE = 1 << 0,
    T0_INTERRUPT_ENABLE = 1 << 2,
    T0_FSB_ENABLE = 1 << 14,
    T0_FSB_CAPABLE = 1 << 15,
};
static const uint32_t MSI_ADDRESS = 0xFEE00000; /* destination APIC 0, physical */
static const uint64_t FEMTOSECONDS_PER_MILLISECOND = 1000000000000ULL;
static const int DEFAULT_VECTORS[] = {3, 8, 14, 17, 20, 240, 255};

static volatile uint32_t *hpet;

/* 32-bit accesses: the width every HPET (and QEMU's) accepts. */
static uint32_t get(unsigned offset) { return hpet[offset / 4]; }
static void put(unsigned offset, uint32_t value) { hpet[offset / 4] = value; }
static uint64_t get64(unsigned offset) { return get(offset) | (uint64_t)get(offset + 4) << 32; }
static void put64(unsigned offset, uint64_t value) { put(offset, (uint32_t)value); put(offset + 4, value >> 32); }

static void wait_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv)
{
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        perror("tern-hostile-msi: /dev/mem");
        return 1;
    }
    void *map = mmap(NULL, HPET_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, HPET_BASE);
    if (map == MAP_FAILED) {
        perror("tern-hostile-msi: mmap of the HPET");
        return 1;
    }
    hpet = map;
    uint32_t period_fs = get(HPET_CAPABILITIES + 4);
    uint32_t t0 = get(HPET_T0_CONFIG);
    if (period_fs == 0 || !(t0 & T0_FSB_CAPABLE)) {
        fprintf(stderr, "tern-hostile-msi: no HPET with FSB (MSI) delivery (QEMU: -global hpet.msi=on)\n");
        return 1;
    }
    uint32_t config = get(HPET_CONFIG);
    uint64_t one_ms = FEMTOSECONDS_PER_MILLISECOND / period_fs;

    int count = argc > 1 ? argc - 1 : (int)(sizeof DEFAULT_VECTORS / sizeof DEFAULT_VECTORS[0]);
    for (int i = 0; i < count; i++) {
        int vector = argc > 1 ? atoi(argv[i + 1]) : DEFAULT_VECTORS[i];
        if (vector < 0 || vector > 255) {
            fprintf(stderr, "tern-hostile-msi: vector %d is not 0-255\n", vector);
            return 2;
        }
        put(HPET_T0_CONFIG, 0);
        put64(HPET_T0_FSB_ROUTE, (uint64_t)MSI_ADDRESS << 32 | (uint32_t)vector);
        put(HPET_CONFIG, (config & ~3u) | HPET_ENABLE);
        put64(HPET_T0_COMPARATOR, get64(HPET_COUNTER) + one_ms);
        put(HPET_T0_CONFIG, T0_FSB_ENABLE | T0_INTERRUPT_ENABLE);
        wait_ms(20);
        printf("tern-hostile-msi: MSI sent on vector %d\n", vector);
        fflush(stdout);
    }
    put(HPET_T0_CONFIG, t0 & ~(uint32_t)(T0_FSB_ENABLE | T0_INTERRUPT_ENABLE));
    put(HPET_CONFIG, config);
    printf("tern-hostile-msi: HPET restored\n");
    return 0;
}
