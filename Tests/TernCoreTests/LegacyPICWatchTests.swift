import XCTest
@testable import TernCore

/// Dom0's 8259 programming as Tern passes it on (LegacyPICWatch): the real
/// chip must never sit between ICW1 and ICW2, where it would deliver on
/// vectors 0-7, across an exit (a #DE panic in Tern when the PIT's line
/// rose in that window, seen in CI).
final class LegacyPICWatchTests: XCTestCase {
    /// The real chip as QEMU models it: ICW1 resets the base to 0 and
    /// unmasks every line until ICW2 sets the base.
    struct RealChip {
        var base: UInt8 = 0x20
        var awaitingICW2 = false
        var writes: [UInt8] = []

        mutating func apply(_ forward: LegacyPICWatch.Forward, to port: Port) {
            switch forward {
            case .nothing:
                break
            case .write(let value):
                write(value, to: port)
            case .initialise(let icw1, let icw2):
                write(icw1, to: .command)
                write(icw2, to: .data)
            }
        }

        mutating func write(_ value: UInt8, to port: Port) {
            writes.append(value)
            if port == .command && value & LegacyPICWatch.icw1 != 0 {
                (base, awaitingICW2) = (0, true)    // QEMU's pic_init_reset (every line unmasked too)
            } else if port == .data && awaitingICW2 {
                (base, awaitingICW2) = (value & LegacyPICWatch.vectorBaseMask, false)
            }
        }

        /// Could an interrupt taken now arrive on an exception vector?
        var deliversOnExceptionVectors: Bool { base < 32 }
    }

    enum Port { case command, data }

    /// Dom0's writes, each one exit: after every exit the real chip must be
    /// safe to take interrupts from.
    func run(_ writes: [(Port, UInt8)], on watch: inout LegacyPICWatch, _ chip: inout RealChip,
             file: StaticString = #filePath, line: UInt = #line) {
        for (port, value) in writes {
            chip.apply(port == .command ? watch.command(value) : watch.data(value), to: port)
            XCTAssertFalse(chip.deliversOnExceptionVectors, "after writing \(value) the chip delivers on vector \(chip.base)",
                           file: file, line: line)
        }
    }

    func testLinuxInitialisationIsPassedOnWithICW1AndICW2Together() {
        var master = LegacyPICWatch(minimumVectorBase: 32), slave = LegacyPICWatch(minimumVectorBase: 32)
        var realMaster = RealChip(), realSlave = RealChip()
        // Linux's init_8259A: mask both, ICW1-4 on each, then the masks.
        run([(.data, 0xFF)], on: &master, &realMaster)
        run([(.data, 0xFF)], on: &slave, &realSlave)
        run([(.command, 0x11)], on: &master, &realMaster)
        XCTAssertEqual(realMaster.writes, [0xFF], "ICW1 is held until ICW2")
        XCTAssertEqual(master.expect, .icw2)
        run([(.data, 0x30), (.data, 0x04), (.data, 0x01)], on: &master, &realMaster)
        run([(.command, 0x11), (.data, 0x38), (.data, 0x02), (.data, 0x01)], on: &slave, &realSlave)
        XCTAssertEqual(realMaster.writes, [0xFF, 0x11, 0x30, 0x04, 0x01])
        XCTAssertEqual(realSlave.writes, [0xFF, 0x11, 0x38, 0x02, 0x01])
        XCTAssertEqual(master.vectorBase, 0x30)
        XCTAssertEqual(slave.vectorBase, 0x38)
        XCTAssertEqual(master.vector(forLine: 4), 0x34, "ICW1 unmasked every line")
        run([(.data, 0xFB)], on: &master, &realMaster)   // all but the cascade
        XCTAssertEqual(master.expect, .mask)
        XCTAssertNil(master.vector(forLine: 4))
        XCTAssertEqual(master.vector(forLine: 2), 0x32)
        XCTAssertNil(master.refusedBase)
    }

    func testABaseInTheExceptionRangeIsRaised() {
        for (isMaster, base) in [(true, UInt8(0x00)), (false, UInt8(0x08)), (true, UInt8(0x18))] {
            var watch = LegacyPICWatch(minimumVectorBase: 32), chip = RealChip()
            run([(.command, 0x11), (.data, base), (.data, isMaster ? 0x04 : 0x02), (.data, 0x01)], on: &watch, &chip)
            XCTAssertEqual(watch.vectorBase, 32)
            XCTAssertEqual(watch.refusedBase, base)
            XCTAssertEqual(chip.writes[1], 32)
        }
    }

    func testSingleChipWithoutICW4AndOperationCommands() {
        var watch = LegacyPICWatch(minimumVectorBase: 32), chip = RealChip()
        run([(.command, 0x13), (.data, 0x48)], on: &watch, &chip)   // single, ICW4: no ICW3
        XCTAssertEqual(watch.expect, .icw4)
        run([(.data, 0x01)], on: &watch, &chip)
        XCTAssertEqual(watch.expect, .mask)
        var plain = LegacyPICWatch(minimumVectorBase: 32)
        run([(.command, 0x12), (.data, 0x50)], on: &plain, &chip)   // single, no ICW4
        XCTAssertEqual(plain.expect, .mask)
        // OCW2 (EOI) and OCW3 (read ISR) go straight through, bases kept.
        XCTAssertEqual(plain.command(0x20), .write(0x20))
        XCTAssertEqual(plain.command(0x0B), .write(0x0B))
        XCTAssertEqual(plain.vectorBase, 0x50)
    }

    func testAnICW1WithoutICW2LeavesTheChipAsItWas() {
        var watch = LegacyPICWatch(minimumVectorBase: 32), chip = RealChip()
        run([(.command, 0x11), (.data, 0x30), (.data, 0x04), (.data, 0x01), (.data, 0xFE)], on: &watch, &chip)
        XCTAssertEqual(watch.command(0x11), .nothing)
        XCTAssertEqual(chip.writes.count, 5)
        XCTAssertEqual(watch.vector(forLine: 0), 0x30, "the chip still runs the old programming")
        XCTAssertEqual(watch.data(0x40), .initialise(icw1: 0x11, icw2: 0x40))
    }
}
