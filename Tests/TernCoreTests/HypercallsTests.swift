import XCTest
import TernABI
@testable import TernCore

/// The hypercall dispatcher over a fake host: every call number, every
/// argument check, every guest pointer bounded by the caller's memory.
final class HypercallsTests: XCTestCase {
    final class FakeHypercallHost: HypercallHost {
        typealias Memory = FakeHostMemory
        let host: FakeHostMemory
        var now: UInt64 = 1_000_000
        var time = tern_time_info(tsc_hz: 2_000_000_000, system_time_ns: 123_456_789, tsc_stamp: 0xABCD_EF01_2345, reserved: 0)
        var domains: [UInt16: Domain] = [:]
        var lines: [(domain: UInt16, text: [UInt8])] = []
        var ring: ConsoleRing?

        var consoleRing: ConsoleRing { ring! }
        func firstDomain(atOrAfter id: UInt64) -> Domain? {
            domains.keys.sorted().first { UInt64($0) >= id }.flatMap { domains[$0] }
        }

        init(host: FakeHostMemory) { self.host = host }

        func memory(of domain: Domain) -> GuestMemory<FakeHostMemory> {
            GuestMemory(of: domain, host: host)
        }
        func nowNanoseconds() -> UInt64 { now }
        func timeInfo() -> tern_time_info { time }
        func domain(withID id: UInt16) -> Domain? { domains[id] }
        func consoleLine(from domain: Domain, _ line: UnsafeRawBufferPointer) {
            lines.append((domain.id, Array(line)))
        }
        var texts: [String] { lines.map { String(decoding: $0.text, as: UTF8.self) } }
        var released: [UInt16] = []
        func releaseDying(_ domain: Domain) { released.append(domain.id) }
        func createDomain(_ request: DomainRequest) -> Result<CreatedDomain, DomainCreateFailure> { .failure(.outOfMemory) }
        func control(_ domain: Domain, _ operation: DomainOperation) {}
        func prepareShells(memoryBytes: UInt64, count: Int) -> Int? { 0 }
        func uartInput(_ bytes: UnsafeRawBufferPointer, to domain: Domain) -> Int { 0 }
        func systemInfo() -> tern_system_info { tern_system_info() }
    }

    static let page: UInt64 = 4096
    static let guestSize: UInt64 = 4 * page
    var hostMemory: FakeHostMemory!
    var host: FakeHypercallHost!
    var domain: Domain!
    var vcpu: VCPU!

    override func setUp() {
        hostMemory = FakeHostMemory.allocate(base: 0x10_0000, size: 16 * Self.page)
        host = FakeHypercallHost(host: hostMemory)
        // Domain 5: 4 frames, scattered in reverse (guest frame 0 = host frame 7).
        domain = Domain(id: 5, name: Array("hello".utf8), privileged: false)
        for hostFrame in [7, 5, 3, 1] as [UInt64] { domain.addMemoryFrame(0x10_0000 + hostFrame * Self.page) }
        vcpu = VCPU(domainID: 5, index: 0)
        domain.addVCPU(vcpu)
        host.domains[5] = domain
    }

    override func tearDown() {
        host = nil
        domain = nil
        vcpu = nil
        hostMemory.deallocate()
        hostMemory = nil
    }

    func call(_ number: Int32, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0xDEAD,
              caller: Domain? = nil, vcpu: VCPU? = nil) -> HypercallOutcome {
        call(UInt64(number), a0, a1, a2, caller: caller, vcpu: vcpu)
    }

    func call(_ number: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0xDEAD,
              caller: Domain? = nil, vcpu: VCPU? = nil) -> HypercallOutcome {
        Hypercalls.dispatch(number: number, arguments: (a0, a1, a2, 0xBEEF, 0xF00D),
                            vcpu: vcpu ?? self.vcpu, domain: caller ?? domain, host: host)
    }

    func errno(_ code: Int32) -> HypercallOutcome { .resume(-Int64(code)) }

