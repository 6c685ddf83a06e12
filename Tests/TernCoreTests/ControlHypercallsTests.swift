import XCTest
import TernABI
@testable import TernCore

/// Dom0's control calls: the domain list (`xl list`) and Tern's console
/// history (`xl dmesg`). Privileged only; every pointer checked.
extension HypercallsTests {
    func makeDom0() -> (Domain, VCPU) {
        let dom0 = Domain(id: 0, name: Array("Domain-0".utf8), privileged: true)
        for hostFrame in [12, 13, 14, 15] as [UInt64] { dom0.addMemoryFrame(0x10_0000 + hostFrame * Self.page) }
        let dom0vcpu = VCPU(domainID: 0, index: 0)
        dom0.addVCPU(dom0vcpu)
        host.domains[0] = dom0
        return (dom0, dom0vcpu)
    }

    static let entry = MemoryLayout<tern_domain_info>.size   // 96 since ABI 0.8

    func entries(_ count: Int, at gpa: UInt64, of dom0: Domain) -> [tern_domain_info] {
        (0..<count).map { i in
            var info = tern_domain_info()
            let ok = withUnsafeMutableBytes(of: &info) { host.memory(of: dom0).copyFromGuest(at: gpa + UInt64(i * Self.entry), into: $0) }
            XCTAssertTrue(ok)
            return info
        }
    }

