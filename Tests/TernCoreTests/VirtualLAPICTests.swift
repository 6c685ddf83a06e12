import XCTest
@testable import TernCore

/// Dom0's virtual LAPIC: registers, priorities, EOI, self-IPIs, timer.
final class VirtualLAPICTests: XCTestCase {
    typealias R = VirtualLAPIC.Register

    func enabled() -> VirtualLAPIC {
        var apic = VirtualLAPIC()
        XCTAssertEqual(apic.write(R.svr, 0x1FF, now: 0), .none)
        XCTAssertTrue(apic.isEnabled)
        return apic
    }

    func testResetState() {
        let apic = VirtualLAPIC()
        XCTAssertFalse(apic.isEnabled)
        XCTAssertEqual(apic.read(R.id, now: 0), 0)
        XCTAssertEqual(apic.read(R.version, now: 0), 0x0005_0014)
        XCTAssertEqual(apic.read(R.svr, now: 0), 0xFF)
        XCTAssertEqual(apic.read(R.lvtTimer, now: 0), VirtualLAPIC.lvtMasked)
        XCTAssertEqual(apic.read(0xFF0, now: 0), 0, "unknown registers read 0")
    }

    func testDisabledAPICDeliversNothing() {
        var apic = VirtualLAPIC()
        apic.accept(0x40, level: false)
        XCTAssertNil(apic.deliverable)
        _ = apic.write(R.svr, 0x1FF, now: 0)
        XCTAssertEqual(apic.deliverable, 0x40)
    }

    func testPriorityTPRAndNesting() {
        var apic = enabled()
        apic.accept(0x31, level: false)
        apic.accept(0x52, level: true)
        XCTAssertEqual(apic.read(R.irr + 0x20, now: 0), 1 << (0x52 - 0x40))
        XCTAssertEqual(apic.read(R.tmr + 0x20, now: 0), 1 << (0x52 - 0x40))
        XCTAssertEqual(apic.deliverable, 0x52)
        apic.acknowledge(0x52)
        XCTAssertEqual(apic.read(R.ppr, now: 0), 0x50)
        XCTAssertNil(apic.deliverable, "0x31 is below the class in service")
        apic.accept(0x61, level: false)
        XCTAssertEqual(apic.deliverable, 0x61, "a higher class nests")
        apic.acknowledge(0x61)
        XCTAssertEqual(apic.write(R.eoi, 0, now: 0), .endOfInterrupt(0x61))
        XCTAssertEqual(apic.write(R.eoi, 0, now: 0), .endOfInterrupt(0x52))
        XCTAssertEqual(apic.write(R.eoi, 0, now: 0), .none, "nothing in service")
        XCTAssertEqual(apic.deliverable, 0x31)
        // TPR masks a class and below.
        _ = apic.write(R.tpr, 0x30, now: 0)
        XCTAssertNil(apic.deliverable)
        _ = apic.write(R.tpr, 0x20, now: 0)
        XCTAssertEqual(apic.deliverable, 0x31)
    }

    func testIllegalVectorIsDroppedAndReported() {
        var apic = enabled()
        apic.accept(3, level: false)
        XCTAssertNil(apic.deliverable)
        XCTAssertNotEqual(apic.read(R.esr, now: 0), 0)
    }

    func testSelfIPIs() {
        var apic = enabled()
        XCTAssertEqual(apic.write(R.icrLow, 0x4_40F6, now: 0), .none)          // shorthand self
        XCTAssertEqual(apic.deliverable, 0xF6)
        _ = apic.write(R.selfIPI, 0xF7, now: 0)
        XCTAssertEqual(apic.deliverable, 0xF7)
        _ = apic.write(R.icrHigh, 1 << 24, now: 0)
        XCTAssertEqual(apic.write(R.icrLow, 0x40F5, now: 0), .unsupportedIPI(0x40F5), "APIC ID 1 does not exist")
        XCTAssertEqual(apic.write(R.icrLow, 0xC_4500, now: 0), .unsupportedIPI(0xC_4500), "INIT to all")
    }

