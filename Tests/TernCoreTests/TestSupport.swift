import XCTest
@testable import TernCore

/// Physical memory for tests: `size` zeroed bytes at physical address
/// `base`. Any range not wholly inside is unreachable (nil), as on bare
/// metal for addresses outside the window.
final class FakePhysicalMemory: PhysicalMemory {
    let base: UInt64
    let buffer: UnsafeMutableRawBufferPointer

    init(base: UInt64, size: Int) {
        self.base = base
        buffer = .allocate(byteCount: size, alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }

    var end: UInt64 { base + UInt64(buffer.count) }

    func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        mutableBytes(at: address, count: count).map { UnsafeRawBufferPointer($0) }
    }

    func mutableBytes(at address: UInt64, count: Int) -> UnsafeMutableRawBufferPointer? {
        guard count >= 0, address >= base else { return nil }
        let offset = address - base
        guard offset <= UInt64(buffer.count), UInt64(count) <= UInt64(buffer.count) - offset else { return nil }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[Int(offset)..<(Int(offset) + count)])
    }

    func write(_ bytes: [UInt8], at address: UInt64) {
        let target = mutableBytes(at: address, count: bytes.count)!
        for (i, byte) in bytes.enumerated() { target[i] = byte }
    }

    func write32(_ value: UInt32, at address: UInt64) { write(LittleEndian.u32(value), at: address) }
    func write64(_ value: UInt64, at address: UInt64) { write(LittleEndian.u64(value), at: address) }
    func read64(at address: UInt64) -> UInt64 { bytes(at: address, count: 8)!.u64(at: 0)! }
}

/// Little-endian encoding helpers for building loader structures.
enum LittleEndian {
    static func u16(_ value: UInt16) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    static func u32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    static func u64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
}

extension Array where Element == UInt8 {
    mutating func append32(_ value: UInt32) { append(contentsOf: LittleEndian.u32(value)) }
    mutating func append64(_ value: UInt64) { append(contentsOf: LittleEndian.u64(value)) }
    mutating func put32(_ value: UInt32, at offset: Int) {
        replaceSubrange(offset..<(offset + 4), with: LittleEndian.u32(value))
    }
    mutating func padTo(multipleOf alignment: Int) {
        while count % alignment != 0 { append(0) }
    }
}

/// A tiny deterministic PRNG (xorshift64), so randomized tests repeat.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Asserts that `body` throws exactly `expected`.
func assertThrowsExactly<E: Error & Equatable, T>(
    _ expected: E, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected \(expected), nothing was thrown", file: file, line: line)
    } catch let error as E {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

extension StaticString {
    var text: String { description }
}

/// A test case with a zeroed 4 KiB page per test, viewed as a VMCB.
class VMCBPageTestCase: XCTestCase {
    var page: UnsafeMutableRawPointer!
    var vmcb: VMCB { VMCB(base: page) }

    override func setUp() {
        page = .allocate(byteCount: 4096, alignment: 4096)
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
    }

    override func tearDown() {
        page.deallocate()
        page = nil
    }
}
