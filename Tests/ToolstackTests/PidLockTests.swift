import Glibc
import XCTest
@testable import TernToolstack

/// One `tern logd`: the lock is exclusive, names its holder, and goes
/// with it.
final class PidLockTests: XCTestCase {
    func testASecondHolderIsRefusedWithTheFirstOnesPid() throws {
        let scratch = try Scratch(self)
        let path = scratch.path("logd.pid")
        var first: PidLock? = try PidLock.acquire(path).get()
        XCTAssertNotNil(first)
        XCTAssertEqual(String(decoding: try Files.read(path).get(), as: UTF8.self), "\(getpid())\n")
        // flock(2) locks belong to an open file: a second open is refused
        // even in the same process, as another logd would be.
        guard case .failure(let refusal) = PidLock.acquire(path) else { return XCTFail("a second lock was granted") }
        XCTAssertEqual(refusal, .held(by: getpid()))
        XCTAssertEqual(refusal.description, "already running (pid \(getpid()))")
        first = nil
        XCTAssertNoThrow(try PidLock.acquire(path).get(), "free again once the holder is gone")
    }

    func testAStaleFileDoesNotBlock() throws {
        let scratch = try Scratch(self)
        let path = scratch.write("logd.pid", "99999\n")
        let lock = try PidLock.acquire(path).get()
        XCTAssertEqual(String(decoding: try Files.read(path).get(), as: UTF8.self), "\(getpid())\n", "its pid replaces the old one")
        withExtendedLifetime(lock) {}
    }

    func testAPlaceItCannotBe() {
        guard case .failure(.cannotOpen(let path, let e)) = PidLock.acquire("/nonexistent-dir/logd.pid") else { return XCTFail("opened") }
        XCTAssertEqual(path, "/nonexistent-dir/logd.pid")
        XCTAssertEqual(e, ENOENT)
        XCTAssertEqual(PidLock.Refusal.cannotOpen(path: path, errno: e).description, "cannot lock /nonexistent-dir/logd.pid: No such file or directory")
    }
}
