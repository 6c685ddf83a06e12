import XCTest
import TernABI
@testable import TernCore

/// The toolstack's calls (tern/control.h): create from a list of Dom0
/// frames, control, the pool of prepared shells, system info. Every field
/// of a request is checked before anything is built.
/// Dom0 with a guest image and its frame list in its memory, and the
/// calls to create from them (DomainControlTests, LifecycleTests).
class DomainControlFixture: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var dom0: Domain!
    let image = ELFTestBuilder.simple(payload: testPattern(6000, seed: 9)).bytes()
    /// Where the test puts things in Dom0's memory.
    let imageAt: UInt64 = 0x4_0000, listAt: UInt64 = 0x6_0000, requestAt: UInt64 = 0x7_0000

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 48 << 20)
        host = InterDomainHost(machine: machine)
        dom0 = host.build(id: 0, name: "dom0", privileged: true)
        XCTAssertTrue(image.withUnsafeBytes { host.memory(of: dom0).copyToGuest(at: imageAt, from: $0) })
        let frames = (0..<UInt64(pages)).map { imageAt + $0 * 4096 }
        XCTAssertTrue(frames.withUnsafeBytes { host.memory(of: dom0).copyToGuest(at: listAt, from: $0) })
    }

    override func tearDown() { dom0 = nil; host = nil; machine = nil }

    var pages: Int { (image.count + 4095) / 4096 }

    func request(name: String = "web", memory: UInt64 = 2 << 20, flags: UInt32 = 0) -> tern_domain_create {
        var r = tern_domain_create()
        withUnsafeMutableBytes(of: &r.name) { for (i, c) in name.utf8.prefix(31).enumerated() { $0[i] = c } }
        r.memory_bytes = memory
        r.image_frames_gpa = listAt
        r.image_bytes = UInt64(image.count)
        r.image_frame_count = UInt32(pages)
        r.flags = flags
        withUnsafeMutableBytes(of: &r.cmdline) { for (i, c) in "count=3".utf8.enumerated() { $0[i] = c } }
        return r
    }

    func create(_ r: tern_domain_create, caller: Domain? = nil) -> (Int64, tern_domain_create) {
        var r = r
        let who = caller ?? dom0!
        XCTAssertTrue(withUnsafeBytes(of: &r) { host.memory(of: who).copyToGuest(at: requestAt, from: $0) })
        let result = host.call(who, TERN_HC_DOMAIN_CREATE, requestAt)
        var out = tern_domain_create()
        _ = withUnsafeMutableBytes(of: &out) { host.memory(of: who).copyFromGuest(at: requestAt, into: $0) }
        return (result, out)
    }

}

final class DomainControlTests: DomainControlFixture {
    func testCreateBuildsAPausedDomainFromDom0sFrames() {
        let (id, out) = create(request())
        XCTAssertEqual(id, 1)
        XCTAssertEqual(out.domid, 1)
        let domain = host.domains[1]!
        XCTAssertEqual(domain.name, Array("web".utf8))
        XCTAssertEqual(domain.memoryBytes, 2 << 20)
        XCTAssertEqual(domain.state, .paused)
        var loaded = [UInt8](repeating: 0, count: 6000)
        XCTAssertTrue(loaded.withUnsafeMutableBytes { host.memory(of: domain).copyFromGuest(at: 0x10_0000, into: $0) })
        XCTAssertEqual(loaded, testPattern(6000, seed: 9), "the image came through the frame list")
        let (started, _) = create(request(name: "api", flags: TERN_CREATE_START))
        XCTAssertEqual(host.domains[UInt16(started)]?.state, .running)
    }

