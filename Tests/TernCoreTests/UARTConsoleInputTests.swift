import XCTest
import TernABI
@testable import TernCore

/// TERN_HC_CONSOLE_INPUT for a guest whose console is its virtual UART (a
/// Linux guest: no PV console device): the bytes go into the UART's
/// receive FIFO, as far as it has room, and the guest reads them at RBR.
final class UARTConsoleInputTests: XCTestCase {
    func testTypedBytesReachTheUARTsReceiveFIFO() {
        let machine = FakeHostMachine(base: 0x10_0000, size: 24 << 20)
        let host = InterDomainHost(machine: machine)
        let dom0 = host.build(id: 0, name: "dom0", privileged: true, emulation: .deviceOwner)
        let linux = host.build(id: 1, name: "linux", emulation: [.localAPIC, .serialPort])
        linux.devices = DeviceList()   // as a Linux guest is built: no PV console device
        let text = Array("uname -r\n".utf8)
        XCTAssertTrue(text.withUnsafeBytes { host.memory(of: dom0).copyToGuest(at: 0x9000, from: $0) })
        XCTAssertEqual(host.call(dom0, TERN_HC_CONSOLE_INPUT, 1, 0x9000, UInt64(text.count)), Int64(text.count))
        var read: [UInt8] = []
        for _ in text { read.append(linux.context.uart!.read(VirtualUART.Register.data)) }
        XCTAssertEqual(read, text)

        let plain = host.build(id: 2, name: "plain")
        plain.devices = DeviceList()
        XCTAssertEqual(host.call(dom0, TERN_HC_CONSOLE_INPUT, 2, 0x9000, 1), -Int64(TERN_ENOSYS), "no console at all")
    }
}
