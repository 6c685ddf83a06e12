import XCTest
import TernABI
@testable import TernCore

/// Grant mappings in batches (TERN_HC_GRANT_MAP_BATCH, _UNMAP_BATCH) and
/// the indexed bookkeeping behind every mapping: each op as the single
/// call would do it, one refused op alone, the array checked first.
final class GrantBatchTests: XCTestCase {
    var machine: FakeHostMachine!
    var host: InterDomainHost!
    var a: Domain!, b: Domain!
    /// Where b keeps its op arrays (its own memory).
    let array: UInt64 = 0x4_0000

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 16 << 20)
        host = InterDomainHost(machine: machine)
        a = host.build(id: 1, name: "a")
        b = host.build(id: 2, name: "b")
    }

    override func tearDown() { a = nil; b = nil; host = nil; machine = nil }

    func write<T>(_ ops: [T], to domain: Domain) {
        let ok = ops.withUnsafeBytes { host.memory(of: domain).copyToGuest(at: array, from: $0) }
        precondition(ok)
    }

    func read<T>(_ count: Int, _ empty: T, from domain: Domain) -> [T] {
        var ops = [T](repeating: empty, count: count)
        let ok = ops.withUnsafeMutableBytes { host.memory(of: domain).copyFromGuest(at: array, into: $0) }
        precondition(ok)
        return ops
    }

    func mapOp(ref: UInt32, slot: UInt64, flags: UInt16 = 0, domid: UInt16 = 1) -> tern_grant_map_op {
        tern_grant_map_op(gpa: b.grants.windowGPA + slot * 4096, ref: ref, domid: domid, flags: flags, handle: 0xDEAD, status: 1)
    }

    func testABatchMapsEachOpAndARefusedOneFailsAlone() {
        for ref: UInt32 in 8..<40 { host.grant(a, ref: ref, frameGPA: 0x8_0000 + UInt64(ref) * 4096, to: 2) }
        var ops = (0..<32).map { mapOp(ref: UInt32(8 + $0), slot: UInt64($0)) }
        ops[5].ref = 5000              // beyond a's table
        ops[9].gpa = ops[3].gpa        // a window page op 3 takes
        write(ops, to: b)
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP_BATCH, array, 32), 32)
        let done = read(32, tern_grant_map_op(), from: b)
        for (i, op) in done.enumerated() {
            switch i {
            case 5: XCTAssertEqual(op.status, -TERN_EINVAL, "ref out of range")
            case 9: XCTAssertEqual(op.status, -TERN_EBUSY, "slot taken by op 3")
            default:
                XCTAssertEqual(op.status, 0, "op \(i)")
                XCTAssertEqual(op.handle, UInt32(i))
                XCTAssertEqual(host.grantFlags(a, ref: op.ref) & UInt16(TERN_GRANT_IN_USE), UInt16(TERN_GRANT_IN_USE))
                XCTAssertEqual(b.grants.mapping(at: i)?.ref, op.ref)
            }
        }
        XCTAssertEqual(b.grants.mapsHeld, 30)
        XCTAssertEqual(a.grants.mappedByOthers, 30)
        // Unmap all 32 handles: the two never mapped say so.
        write((0..<32).map { tern_grant_unmap_op(handle: UInt32($0), status: 1) }, to: b)
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_UNMAP_BATCH, array, 32), 32)
        let undone = read(32, tern_grant_unmap_op(), from: b)
        for (i, op) in undone.enumerated() { XCTAssertEqual(op.status, i == 5 || i == 9 ? -TERN_EINVAL : 0, "unmap \(i)") }
        XCTAssertEqual(b.grants.mapsHeld, 0)
        XCTAssertEqual(a.grants.mappedByOthers, 0)
        for ref: UInt32 in 8..<40 { XCTAssertEqual(host.grantFlags(a, ref: ref) & UInt16(TERN_GRANT_IN_USE), 0) }
    }

    func testTheArrayIsCheckedBeforeAnyOpIsDone() {
        host.grant(a, ref: 8, frameGPA: 0x8_0000, to: 2)
        write([mapOp(ref: 8, slot: 0)], to: b)
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP_BATCH, array, UInt64(TERN_GRANT_BATCH_MAX) + 1), -Int64(TERN_EINVAL))
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP_BATCH, b.memoryBytes - 16, 2), -Int64(TERN_EFAULT), "across its end")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP_BATCH, UInt64.max - 8, 1), -Int64(TERN_EFAULT), "wrapping")
        XCTAssertEqual(b.grants.mapsHeld, 0, "nothing done")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP_BATCH, array, 0), 0, "an empty batch")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP_BATCH, array, 1), 1)
        XCTAssertEqual(b.grants.mapsHeld, 1)
    }

    func testTheSameRefMappedTwiceStaysInUseUntilTheLast() {
        host.grant(a, ref: 8, frameGPA: 0x8_0000, to: 2)
        write([mapOp(ref: 8, slot: 0), mapOp(ref: 8, slot: 1)], to: b)
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_MAP_BATCH, array, 2), 2)
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_UNMAP, 0), 0)
        XCTAssertEqual(host.grantFlags(a, ref: 8) & UInt16(TERN_GRANT_IN_USE), UInt16(TERN_GRANT_IN_USE), "one left")
        XCTAssertEqual(host.call(b, TERN_HC_GRANT_UNMAP, 1), 0)
        XCTAssertEqual(host.grantFlags(a, ref: 8) & UInt16(TERN_GRANT_IN_USE), 0)
    }
}

/// The per-ref use counts (open addressing) against a plain model, with
/// refs lent and given back in random order.
final class GrantRefCountsTests: XCTestCase {
    func testAgreesWithAModel() {
        var counts = GrantRefCounts()
        var model: [UInt32: UInt32] = [:]
        var seed: UInt64 = 0x1234_5678
        for _ in 0..<20_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let ref = UInt32((seed >> 33) % 700)
            if (seed >> 20) % 3 == 0 || model[ref] == nil {
                XCTAssertEqual(counts.increment(ref), model[ref] == nil, "first use of \(ref)")
                model[ref, default: 0] += 1
            } else {
                let last = model[ref] == 1
                XCTAssertEqual(counts.decrement(ref), last, "last use of \(ref)")
                model[ref] = last ? nil : model[ref]! - 1
            }
            XCTAssertEqual(counts.refsInUse, model.count)
        }
        for ref: UInt32 in 0..<700 { XCTAssertEqual(counts.count(of: ref), model[ref] ?? 0) }
        XCTAssertFalse(counts.decrement(9999), "a ref never lent")
    }
}