    func testARamdiskComesThroughItsOwnFrameList() {
        let ramdisk = testPattern(5000, seed: 4)
        let ramdiskAt: UInt64 = 0x8_0000, ramdiskList: UInt64 = 0x7_8000
        XCTAssertTrue(ramdisk.withUnsafeBytes { host.memory(of: dom0).copyToGuest(at: ramdiskAt, from: $0) })
        // Its pages given in reverse: the list, not the address order, is the file's order.
        let frames: [UInt64] = [ramdiskAt + 4096, ramdiskAt]
        XCTAssertTrue(frames.withUnsafeBytes { host.memory(of: dom0).copyToGuest(at: ramdiskList, from: $0) })
        var r = request()
        r.ramdisk_frames_gpa = ramdiskList
        r.ramdisk_bytes = UInt64(ramdisk.count)
        r.ramdisk_frame_count = 2
        let (id, out) = create(r)
        XCTAssertEqual(id, 1)
        XCTAssertEqual(out.kind, UInt32(TERN_KIND_PV), "the host said what it built")
        // Page 0 of the file is the second page in memory (904 bytes, then
        // the zeros after it), page 1 the first (its first 904 bytes).
        let expected = Array(ramdisk[4096...]) + [UInt8](repeating: 0, count: 4096 - 904) + Array(ramdisk[..<904])
        XCTAssertEqual(host.lastRamdisk, expected)
    }