    func put(_ bytes: [UInt8], at gpa: UInt64, in d: Domain? = nil) {
        let ok = bytes.withUnsafeBytes { host.memory(of: d ?? domain).copyToGuest(at: gpa, from: $0) }
        XCTAssertTrue(ok)
    }

    func put(_ text: String, at gpa: UInt64) { put(Array(text.utf8), at: gpa) }

    func get<T>(_ type: T.Type, at gpa: UInt64, initial: T) -> T {
        var value = initial
        let ok = withUnsafeMutableBytes(of: &value) { host.memory(of: domain).copyFromGuest(at: gpa, into: $0) }
        XCTAssertTrue(ok)
        return value
    }

    func guestBytes(_ gpa: UInt64, _ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { host.memory(of: domain).copyFromGuest(at: gpa, into: $0) }
        XCTAssertTrue(ok)
        return out
    }

    // MARK: VERSION, YIELD, BLOCK, unknown

    func testVersion() {
        XCTAssertEqual(call(TERN_HC_VERSION), .resume(Int64(TERN_ABI_VERSION)))
        XCTAssertEqual(call(TERN_HC_VERSION), .resume(12), "ABI 0.12")
    }

    func testYield() {
        XCTAssertEqual(call(TERN_HC_YIELD), .yield)
    }

    func testBlock() {
        XCTAssertEqual(call(TERN_HC_BLOCK), .block)
        vcpu.upcallPending = true
        XCTAssertEqual(call(TERN_HC_BLOCK), .resume(0))   // would miss its wake-up otherwise
        XCTAssertTrue(vcpu.upcallPending)                  // still for the arch layer to inject
    }

    func testUnknownNumbers() {
        for n: UInt64 in [11, 12, 999, 0x8000_0000_0000_0000, UInt64.max] {
            XCTAssertEqual(call(n), errno(TERN_ENOSYS), "number \(n)")
        }
        XCTAssertEqual(call(UInt64(TERN_HC_COUNT)), .resume(-38))
    }

    // MARK: CONSOLE_WRITE