    func testOneShotTimer() {
        var apic = enabled()
        _ = apic.write(R.timerDivide, 0x3, now: 0)                              // divide by 16
        _ = apic.write(R.lvtTimer, 0xEC, now: 0)
        _ = apic.write(R.timerInitial, 1000, now: 1_000)
        XCTAssertEqual(apic.read(R.timerCurrent, now: 1_000), 1000)
        XCTAssertEqual(apic.read(R.timerCurrent, now: 1_000 + 16 * 250), 750)
        XCTAssertFalse(apic.updateTimer(now: 1_000 + 15_999))
        XCTAssertTrue(apic.updateTimer(now: 1_000 + 16_000))
        XCTAssertEqual(apic.deliverable, 0xEC)
        XCTAssertEqual(apic.read(R.timerCurrent, now: 20_000), 0)
        XCTAssertFalse(apic.updateTimer(now: 40_000), "one-shot fires once")
    }

    func testPeriodicTimerRearmsAndSkipsMissedPeriods() {
        var apic = enabled()
        _ = apic.write(R.timerDivide, 0xB, now: 0)                              // divide by 1
        _ = apic.write(R.lvtTimer, 0x2_00EC, now: 0)
        _ = apic.write(R.timerInitial, 100, now: 0)
        XCTAssertTrue(apic.updateTimer(now: 100))
        XCTAssertEqual(apic.timerDeadline, 200)
        XCTAssertTrue(apic.updateTimer(now: 1_050))
        XCTAssertEqual(apic.timerDeadline, 1_100)
        XCTAssertEqual(apic.read(R.timerCurrent, now: 1_075), 25)
    }

    func testMaskedTimerDoesNotInterruptAndZeroStops() {
        var apic = enabled()
        _ = apic.write(R.timerDivide, 0xB, now: 0)
        _ = apic.write(R.lvtTimer, 0x1_00EC, now: 0)
        _ = apic.write(R.timerInitial, 10, now: 0)
        XCTAssertFalse(apic.updateTimer(now: 10))
        XCTAssertNil(apic.deliverable)
        _ = apic.write(R.lvtTimer, 0xEC, now: 0)
        _ = apic.write(R.timerInitial, 10, now: 20)
        _ = apic.write(R.timerInitial, 0, now: 25)
        XCTAssertFalse(apic.updateTimer(now: 100))
    }

    func testSoftwareDisableMasksLVTs() {
        var apic = enabled()
        _ = apic.write(R.lvtLINT0, 0x700, now: 0)
        XCTAssertEqual(apic.read(R.lvtLINT0, now: 0), 0x700)
        _ = apic.write(R.svr, 0xFF, now: 0)
        XCTAssertEqual(apic.read(R.lvtLINT0, now: 0) & VirtualLAPIC.lvtMasked, VirtualLAPIC.lvtMasked)
    }
}

/// MMIO instruction decoding and the guest page walk used to fetch it.
final class MMIOInstructionTests: XCTestCase {
    func testLinuxAPICAccessors() {
        // mov 0xffffffffff5fc0b0,%eax -> 8b 04 25 b0 c0 5f ff
        XCTAssertEqual(MMIOInstruction.decode([0x8B, 0x04, 0x25, 0xB0, 0xC0, 0x5F, 0xFF, 0x90]),
                       MMIOInstruction(operation: .load(register: 0), length: 7))
        // mov %esi,0xffffffffff5fc0b0(,%riz) -> 89 34 25 disp32
        XCTAssertEqual(MMIOInstruction.decode([0x89, 0x34, 0x25, 0xB0, 0xC0, 0x5F, 0xFF]),
                       MMIOInstruction(operation: .store(register: 6), length: 7))
        // mov (%rdi),%eax ; mov %r12d,0x300(%rax) ; mov 0x10(%rbx),%r9d
        XCTAssertEqual(MMIOInstruction.decode([0x8B, 0x07]), MMIOInstruction(operation: .load(register: 0), length: 2))
        XCTAssertEqual(MMIOInstruction.decode([0x44, 0x89, 0xA0, 0x00, 0x03, 0x00, 0x00]),
                       MMIOInstruction(operation: .store(register: 12), length: 7))
        XCTAssertEqual(MMIOInstruction.decode([0x44, 0x8B, 0x4B, 0x10]), MMIOInstruction(operation: .load(register: 9), length: 4))
        // movl $0x0,0xb0(%rax) -> c7 80 b0 00 00 00 00 00 00 00
        XCTAssertEqual(MMIOInstruction.decode([0xC7, 0x80, 0xB0, 0, 0, 0, 0, 0, 0, 0]),
                       MMIOInstruction(operation: .storeImmediate(0), length: 10))
        // RIP-relative load, with a segment prefix: 65 8b 05 disp32
        XCTAssertEqual(MMIOInstruction.decode([0x65, 0x8B, 0x05, 1, 2, 3, 4]), MMIOInstruction(operation: .load(register: 0), length: 7))
        // SIB with a base and disp8: 8b 44 24 08 (mov 0x8(%rsp),%eax)
        XCTAssertEqual(MMIOInstruction.decode([0x8B, 0x44, 0x24, 0x08]), MMIOInstruction(operation: .load(register: 0), length: 4))
        // SIB without a base, mod 0: 8b 04 8d disp32
        XCTAssertEqual(MMIOInstruction.decode([0x8B, 0x04, 0x8D, 0, 0, 0, 0]), MMIOInstruction(operation: .load(register: 0), length: 7))
    }

