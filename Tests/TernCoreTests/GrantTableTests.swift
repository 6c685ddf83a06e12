import XCTest
import TernABI
@testable import TernCore

/// Grant tables between real (fake-hosted) domains: only the named grantee,
/// only valid refs, read-only honoured in the nested table and in copies,
/// reference counts, and a dying granter's memory kept until unmapped.
final class GrantTableTests: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var a: Domain!, b: Domain!, c: Domain!
    /// A page of a's memory it shares (below Tern's pages at the top).
    let shared: UInt64 = 0x8_0000

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 24 << 20)
        host = InterDomainHost(machine: machine)
        a = host.build(id: 1, name: "a")
        b = host.build(id: 2, name: "b")
        c = host.build(id: 3, name: "c")
    }

    override func tearDown() { a = nil; b = nil; c = nil; host = nil; machine = nil }

    var window: UInt64 { b.grants.windowGPA }

    func map(_ mapper: Domain, ref: UInt64, at gpa: UInt64? = nil, readOnly: Bool = false, from granter: UInt64 = 1) -> Int64 {
        host.call(mapper, TERN_HC_GRANT_MAP, granter, ref, gpa ?? mapper.grants.windowGPA,
                  readOnly ? UInt64(TERN_GRANT_MAP_READONLY) : 0)
    }

    func testAMappingReachesTheGrantedFrameAndUnmapRemovesIt() {
        host.grant(a, ref: 8, frameGPA: shared, to: 2)
        let handle = map(b, ref: 8, at: window + 3 * 4096)
        XCTAssertEqual(handle, 3)
        let leaf = host.nestedLeaf(b, window + 3 * 4096)
        XCTAssertEqual(leaf?.physical, GuestMemory(of: a, host: machine.memory).hostAddress(of: shared))
        XCTAssertTrue(leaf!.flags.contains(.writable))
        XCTAssertEqual(host.grantFlags(a, ref: 8) & UInt16(TERN_GRANT_IN_USE), UInt16(TERN_GRANT_IN_USE))
        XCTAssertEqual(a.grants.mappedByOthers, 1)
        XCTAssertEqual(b.grants.mapsHeld, 1)
        b.vcpus[0].context.flushTLB = false
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_UNMAP, UInt64(handle)), 0)
        XCTAssertNil(host.nestedLeaf(b, window + 3 * 4096))
        XCTAssertTrue(b.vcpus[0].context.flushTLB, "the mapper's TLB is flushed")
        XCTAssertEqual(host.grantFlags(a, ref: 8) & UInt16(TERN_GRANT_IN_USE), 0)
        XCTAssertEqual(a.grants.mappedByOthers, 0)
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_UNMAP, UInt64(handle)), -Int64(TERN_EINVAL), "unmapping twice")
    }

    func testOnlyTheNamedGranteeMaps() {
        host.grant(a, ref: 8, frameGPA: shared, to: 2)
        XCTAssertEqual(map(c, ref: 8), -Int64(TERN_EPERM), "not given to c")
        XCTAssertNil(host.nestedLeaf(c, c.grants.windowGPA))
        XCTAssertEqual(map(a, ref: 8, from: UInt64(TERN_DOMID_SELF)), -Int64(TERN_ENOENT), "its own grant")
        XCTAssertEqual(a.grants.mappedByOthers, 0)
    }

    func testBadRefsRevokedGrantsAndBadFramesAreRefused() {
        XCTAssertEqual(map(b, ref: 8), -Int64(TERN_EPERM), "an empty entry")
        XCTAssertEqual(map(b, ref: 512), -Int64(TERN_EINVAL), "past the table")
        XCTAssertEqual(map(b, ref: 1 << 40), -Int64(TERN_EINVAL))
        XCTAssertEqual(map(b, ref: 8, from: 9), -Int64(TERN_ENOENT))
        host.grant(a, ref: 9, frameGPA: shared, to: 2)
        host.grant(a, ref: 9, frameGPA: shared, to: 2, flags: 0)   // revoked
        XCTAssertEqual(map(b, ref: 9), -Int64(TERN_EPERM), "a revoked grant")
        host.grant(a, ref: 10, frameGPA: 4 << 20, to: 2)           // beyond a's 2 MiB
        XCTAssertEqual(map(b, ref: 10), -Int64(TERN_EINVAL))
        host.grant(a, ref: 11, frameGPA: a.sharedLayout!.device_page_gpa, to: 2)   // Tern's area, not a's memory
        XCTAssertEqual(map(b, ref: 11), -Int64(TERN_EINVAL))
        XCTAssertEqual(a.grants.mappedByOthers, 0)
    }

    func testMappingsGoOnlyIntoFreePagesOfTheWindow() {
        host.grant(a, ref: 8, frameGPA: shared, to: 2)
        XCTAssertEqual(map(b, ref: 8, at: 0x1000), -Int64(TERN_EINVAL), "its own RAM")
        XCTAssertEqual(map(b, ref: 8, at: b.sharedLayout!.device_page_gpa), -Int64(TERN_EINVAL), "the device page")
        XCTAssertEqual(map(b, ref: 8, at: window + 12), -Int64(TERN_EINVAL), "misaligned")
        XCTAssertEqual(map(b, ref: 8, at: window + 511 * 4096), -Int64(TERN_EINVAL), "past the window")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP, 1, 8, window, 4), -Int64(TERN_EINVAL), "unknown flag")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP, 1, 8, window, UInt64(TERN_GRANT_MAP_FOREIGN)), -Int64(TERN_EPERM),
                       "foreign mappings are the privileged domain's")
        XCTAssertEqual(map(b, ref: 8), 0)
        XCTAssertEqual(map(b, ref: 8), -Int64(TERN_EBUSY), "that page is taken")
        XCTAssertEqual(map(b, ref: 8, at: window + 510 * 4096), 510, "the same grant twice is fine")
        XCTAssertEqual(a.grants.mappedByOthers, 2)
    }

    func testReadOnlyIsHonoured() {
        host.grant(a, ref: 8, frameGPA: shared, to: 2, flags: TERN_GRANT_ACCESS | TERN_GRANT_READONLY)
        XCTAssertEqual(map(b, ref: 8), -Int64(TERN_EPERM), "writable mapping of a read-only grant")
        XCTAssertEqual(map(b, ref: 8, readOnly: true), 0)
        XCTAssertFalse(host.nestedLeaf(b, window)!.flags.contains(.writable), "the nested leaf is read-only")
        host.grant(a, ref: 9, frameGPA: shared, to: 2)
        XCTAssertEqual(map(b, ref: 9, at: window + 4096, readOnly: true), 1, "read-only by choice")
        XCTAssertFalse(host.nestedLeaf(b, window + 4096)!.flags.contains(.writable))
    }

    func testCopyChecksEveryOpAndReportsEach() {
        let payload = testPattern(300, seed: 3)
        XCTAssertTrue(payload.withUnsafeBytes { host.memory(of: a).copyToGuest(at: shared + 100, from: $0) })
        host.grant(a, ref: 8, frameGPA: shared, to: 2, flags: TERN_GRANT_ACCESS | TERN_GRANT_READONLY)
        host.grant(a, ref: 9, frameGPA: shared + 4096, to: 2)
        func side(gpa: UInt64 = 0, ref: UInt32 = 0, domid: UInt16 = 0, offset: UInt16 = 0) -> tern_grant_copy_side {
            tern_grant_copy_side(gpa: gpa, ref: ref, domid: domid, offset: offset)
        }
        let sourceRef = UInt16(TERN_GRANT_COPY_SOURCE_REF), destRef = UInt16(TERN_GRANT_COPY_DEST_REF)
        var ops = [
            tern_grant_copy(source: side(ref: 8, domid: 1, offset: 100), dest: side(gpa: 0x9_0000), length: 300, flags: sourceRef, status: 99),
            tern_grant_copy(source: side(gpa: 0x9_0000), dest: side(ref: 8, domid: 1), length: 16, flags: destRef, status: 99),
            tern_grant_copy(source: side(gpa: 0x9_0000), dest: side(ref: 9, domid: 1, offset: 4000), length: 200, flags: destRef, status: 99),
            tern_grant_copy(source: side(gpa: 0x9_0000), dest: side(ref: 9, domid: 1), length: 64, flags: destRef, status: 99),
            tern_grant_copy(source: side(ref: 8, domid: 9), dest: side(gpa: 0x9_0000), length: 1, flags: sourceRef, status: 99),
            tern_grant_copy(source: side(gpa: 0x9_0000), dest: side(gpa: 0xFFFF_F000), length: 8, flags: 0, status: 99),
            tern_grant_copy(source: side(gpa: 0x9_0000), dest: side(gpa: 0x9_1000), length: 8, flags: 4, status: 99),
        ]
        let at: UInt64 = 0xA_0000
        XCTAssertTrue(ops.withUnsafeBytes { host.memory(of: b).copyToGuest(at: at, from: $0) })
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_COPY, at, UInt64(ops.count)), 0)
        XCTAssertTrue(ops.withUnsafeMutableBytes { host.memory(of: b).copyFromGuest(at: at, into: $0) })
        XCTAssertEqual(ops.map(\.status), [0, -TERN_EPERM, -TERN_EINVAL, 0, -TERN_ENOENT, -TERN_EFAULT, -TERN_EINVAL])
        var copied = [UInt8](repeating: 0, count: 300)
        XCTAssertTrue(copied.withUnsafeMutableBytes { host.memory(of: b).copyFromGuest(at: 0x9_0000, into: $0) })
        XCTAssertEqual(copied, payload)
        var landed = [UInt8](repeating: 0, count: 64)
        XCTAssertTrue(landed.withUnsafeMutableBytes { host.memory(of: a).copyFromGuest(at: shared + 4096, into: $0) })
        XCTAssertEqual(landed, Array(payload[0..<64]))
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_COPY, at, UInt64(TERN_GRANT_COPY_MAX) + 1), -Int64(TERN_EINVAL))
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_COPY, (2 << 20) - 40, 2), -Int64(TERN_EFAULT))
    }

    func testADyingGranterKeepsItsMemoryUntilTheLastUnmap() {
        host.grant(a, ref: 8, frameGPA: shared, to: 2)
        host.grant(a, ref: 9, frameGPA: shared, to: 3)
        let fromB = map(b, ref: 8)
        XCTAssertEqual(map(c, ref: 9), 0)
        let hostFrame = GuestMemory(of: a, host: machine.memory).hostAddress(of: shared)!
        a.markStopped(.crashed)
        DomainTeardown.disconnect(a, host: host)
        a.state = .dying
        XCTAssertEqual(a.grants.mappedByOthers, 2)
        XCTAssertEqual(map(b, ref: 8, at: window + 4096), -Int64(TERN_ENOENT), "no new mappings of a dying domain")
        XCTAssertEqual(host.nestedLeaf(b, window)?.physical, hostFrame, "the old mapping still reaches its frame")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_UNMAP, UInt64(fromB)), 0)
        XCTAssertEqual(host.released, [], "c still maps one")
        c.markStopped(.shutdown)
        DomainTeardown.disconnect(c, host: host)   // a mapper's teardown unmaps what it held
        XCTAssertEqual(host.released, [1])
    }

    func testEveryFrameComesBackAfterMappingsAndTeardown() {
        let free = machine.frames.freeFrames
        let d = host.build(id: 4, name: "d")
        host.grant(d, ref: 8, frameGPA: shared, to: 2)
        XCTAssertEqual(map(b, ref: 8, from: 4), 0)
        d.markStopped(.shutdown)
        DomainTeardown.disconnect(d, host: host)
        d.state = .dying
        b.markStopped(.shutdown)
        DomainTeardown.disconnect(b, host: host)
        XCTAssertEqual(host.released, [4])
        XCTAssertEqual(machine.frames.freeFrames, free)
    }

    func testTableSetupMovesEntriesAndQueryReportsIt() {
        host.grant(a, ref: 8, frameGPA: shared, to: 2)
        let newTable: UInt64 = 0x4_0000
        XCTAssertEqual(host.call(a, TERN_HC_GRANT_TABLE_SETUP, newTable + 8, 1024), -Int64(TERN_EINVAL), "misaligned")
        XCTAssertEqual(host.call(a, TERN_HC_GRANT_TABLE_SETUP, newTable, 1000), -Int64(TERN_EINVAL), "not whole pages")
        XCTAssertEqual(host.call(a, TERN_HC_GRANT_TABLE_SETUP, newTable, 8192), -Int64(TERN_EINVAL), "over the maximum")
        XCTAssertEqual(host.call(a, TERN_HC_GRANT_TABLE_SETUP, (2 << 20) - 4096, 1024), -Int64(TERN_EFAULT))
        XCTAssertEqual(map(b, ref: 8), 0)
        XCTAssertEqual(host.call(a, TERN_HC_GRANT_TABLE_SETUP, newTable, 1024), -Int64(TERN_EBUSY), "a grant is mapped")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_UNMAP, 0), 0)
        XCTAssertEqual(host.call(a, TERN_HC_GRANT_TABLE_SETUP, newTable, 1024), 0)
        XCTAssertEqual(map(b, ref: 8), 0, "the entry moved along")
        XCTAssertEqual(map(b, ref: 1000, at: window + 4096), -Int64(TERN_EPERM), "the new entries exist, empty")
        let out: UInt64 = 0x9_0000
        XCTAssertEqual(host.call(a, TERN_HC_GRANT_TABLE_QUERY, out), 0)
        var info = tern_grant_table_info()
        _ = withUnsafeMutableBytes(of: &info) { host.memory(of: a).copyFromGuest(at: out, into: $0) }
        XCTAssertEqual(info.gpa, newTable)
        XCTAssertEqual(info.entries, 1024)
        XCTAssertEqual(info.mapped_by_others, 1)
        XCTAssertEqual(info.maps_held, 0)
    }
}

