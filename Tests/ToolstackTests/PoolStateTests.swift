import XCTest
import TernABI
@testable import TernToolstack

/// The pool as `tern info`, `tern prepare` and `tern create` see it (ABI
/// 0.8's system info): what a create can use, and what to release.
final class PoolStateTests: XCTestCase {
    let fours = PoolState.Size(memoryBytes: 4 << 20, ready: 2, target: 3)
    let eights = PoolState.Size(memoryBytes: 8 << 20, ready: 1, target: 1)

    func testItIsReadFromSystemInfo() {
        var info = tern_system_info()
        info.pool_bytes = 17 << 20
        withUnsafeMutableBytes(of: &info.pool) { raw in
            let slots = raw.bindMemory(to: tern_pool_size.self)
            slots[0] = tern_pool_size(memory_bytes: 4 << 20, ready: 2, target: 3)
            slots[2] = tern_pool_size(memory_bytes: 8 << 20, ready: 1, target: 1)
        }
        let pool = PoolState(info)
        XCTAssertEqual(pool.sizes, [fours, eights], "unused slots are skipped")
        XCTAssertEqual(pool.heldBytes, 17 << 20)
        XCTAssertEqual(pool.readyShells, 3)
        XCTAssertEqual(pool.ready(memoryBytes: 8 << 20), 1)
        XCTAssertEqual(pool.ready(memoryBytes: 2 << 20), 0)
    }

    func testInfoSaysWhatEachSizeHasAndHolds() {
        XCTAssertEqual(PoolState(sizes: [], heldBytes: 0).summary, "none")
        XCTAssertEqual(PoolState(sizes: [fours, eights], heldBytes: 17 << 20).summary,
                       "3 ready, 17 MiB held: 4 MiB 2 of 3, 8 MiB 1 of 1 (ready of target, per size)")
    }

    /// A ready shell of the guest's size needs no free memory; without one
    /// the refusal counts what the shells hold and says how to release it.
    func testACreateCountsThePool() {
        let plan = CreatePlan(config: GuestConfig(name: "web", kernel: "/k.elf", memoryMiB: 4, cmdline: ""),
                              imageBytes: 4096, image: .pv(abiVersion: UInt32(TERN_ABI_VERSION)))
        let pool = PoolState(sizes: [fours], heldBytes: 9 << 20)
        XCTAssertNil(plan.problem(domains: [], freeBytes: 1 << 20, pool: pool), "a shell of 4 MiB is ready")
        var big = plan
        big.config.memoryMiB = 64
        XCTAssertEqual(big.problem(domains: [], freeBytes: 1 << 20, pool: pool),
                       "not enough free memory: 64 MiB asked, 1 MiB free (9 MiB more held by 2 prepared shells: "
                       + "'tern prepare 0 --memory 4' releases those of 4 MiB)")
        XCTAssertEqual(big.problem(domains: [], freeBytes: 1 << 20),
                       "not enough free memory: 64 MiB asked, 1 MiB free", "no shells: no hint")
    }

    /// What `tern info` calls the largest new guest is what a create accepts.
    func testTheLargestNewGuestFits() {
        for free: UInt64 in [0, 1 << 20, 3 << 20, 101 << 20, 384 << 20, 1000 << 20] {
            let most = CreatePlan.largestGuestMiB(freeBytes: free)
            XCTAssertEqual(most % 2, 0)
            if most > 0 { XCTAssertTrue(CreatePlan.fits(most << 20, freeBytes: free), "\(most) MiB in \(free >> 20) MiB") }
            XCTAssertFalse(CreatePlan.fits((most + 2) << 20, freeBytes: free), "\(most + 2) MiB in \(free >> 20) MiB")
        }
        XCTAssertEqual(CreatePlan.largestGuestMiB(freeBytes: 101 << 20), 100)
    }
}