    func testRefusals() {
        XCTAssertNil(MMIOInstruction.decode([0x48, 0x8B, 0x07]), "64-bit access")
        XCTAssertNil(MMIOInstruction.decode([0x66, 0x8B, 0x07]), "16-bit access")
        XCTAssertNil(MMIOInstruction.decode([0x8B, 0xC0]), "register operand")
        XCTAssertNil(MMIOInstruction.decode([0x0F, 0xB6, 0x07]), "movzx")
        XCTAssertNil(MMIOInstruction.decode([0xC7, 0x88, 0, 0, 0, 0]), "C7 /1, and cut short")
        XCTAssertNil(MMIOInstruction.decode([0x8B, 0x04]), "cut short before the SIB")
        XCTAssertNil(MMIOInstruction.decode([0x8B, 0x80, 0, 0]), "cut short in the displacement")
        XCTAssertNil(MMIOInstruction.decode([]))
        XCTAssertNil(MMIOInstruction.decode([UInt8](repeating: 0x65, count: 15) + [0x8B, 0x07]), "longer than 15 bytes")
    }

    func testPageWalk() {
        // PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000; a 2 MiB
        // page in PD slot 1, a 1 GiB page in PDPT slot 2.
        var memory: [UInt64: UInt64] = [:]
        let linear: UInt64 = 0xFFFF_FFFF_8100_0123 & 0x0000_7FFF_FFFF_FFFF   // low half, same indices shape
        let l4 = (linear >> 39) & 0x1FF, l3 = (linear >> 30) & 0x1FF, l2 = (linear >> 21) & 0x1FF, l1 = (linear >> 12) & 0x1FF
        memory[0x1000 + l4 * 8] = 0x2000 | 1
        memory[0x2000 + l3 * 8] = 0x3000 | 1
        memory[0x3000 + l2 * 8] = 0x4000 | 1
        memory[0x4000 + l1 * 8] = 0x9_8000 | 1 | (1 << 63)
        let read: (UInt64) -> UInt64? = { memory[$0] ?? 0 }
        XCTAssertEqual(GuestPageWalk.translate(linear, cr3: 0x1000, read: read), 0x9_8123)
        memory[0x3000 + l2 * 8] = 0x4020_0000 | 1 | 0x80
        XCTAssertEqual(GuestPageWalk.translate(linear, cr3: 0x1000, read: read), 0x4020_0000 | (linear & 0x1F_FFFF))
        memory[0x2000 + l3 * 8] = 0x8000_0000 | 1 | 0x80
        XCTAssertEqual(GuestPageWalk.translate(linear, cr3: 0x1000, read: read), 0x8000_0000 | (linear & 0x3FFF_FFFF))
        memory[0x1000 + l4 * 8] = 0x2000
        XCTAssertNil(GuestPageWalk.translate(linear, cr3: 0x1000, read: read), "not present")
        XCTAssertNil(GuestPageWalk.translate(linear, cr3: 0x1000, read: { _ in nil }), "unreadable table")
    }
}