    func testDomainListInIDOrderFromAnID() {
        let (dom0, v) = makeDom0()
        for id: UInt16 in [9, 7] { host.domains[id] = Domain(id: id, name: Array("g\(id)".utf8), privileged: false) }
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, 0x100, 64, caller: dom0, vcpu: v), .resume(4))
        XCTAssertEqual(entries(4, at: 0x100, of: dom0).map(\.domid), [0, 5, 7, 9])
        XCTAssertEqual(entries(1, at: 0x100, of: dom0)[0].flags, TERN_DOMAIN_FLAG_PRIVILEGED)
        // Resuming after id 5, two at a time.
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 6, 0x100, 2, caller: dom0, vcpu: v), .resume(2))
        XCTAssertEqual(entries(2, at: 0x100, of: dom0).map(\.domid), [7, 9])
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 10, 0x100, 2, caller: dom0, vcpu: v), .resume(0))
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, UInt64.max, 0x100, 2, caller: dom0, vcpu: v), .resume(0))
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, 0x100, 0, caller: dom0, vcpu: v), .resume(0))
    }

    func testDomainListRefusesTheUnprivilegedAndBadArguments() {
        let (dom0, v) = makeDom0()
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, 0x100, 4), errno(TERN_EPERM), "a DomU")
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, 0x100, 65, caller: dom0, vcpu: v), errno(TERN_EINVAL))
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, 0x100, UInt64.max, caller: dom0, vcpu: v), errno(TERN_EINVAL))
        // The whole array must fit, even if fewer domains exist: nothing written.
        let before = entries(1, at: 4 * Self.page - UInt64(Self.entry), of: dom0)
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, 4 * Self.page - UInt64(Self.entry), 2, caller: dom0, vcpu: v), errno(TERN_EFAULT))
        XCTAssertEqual(entries(1, at: 4 * Self.page - UInt64(Self.entry), of: dom0).map(\.domid), before.map(\.domid))
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, UInt64.max - 8, 1, caller: dom0, vcpu: v), errno(TERN_EFAULT))
        XCTAssertEqual(call(TERN_HC_DOMAIN_LIST, 0, 4 * Self.page - UInt64(Self.entry), 1, caller: dom0, vcpu: v), .resume(1))
    }

    // MARK: LOG_READ

    func withRing(_ text: String, capacity: Int = 64, _ body: () -> Void) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { storage.deallocate(); host.ring = nil }
        var ring = ConsoleRing(storage: storage)
        Array(text.utf8).withUnsafeBytes { ring.append($0) }
        host.ring = ring
        body()
    }

    func request(_ d: Domain, at gpa: UInt64, buffer: UInt64, size: UInt32, position: UInt64, reserved: UInt32 = 0) {
        var r = tern_log_read(buffer_gpa: buffer, size: size, reserved: reserved, position: position, lost: 99, end: 99)
        let ok = withUnsafeBytes(of: &r) { host.memory(of: d).copyToGuest(at: gpa, from: $0) }
        XCTAssertTrue(ok)
    }

    func result(_ d: Domain, at gpa: UInt64) -> tern_log_read {
        var r = tern_log_read()
        _ = withUnsafeMutableBytes(of: &r) { host.memory(of: d).copyFromGuest(at: gpa, into: $0) }
        return r
    }

    func text(_ d: Domain, at gpa: UInt64, _ count: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: count)
        _ = bytes.withUnsafeMutableBytes { host.memory(of: d).copyFromGuest(at: gpa, into: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testLogReadCopiesAndAdvances() {
        let (dom0, v) = makeDom0()
        withRing("(tern) one\n(d1) two\n") {
            request(dom0, at: 0x40, buffer: 0x1000, size: 11, position: 0)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0x40, caller: dom0, vcpu: v), .resume(11))
            XCTAssertEqual(text(dom0, at: 0x1000, 11), "(tern) one\n")
            var r = result(dom0, at: 0x40)
            XCTAssertEqual([r.position, r.lost, r.end], [11, 0, 20])
            // Resume where it stopped; a buffer across a page boundary.
            request(dom0, at: 0x40, buffer: 0x1FFC, size: 100, position: r.position)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0x40, caller: dom0, vcpu: v), .resume(9))
            XCTAssertEqual(text(dom0, at: 0x1FFC, 9), "(d1) two\n")
            r = result(dom0, at: 0x40)
            XCTAssertEqual([r.position, r.end], [20, 20])
            // At the end: nothing more.
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0x40, caller: dom0, vcpu: v), .resume(0))
        }
    }

    func testLogReadAfterWrapReportsLost() {
        let (dom0, v) = makeDom0()
        withRing(String(repeating: "x", count: 60) + "0123456789", capacity: 64) {
            request(dom0, at: 0, buffer: 0x800, size: 4096, position: 0)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0, caller: dom0, vcpu: v), .resume(64))
            let r = result(dom0, at: 0)
            XCTAssertEqual([r.position, r.lost, r.end], [70, 6, 70])
            XCTAssertEqual(text(dom0, at: 0x800 + 54, 10), "0123456789")
        }
    }

    func testLogReadIsBoundedPerCall() {
        let (dom0, v) = makeDom0()
        withRing(String(repeating: "y", count: 6000), capacity: 8192) {
            request(dom0, at: 0, buffer: 0x100, size: UInt32.max, position: 0)
            // The caller's buffer is too small for 4096 bytes from 0x100 (16 KiB of memory: fits).
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0, caller: dom0, vcpu: v), .resume(Int64(TERN_LOG_READ_MAX)))
        }
    }

    func testLogReadRefusals() {
        let (dom0, v) = makeDom0()
        withRing("secret\n") {
            // A DomU may not read Tern's console.
            request(domain, at: 0, buffer: 0x100, size: 10, position: 0)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0), errno(TERN_EPERM))
            XCTAssertEqual(text(domain, at: 0x100, 6) == "secret", false)
            // Bad request pointer, reserved field, future position, buffer outside memory.
            XCTAssertEqual(call(TERN_HC_LOG_READ, 4 * Self.page - 8, caller: dom0, vcpu: v), errno(TERN_EFAULT))
            request(dom0, at: 0, buffer: 0x100, size: 10, position: 0, reserved: 1)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0, caller: dom0, vcpu: v), errno(TERN_EINVAL))
            request(dom0, at: 0, buffer: 0x100, size: 10, position: 8)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0, caller: dom0, vcpu: v), errno(TERN_EINVAL))
            request(dom0, at: 0, buffer: 4 * Self.page - 3, size: 10, position: 0)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0, caller: dom0, vcpu: v), errno(TERN_EFAULT))
            XCTAssertEqual(result(dom0, at: 0).end, 99, "request left as it was")
            // Exactly to the end of memory is fine.
            request(dom0, at: 0, buffer: 4 * Self.page - 7, size: 10, position: 0)
            XCTAssertEqual(call(TERN_HC_LOG_READ, 0, caller: dom0, vcpu: v), .resume(7))
        }
    }
}
