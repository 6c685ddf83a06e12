import XCTest
@testable import TernCore

/// The virtual 16550A Dom0 will drive at COM1.
final class VirtualUARTTests: XCTestCase {
    typealias R = VirtualUART.Register

    func testOutputIsImmediateAndLineStatusAlwaysReady() {
        var uart = VirtualUART()
        XCTAssertEqual(uart.write(R.data, UInt8(ascii: "A")), UInt8(ascii: "A"))
        XCTAssertEqual(uart.read(R.lineStatus), 0x60)
        XCTAssertFalse(uart.interruptPending, "no interrupt without IER")
    }

    func testDivisorLatchDoesNotPrint() {
        var uart = VirtualUART()
        _ = uart.write(R.lineControl, 0x83)     // DLAB, 8N1
        XCTAssertNil(uart.write(R.data, 0x01))
        XCTAssertNil(uart.write(R.interruptEnable, 0x00))
        XCTAssertEqual(uart.divisor, 1)
        XCTAssertEqual(uart.read(R.data), 0x01)
        _ = uart.write(R.lineControl, 0x03)
        XCTAssertEqual(uart.write(R.data, 0x42), 0x42)
        XCTAssertEqual(uart.read(R.lineControl), 0x03)
    }

    /// What Linux's 8250 autoconfig does: IER scratch test, loopback MSR
    /// check (expects 0x90 for MCR = LOOP|OUT2|RTS), FIFO detection.
    func testLinux8250ProbeSeesA16550A() {
        var uart = VirtualUART()
        _ = uart.write(R.interruptEnable, 0)
        XCTAssertEqual(uart.read(R.interruptEnable) & 0x0F, 0)
        _ = uart.write(R.interruptEnable, 0x0F)
        XCTAssertEqual(uart.read(R.interruptEnable) & 0x0F, 0x0F)
        _ = uart.write(R.interruptEnable, 0)
        _ = uart.write(R.modemControl, 0x10 | 0x0A)
        XCTAssertEqual(uart.read(R.modemStatus) & 0xF0, 0x90)
        _ = uart.write(R.modemControl, 0)
        XCTAssertEqual(uart.read(R.modemStatus), 0xB0)
        _ = uart.write(R.interruptID, 0x01)      // enable FIFOs
        XCTAssertEqual(uart.read(R.interruptID) & 0xC0, 0xC0)
        _ = uart.write(R.scratch, 0xA5)
        XCTAssertEqual(uart.read(R.scratch), 0xA5)
    }

    func testLoopbackEchoesInsteadOfPrinting() {
        var uart = VirtualUART()
        _ = uart.write(R.modemControl, 0x10)
        XCTAssertNil(uart.write(R.data, 0x5A))
        XCTAssertEqual(uart.read(R.lineStatus) & 0x01, 0x01)
        XCTAssertEqual(uart.read(R.data), 0x5A)
        XCTAssertEqual(uart.read(R.lineStatus) & 0x01, 0)
    }

    func testReceiveInterruptAndFIFO() {
        var uart = VirtualUART()
        _ = uart.write(R.interruptEnable, 0x01)
        XCTAssertFalse(uart.interruptPending)
        XCTAssertEqual(uart.read(R.interruptID) & 0x0F, 0x01)
        uart.receive(UInt8(ascii: "l"))
        uart.receive(UInt8(ascii: "s"))
        XCTAssertTrue(uart.interruptPending)
        XCTAssertEqual(uart.read(R.interruptID) & 0x0F, 0x04)
        XCTAssertEqual(uart.read(R.data), UInt8(ascii: "l"))
        XCTAssertEqual(uart.read(R.data), UInt8(ascii: "s"))
        XCTAssertFalse(uart.interruptPending)
        for i in 0..<VirtualUART.receiveCapacity { XCTAssertTrue(uart.receive(UInt8(i))) }
        XCTAssertFalse(uart.receive(0), "a full FIFO drops input")
        _ = uart.write(R.interruptID, 0x03)       // FIFO on, clear receive
        XCTAssertFalse(uart.interruptPending)
    }

    func testTransmitEmptyInterruptIsRaisedAndAcknowledged() {
        var uart = VirtualUART()
        _ = uart.write(R.interruptEnable, 0x02)   // enabling it with an empty holder raises it
        XCTAssertTrue(uart.interruptPending)
        XCTAssertEqual(uart.read(R.interruptID) & 0x0F, 0x02)
        XCTAssertFalse(uart.interruptPending, "reading IIR acknowledges THRE")
        XCTAssertEqual(uart.read(R.interruptID) & 0x0F, 0x01)
        _ = uart.write(R.data, 0x41)
        XCTAssertTrue(uart.interruptPending, "every byte sent empties the holder again")
    }

    func testReadOnlyRegistersIgnoreWrites() {
        var uart = VirtualUART()
        XCTAssertNil(uart.write(R.lineStatus, 0))
        XCTAssertNil(uart.write(R.modemStatus, 0))
        XCTAssertEqual(uart.read(R.lineStatus), 0x60)
        XCTAssertEqual(uart.read(R.modemStatus), 0xB0)
        XCTAssertEqual(uart.read(99), 0xFF)
    }
}