/// Random grants, revocations, maps, unmaps and copies among four domains
/// (seeded): after every step, each domain's count of mappings of its
/// grants equals the mappings others hold of it, every held mapping is a
/// nested leaf to the granted frame (read-only when it should be), and
/// every other window page is unmapped.
final class GrantTablePropertyTests: XCTestCase {
    func testRandomGrantTrafficKeepsTheBookkeepingExact() {
        for seed: UInt64 in 1...6 {
            let machine = FakeHostMachine(base: 0x10_0000, size: 32 << 20)
            let host = InterDomainHost(machine: machine)
            let domains = (1...4).map { host.build(id: UInt16($0), name: "d\($0)") }
            var rng = SplitMix(seed: seed)
            var maps = 0
            func pick() -> Domain { domains[Int(rng.next() % 4)] }
            var lastGrant: (granter: Domain, grantee: Domain, ref: UInt64)? = nil
            for _ in 0..<1500 {
                var actor = pick(), other = pick()
                var ref = 8 + rng.next() % 3
                let slot = rng.next() % 16
                // Half the time, the last grantee uses the last grant.
                if rng.next() % 2 == 0, let last = lastGrant { (actor, other, ref) = (last.grantee, last.granter, last.ref) }
                switch rng.next() % 6 {
                case 0, 5:   // `other` grants (or re-grants) a page of its own to `actor`, maybe read-only
                    let flags = TERN_GRANT_ACCESS | (rng.next() % 2 == 0 ? TERN_GRANT_READONLY : 0)
                    host.grant(other, ref: UInt32(ref), frameGPA: 0x8_0000 + (rng.next() % 16) * 4096, to: actor.id, flags: flags)
                    lastGrant = (other, actor, ref)
                case 1:   // revoke
                    host.grant(other, ref: UInt32(ref), frameGPA: 0, to: 0, flags: 0)
                case 2:
                    let result = host.call(actor, TERN_HC_GRANT_MAP, UInt64(other.id), ref, actor.grants.windowGPA + slot * 4096,
                                           rng.next() % 2 == 0 ? UInt64(TERN_GRANT_MAP_READONLY) : 0)
                    XCTAssertTrue(result == Int64(slot) || [-1, -2, -16, -22].contains(result), "map gave \(result)")
                    if result >= 0 { maps += 1 }
                case 3:
                    let result = host.call(actor, TERN_HC_GRANT_UNMAP, slot)
                    XCTAssertTrue(result == 0 || result == -22)
                default:  // a copy from another's grant into its own memory
                    var op = tern_grant_copy()
                    op.source = tern_grant_copy_side(gpa: 0, ref: UInt32(ref), domid: other.id, offset: UInt16(rng.next() % 4096))
                    op.dest = tern_grant_copy_side(gpa: 0x6_0000, ref: 0, domid: 0, offset: 0)
                    op.length = UInt16(rng.next() % 64)
                    op.flags = UInt16(TERN_GRANT_COPY_SOURCE_REF)
                    XCTAssertTrue(withUnsafeBytes(of: &op) { host.memory(of: actor).copyToGuest(at: 0x7_0000, from: $0) })
                    XCTAssertEqual(host.call(actor, TERN_HC_GRANT_COPY, 0x7_0000, 1), 0)
                }
                for d in domains {
                    let lent = domains.reduce(0) { sum, mapper in sum + mapper.grants.held.filter { $0.mapping.granter == d.id }.count }
                    XCTAssertEqual(d.grants.mappedByOthers, lent, "seed \(seed)")
                    for page in 0..<16 {
                        let gpa = d.grants.windowGPA + UInt64(page) * 4096
                        let leaf = host.nestedLeaf(d, gpa)
                        if let held = d.grants.mapping(at: page) {
                            XCTAssertEqual(leaf?.physical, held.hostFrame)
                            XCTAssertEqual(leaf?.flags.contains(.writable), !held.readOnly)
                        } else {
                            XCTAssertNil(leaf)
                        }
                    }
                }
            }
            // Everyone stops; every frame comes back once the last mapper is gone.
            let free = machine.frames.freeFrames
            for d in domains {
                d.markStopped(.shutdown)
                DomainTeardown.disconnect(d, host: host)
                if d.grants.mappedByOthers > 0 { d.state = .dying } else { host.releaseDying(d) }
            }
            XCTAssertEqual(host.released.count, 4, "seed \(seed): every domain released")
            XCTAssertGreaterThan(maps, 30, "seed \(seed): the traffic mapped grants")
            XCTAssertGreaterThan(machine.frames.freeFrames, free)
            XCTAssertEqual(host.domains.count, 0, "seed \(seed)")
        }
    }
}
