import Foundation
import TernABI
import XCTest
@testable import TernToolstack

/// `tern create`'s kernel file: a regular file within Tern's image limit,
/// checked before it is read (/dev/zero once made tern allocate 550 MB and
/// abort).
final class KernelFileTests: XCTestCase {
    var scratch: Scratch!

    override func setUpWithError() throws { scratch = try Scratch(self) }
    override func tearDown() { scratch = nil }

    func file(_ name: String, size: Int) throws -> String { scratch.sparse(name, size: size) }

    func failure(_ result: Result<[UInt8], KernelFile.Failure>) -> KernelFile.Failure? {
        if case .failure(let f) = result { return f }
        return nil
    }

    func testTheLimitIsTernsImageLimit() {
        XCTAssertEqual(KernelFile.maxBytes, UInt64(TERN_IMAGE_FRAMES_MAX) * 4096)
    }

    func testAFileWithinTheLimitIsReadWhole() throws {
        let path = try file("ok.elf", size: 100_000)
        XCTAssertEqual(try KernelFile.read(path).get().count, 100_000)
        let exact = try file("exact.elf", size: 4096)
        XCTAssertEqual(try KernelFile.read(exact, limit: 4096).get().count, 4096)
    }

    func testALargerFileIsRefusedBeforeItIsRead() throws {
        let size = Int(KernelFile.maxBytes) + (1 << 20)   // sparse: nothing is written
        let path = try file("big.elf", size: size)
        XCTAssertEqual(failure(KernelFile.read(path)), .tooLarge(UInt64(size)))
        XCTAssertEqual(KernelFile.Failure.tooLarge(65 << 20).description,
                       "65 MiB: larger than the \(Frames.text(KernelFile.maxBytes)) a guest image may be (TERN_IMAGE_FRAMES_MAX)")
        XCTAssertEqual(failure(KernelFile.read(try file("one-more.elf", size: 4097), limit: 4096)), .tooLarge(4097))
    }

    func testDevicesDirectoriesAndFIFOsAreRefused() throws {
        XCTAssertEqual(failure(KernelFile.read("/dev/zero")), .notRegular("a character device"))
        XCTAssertEqual(KernelFile.Failure.notRegular("a character device").description, "not a regular file (a character device)")
        XCTAssertEqual(failure(KernelFile.read(scratch.url.path)), .notRegular("a directory"))
        let fifo = scratch.path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertEqual(failure(KernelFile.read(fifo)), .notRegular("a FIFO"), "refused without waiting for a writer")
    }

    func testAMissingFile() {
        XCTAssertEqual(failure(KernelFile.read(scratch.path("none"))), .cannotOpen(ENOENT))
        XCTAssertEqual(KernelFile.Failure.cannotOpen(ENOENT).description, "cannot open: No such file or directory")
    }

    func testSizesForPeople() {
        XCTAssertEqual(Frames.text(100), "100 bytes")
        XCTAssertEqual(Frames.text(12 << 10), "12 KiB")
        XCTAssertEqual(Frames.text(2 << 20), "2 MiB")
        XCTAssertEqual(Frames.text((2 << 20) + 1), "2.1 MiB", "rounded up: over the limit never reads as the limit")
    }
}