    func testConsoleWriteBuffersLines() {
        put("ab\ncd", at: 0x100)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0x100, 5), .resume(5))
        XCTAssertEqual(host.texts, ["ab"])
        XCTAssertEqual(host.lines.first?.domain, 5)
        XCTAssertEqual(domain.consoleLine, Array("cd".utf8))
        put("e\r\nf\n", at: 0x200)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0x200, 5), .resume(5))
        XCTAssertEqual(host.texts, ["ab", "cde", "f"])     // "\r" dropped
        XCTAssertEqual(domain.consoleLine, [])
    }

    func testConsoleWriteEmptyLine() {
        put("\n\n", at: 0)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0, 2), .resume(2))
        XCTAssertEqual(host.texts, ["", ""])
    }

    func testConsoleWriteAcrossScatteredPages() {
        // Crosses guest pages 0|1, which are host frames 7 and 5.
        put("hello, world\n", at: Self.page - 5)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, Self.page - 5, 13), .resume(13))
        XCTAssertEqual(host.texts, ["hello, world"])
    }

    func testConsoleWriteLongerThanAChunk() {
        // 600 bytes: three copy chunks of 256, lines of 99 + "\n".
        var text: [UInt8] = []
        for i in 0..<6 { text += [UInt8](repeating: UInt8(ascii: "a") + UInt8(i), count: 99) + [10] }
        put(text, at: 0x1F00)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0x1F00, 600), .resume(600))
        XCTAssertEqual(host.lines.map(\.text), (0..<6).map { [UInt8](repeating: UInt8(ascii: "a") + UInt8($0), count: 99) })
    }

    func testConsoleLineIsFlushedWhenFull() {
        put([UInt8](repeating: UInt8(ascii: "x"), count: 161), at: 0)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0, 160), .resume(160))
        XCTAssertEqual(host.lines.count, 0)                      // full, not yet flushed
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0, 1), .resume(1))
        XCTAssertEqual(host.lines.map(\.text), [[UInt8](repeating: UInt8(ascii: "x"), count: Domain.consoleLineCapacity)])
        XCTAssertEqual(domain.consoleLine, [UInt8(ascii: "x")])
    }

    func testConsoleWriteMaximumAndZeroLength() {
        put([UInt8](repeating: UInt8(ascii: "z"), count: 4096), at: Self.page)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, Self.page, 4096), .resume(4096))
        XCTAssertEqual(host.lines.count, 25)                     // 4096 = 25 * 160 + 96
        XCTAssertEqual(domain.consoleLine.count, 96)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0, 0), .resume(0))
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, Self.guestSize, 0), .resume(0))
    }

    func testConsoleWriteTooLong() {
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0, 4097), errno(TERN_EINVAL))
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 0, UInt64.max), errno(TERN_EINVAL))
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, UInt64.max, 4097), .resume(-22))
        XCTAssertTrue(host.lines.isEmpty)
    }

    func testConsoleWriteBadPointers() {
        put("abc\n", at: Self.guestSize - 4)
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, Self.guestSize, 1), errno(TERN_EFAULT))        // beyond memory
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, Self.guestSize - 4, 5), errno(TERN_EFAULT))    // crosses the end
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, UInt64.max - 1, 4), errno(TERN_EFAULT))        // wraps
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, UInt64.max, 1), .resume(-14))
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, 1 << 40, 16), errno(TERN_EFAULT))
        // Nothing half-printed.
        XCTAssertTrue(host.lines.isEmpty)
        XCTAssertEqual(domain.consoleLine, [])
        // The exact end is fine.
        XCTAssertEqual(call(TERN_HC_CONSOLE_WRITE, Self.guestSize - 4, 4), .resume(4))
        XCTAssertEqual(host.texts, ["abc"])
    }

    // MARK: SHUTDOWN

    func testShutdownReasons() {
        XCTAssertEqual(call(TERN_HC_SHUTDOWN, UInt64(TERN_SHUTDOWN_POWEROFF)), .shutdown(0))
        XCTAssertEqual(call(TERN_HC_SHUTDOWN, UInt64(TERN_SHUTDOWN_REBOOT)), .shutdown(1))
        XCTAssertEqual(call(TERN_HC_SHUTDOWN, UInt64(TERN_SHUTDOWN_CRASH)), .shutdown(2))
        XCTAssertEqual(call(TERN_HC_SHUTDOWN, 3), errno(TERN_EINVAL))
        XCTAssertEqual(call(TERN_HC_SHUTDOWN, UInt64.max), errno(TERN_EINVAL))
    }

    // MARK: SET_TIMER

    func testSetTimerInTheFuture() {
        host.now = 1_000
        XCTAssertEqual(call(TERN_HC_SET_TIMER, 5_000), .resume(0))
        XCTAssertEqual(vcpu.timerDeadline, 5_000)
        XCTAssertFalse(vcpu.upcallPending)
    }

    func testSetTimerInThePastFiresAtOnce() {
        host.now = 1_000
        XCTAssertEqual(call(TERN_HC_SET_TIMER, 999), .resume(0))
        XCTAssertTrue(vcpu.upcallPending)
        XCTAssertEqual(vcpu.timerDeadline, 0)
        // Then BLOCK does not sleep.
        XCTAssertEqual(call(TERN_HC_BLOCK), .resume(0))
    }

    func testSetTimerNowFiresAtOnce() {
        host.now = 1_000
        XCTAssertEqual(call(TERN_HC_SET_TIMER, 1_000), .resume(0))
        XCTAssertTrue(vcpu.upcallPending)
        XCTAssertEqual(vcpu.timerDeadline, 0)
    }

    func testSetTimerZeroCancels() {
        host.now = 1_000
        XCTAssertEqual(call(TERN_HC_SET_TIMER, 5_000), .resume(0))
        XCTAssertEqual(call(TERN_HC_SET_TIMER, 0), .resume(0))
        XCTAssertEqual(vcpu.timerDeadline, 0)
        XCTAssertFalse(vcpu.upcallPending)                      // 0 is not "in the past"
    }

    // MARK: TIME_INFO

    func testTimeInfoIsCopiedOut() {
        XCTAssertEqual(call(TERN_HC_TIME_INFO, 0x800), .resume(0))
        let info = get(tern_time_info.self, at: 0x800, initial: tern_time_info())
        XCTAssertEqual(info.tsc_hz, 2_000_000_000)
        XCTAssertEqual(info.system_time_ns, 123_456_789)
        XCTAssertEqual(info.tsc_stamp, 0xABCD_EF01_2345)
        XCTAssertEqual(info.reserved, 0)
    }

    func testTimeInfoAcrossAPageAndAtTheEnd() {
        XCTAssertEqual(call(TERN_HC_TIME_INFO, Self.page - 12), .resume(0))
        XCTAssertEqual(get(tern_time_info.self, at: Self.page - 12, initial: tern_time_info()).system_time_ns, 123_456_789)
        XCTAssertEqual(call(TERN_HC_TIME_INFO, Self.guestSize - 32), .resume(0))
        XCTAssertEqual(get(tern_time_info.self, at: Self.guestSize - 32, initial: tern_time_info()).tsc_hz, 2_000_000_000)
    }

    func testTimeInfoBadPointer() {
        let before = guestBytes(0, Int(Self.guestSize))
        XCTAssertEqual(call(TERN_HC_TIME_INFO, Self.guestSize - 31), errno(TERN_EFAULT))
        XCTAssertEqual(call(TERN_HC_TIME_INFO, Self.guestSize), errno(TERN_EFAULT))
        XCTAssertEqual(call(TERN_HC_TIME_INFO, UInt64.max - 15), errno(TERN_EFAULT))
        XCTAssertEqual(guestBytes(0, Int(Self.guestSize)), before)   // nothing partly written
    }

    // MARK: DOMAIN_INFO

    func domainInfo(at gpa: UInt64) -> tern_domain_info { get(tern_domain_info.self, at: gpa, initial: tern_domain_info()) }

    func name(_ info: tern_domain_info) -> [UInt8] { withUnsafeBytes(of: info.name) { Array($0) } }

    func testDomainInfoForSelf() {
        domain.state = .running
        vcpu.cpuTimeCycles = 3_000_000_000                     // 1.5 s at 2 GHz
        for id in [UInt64(TERN_DOMID_SELF), 5] {
            put([UInt8](repeating: 0xFF, count: 64), at: 0x400)
            XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, id, 0x400), .resume(0), "id \(id)")
            let info = domainInfo(at: 0x400)
            XCTAssertEqual(info.domid, 5)
            XCTAssertEqual(info.state, UInt32(TERN_DOMAIN_RUNNING))
            XCTAssertEqual(info.flags, 0)
            XCTAssertEqual(info.vcpus, 1)
            XCTAssertEqual(info.memory_bytes, 4 * 4096)
            XCTAssertEqual(info.cpu_time_ns, 1_500_000_000)
            XCTAssertEqual(name(info), Array("hello".utf8) + [UInt8](repeating: 0, count: 27))
        }
    }

    func testDomainInfoOfAnotherDomainNeedsPrivilege() {
        let other = Domain(id: 9, name: Array("other".utf8), privileged: false)
        host.domains[9] = other
        put([UInt8](repeating: 0xFF, count: 64), at: 0x400)
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, 9, 0x400), errno(TERN_EPERM))
        XCTAssertEqual(guestBytes(0x400, 64), [UInt8](repeating: 0xFF, count: 64))
        // Not even existence leaks: a missing domain is -EPERM too.
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, 42, 0x400), errno(TERN_EPERM))
    }

    func testPrivilegedDomainSeesOthers() {
        let dom0 = Domain(id: 0, name: Array("Domain-0".utf8), privileged: true)
        for hostFrame in [12, 13] as [UInt64] { dom0.addMemoryFrame(0x10_0000 + hostFrame * Self.page) }
        let dom0vcpu = VCPU(domainID: 0, index: 0)
        dom0.addVCPU(dom0vcpu)
        host.domains[0] = dom0
        domain.markStopped(.shutdown, reason: 1)
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, 5, 0x10, caller: dom0, vcpu: dom0vcpu), .resume(0))
        var info = tern_domain_info()
        let ok = withUnsafeMutableBytes(of: &info) { host.memory(of: dom0).copyFromGuest(at: 0x10, into: $0) }
        XCTAssertTrue(ok)
        XCTAssertEqual(info.domid, 5)
        XCTAssertEqual(info.state, UInt32(TERN_DOMAIN_SHUTDOWN))
        XCTAssertEqual(info.flags, 0)
        XCTAssertEqual(info.memory_bytes, 16384)
        XCTAssertEqual(name(info).prefix(6), Array("hello".utf8) + [0])
        // Itself, with the privileged flag.
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), 0x10, caller: dom0, vcpu: dom0vcpu), .resume(0))
        let ok2 = withUnsafeMutableBytes(of: &info) { host.memory(of: dom0).copyFromGuest(at: 0x10, into: $0) }
        XCTAssertTrue(ok2)
        XCTAssertEqual(info.domid, 0)
        XCTAssertEqual(info.flags, TERN_DOMAIN_FLAG_PRIVILEGED)
        XCTAssertEqual(info.memory_bytes, 8192)
        XCTAssertEqual(name(info).prefix(9), Array("Domain-0".utf8) + [0])
        // Missing: -ENOENT; beyond 16 bits: -EINVAL.
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, 42, 0x10, caller: dom0, vcpu: dom0vcpu), errno(TERN_ENOENT))
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, 0x1_0005, 0x10, caller: dom0, vcpu: dom0vcpu), errno(TERN_EINVAL))
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, UInt64.max, 0x10, caller: dom0, vcpu: dom0vcpu), errno(TERN_EINVAL))
    }

    func testDomainInfoNameIsCutAndTerminated() {
        let long = Domain(id: 7, name: [UInt8](repeating: UInt8(ascii: "n"), count: 40), privileged: false)
        XCTAssertEqual(long.name.count, 31)
        long.addMemoryFrame(0x10_0000)
        host.domains[7] = long
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), 0, caller: long), .resume(0))
        var info = tern_domain_info()
        _ = withUnsafeMutableBytes(of: &info) { host.memory(of: long).copyFromGuest(at: 0, into: $0) }
        XCTAssertEqual(name(info), [UInt8](repeating: UInt8(ascii: "n"), count: 31) + [0])
    }

    func testDomainInfoBadPointer() {
        let before = guestBytes(0, Int(Self.guestSize))
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), Self.guestSize - 95), errno(TERN_EFAULT))
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), UInt64.max - 8), errno(TERN_EFAULT))
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, 5, 1 << 32), errno(TERN_EFAULT))
        XCTAssertEqual(guestBytes(0, Int(Self.guestSize)), before)
        XCTAssertEqual(call(TERN_HC_DOMAIN_INFO, 5, Self.guestSize - 96), .resume(0))
    }

    // MARK: SET_UPCALL

    func testSetUpcallVectors() {
        for v: UInt64 in [32, 33, 0xF0, 255, 0] {
            XCTAssertEqual(call(TERN_HC_SET_UPCALL, v), .resume(0), "vector \(v)")
            XCTAssertEqual(vcpu.upcallVector, UInt8(v))
        }
        vcpu.upcallVector = 0x40
        for v: UInt64 in [1, 2, 31, 256, 0x1_0000_0020, UInt64.max] {
            XCTAssertEqual(call(TERN_HC_SET_UPCALL, v), errno(TERN_EINVAL), "vector \(v)")
            XCTAssertEqual(vcpu.upcallVector, 0x40)
        }
    }
}