    func testABadRamdiskOrKindIsRefused() {
        let free = machine.frames.freeFrames
        var r = request()
        r.ramdisk_frames_gpa = listAt
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "a list with no bytes")
        r = request()
        r.ramdisk_bytes = 5000
        r.ramdisk_frame_count = 1
        r.ramdisk_frames_gpa = listAt
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "too few frames for its bytes")
        r.ramdisk_frame_count = 2
        r.ramdisk_frames_gpa = 1 << 40
        XCTAssertEqual(create(r).0, -Int64(TERN_EFAULT), "a list outside Dom0's memory")
        r = request()
        r.ramdisk_bytes = UInt64(TERN_IMAGE_FRAMES_MAX + 1) * 4096
        r.ramdisk_frame_count = UInt32(TERN_IMAGE_FRAMES_MAX + 1)
        r.ramdisk_frames_gpa = listAt
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "over TERN_IMAGE_FRAMES_MAX")
        r = request()
        r.kind = UInt32(TERN_KIND_LINUX)
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "kind is Tern's to say")
        XCTAssertEqual(machine.frames.freeFrames, free)
        XCTAssertTrue(host.domains.filter { $0.key != 0 }.isEmpty)
    }

    func testEveryBadFieldIsRefusedBeforeAnythingIsBuilt() {
        let free = machine.frames.freeFrames
        var r = request(name: "bad name")
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "a space in the name")
        r = request(name: "")
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "no name")
        r = request(memory: 3 << 20)
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "odd memory")
        r = request(flags: 1 << 7)
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "unknown flag")
        r = request(); r.reserved = 1
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL))
        r = request(); r.image_frame_count += 1
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "count does not match the bytes")
        r = request(); r.image_frame_count = UInt32(TERN_IMAGE_FRAMES_MAX) + 1; r.image_bytes = UInt64(r.image_frame_count) * 4096
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "too big")
        r = request(); r.image_frames_gpa = 1 << 40
        XCTAssertEqual(create(r).0, -Int64(TERN_EFAULT), "list outside Dom0")
        r = request(); withUnsafeMutableBytes(of: &r.cmdline) { $0.initializeMemory(as: UInt8.self, repeating: 0x41) }
        XCTAssertEqual(create(r).0, -Int64(TERN_EINVAL), "command line without a NUL")
        let hostile: [UInt64] = [imageAt + 12, 1 << 40]   // misaligned, then outside Dom0
        for frame in hostile {
            XCTAssertTrue([frame, frame].withUnsafeBytes { host.memory(of: dom0).copyToGuest(at: listAt + 0x800, from: $0) })
            r = request(); r.image_frames_gpa = listAt + 0x800
            XCTAssertEqual(create(r).0, -Int64(TERN_EFAULT), "frame \(frame)")
        }
        XCTAssertEqual(machine.frames.freeFrames, free, "nothing was taken")
        XCTAssertEqual(host.domains.count, 1)
    }

    func testOnlyAPrivilegedDomainCreatesAndNamesAreUnique() {
        let guest = host.build(id: 5, name: "guest")
        XCTAssertEqual(create(request(), caller: guest).0, -Int64(TERN_EPERM))
        XCTAssertEqual(host.call(guest, TERN_HC_DOMAIN_CONTROL, 0, UInt64(TERN_DOMCTL_PAUSE)), -Int64(TERN_EPERM))
        XCTAssertEqual(host.call(guest, TERN_HC_SYSTEM_INFO, 0x9_0000), -Int64(TERN_EPERM))
        XCTAssertEqual(create(request(name: "guest")).0, -Int64(TERN_EEXIST))
    }

    func testABadImageIsRefusedWithENOEXECAndLeavesNothing() {
        let free = machine.frames.freeFrames
        XCTAssertTrue([UInt8](repeating: 0x7F, count: 64).withUnsafeBytes { host.memory(of: dom0).copyToGuest(at: imageAt, from: $0) })
        XCTAssertEqual(create(request()).0, -Int64(TERN_ENOEXEC))
        XCTAssertEqual(machine.frames.freeFrames, free)
    }

    func testThePoolSkipsThePopulatingAndKeepsTheFrames() {
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, 2 << 20, 3), 3)
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_PREPARE, 3 << 20, 3), -Int64(TERN_EINVAL))
        let free = machine.frames.freeFrames
        let (id, out) = create(request(flags: TERN_CREATE_FROM_POOL))
        XCTAssertGreaterThan(id, 0)
        XCTAssertEqual(out.from_pool, 1)
        XCTAssertEqual(host.shells.count, 2)
        XCTAssertEqual(machine.frames.freeFrames, free, "the shell had every frame the domain needs")
        let (other, fresh) = create(request(name: "big", memory: 4 << 20, flags: TERN_CREATE_FROM_POOL))
        XCTAssertGreaterThan(other, 0)
        XCTAssertEqual(fresh.from_pool, 0, "no shell of that size: built from scratch")
    }

    func testControlPausesUnpausesAndDestroys() {
        let (id, _) = create(request(flags: TERN_CREATE_START))
        let domain = host.domains[UInt16(id)]!
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, UInt64(id), UInt64(TERN_DOMCTL_UNPAUSE)), -Int64(TERN_EINVAL), "running")
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, UInt64(id), UInt64(TERN_DOMCTL_PAUSE)), 0)
        XCTAssertEqual(domain.state, .paused)
        XCTAssertTrue(domain.vcpus.allSatisfy { $0.state == .offline })
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, UInt64(id), UInt64(TERN_DOMCTL_UNPAUSE)), 0)
        XCTAssertEqual(domain.state, .running)
        XCTAssertTrue(domain.vcpus.allSatisfy { $0.state == .runnable })
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, UInt64(id), 9), -Int64(TERN_EINVAL))
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, 0, UInt64(TERN_DOMCTL_DESTROY)), -Int64(TERN_EPERM), "itself")
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, 77, UInt64(TERN_DOMCTL_DESTROY)), -Int64(TERN_ENOENT))
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, UInt64(id), UInt64(TERN_DOMCTL_DESTROY)), 0)
        XCTAssertEqual(host.released, [UInt16(id)])
        XCTAssertEqual(host.call(dom0, TERN_HC_DOMAIN_CONTROL, UInt64(id), UInt64(TERN_DOMCTL_DESTROY)), -Int64(TERN_ENOENT))
    }

    func testSystemInfo() {
        XCTAssertEqual(host.call(dom0, TERN_HC_SYSTEM_INFO, 0x9_0000), 0)
        var info = tern_system_info()
        _ = withUnsafeMutableBytes(of: &info) { host.memory(of: dom0).copyFromGuest(at: 0x9_0000, into: $0) }
        XCTAssertEqual(info.abi_version, UInt32(TERN_ABI_VERSION))
        XCTAssertEqual(info.free_frames, UInt64(machine.frames.freeFrames))
        XCTAssertEqual(host.call(dom0, TERN_HC_SYSTEM_INFO, 1 << 40), -Int64(TERN_EFAULT))
    }
}
