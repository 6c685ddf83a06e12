import XCTest
@testable import TernCore

/// A fake host's physical memory for the tests of the new core logic:
/// `size` bytes of real buffer that stand for host-physical
/// [base, base + size). Anything not wholly inside is unreachable (nil),
/// as on bare metal outside the direct map.
struct FakeHostMemory: PhysicalMemory {
    let base: UInt64
    let size: UInt64
    let buffer: UnsafeMutableRawPointer

    /// Allocates (page-aligned) and fills with `fill`; call `deallocate()`.
    static func allocate(base: UInt64, size: UInt64, fill: UInt8 = 0) -> FakeHostMemory {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(size), alignment: 4096)
        buffer.initializeMemory(as: UInt8.self, repeating: fill, count: Int(size))
        return FakeHostMemory(base: base, size: size, buffer: buffer)
    }

    func deallocate() { buffer.deallocate() }

    var end: UInt64 { base + size }

    func contains(_ address: UInt64, count: Int) -> Bool {
        guard count >= 0, address >= base else { return false }
        let (last, overflow) = address.addingReportingOverflow(UInt64(count))
        return !overflow && last <= end
    }

    func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        mutableBytes(at: address, count: count).map { UnsafeRawBufferPointer($0) }
    }

    func mutableBytes(at address: UInt64, count: Int) -> UnsafeMutableRawBufferPointer? {
        guard contains(address, count: count) else { return nil }
        return UnsafeMutableRawBufferPointer(start: buffer + Int(address - base), count: count)
    }

    // Direct access for the tests' own checks (trap on a bad address: a
    // test bug, not a finding).
    func byte(at address: UInt64) -> UInt8 {
        precondition(contains(address, count: 1))
        return buffer.load(fromByteOffset: Int(address - base), as: UInt8.self)
    }

    func setByte(_ value: UInt8, at address: UInt64) {
        precondition(contains(address, count: 1))
        buffer.storeBytes(of: value, toByteOffset: Int(address - base), as: UInt8.self)
    }

    func u64(at address: UInt64) -> UInt64 {
        precondition(contains(address, count: 8))
        return buffer.loadUnaligned(fromByteOffset: Int(address - base), as: UInt64.self)
    }

    func fill(_ value: UInt8) {
        buffer.initializeMemory(as: UInt8.self, repeating: value, count: Int(size))
    }
}

/// A fake host: memory plus a frame allocator whose usable frames are
/// [base, base + usableBytes) (by default the whole buffer). Frames below
/// `base` are never handed out. Owns its buffers until deinit.
final class FakeHostMachine {
    let memory: FakeHostMemory
    var frames: FrameAllocator
    private let bitmap: UnsafeMutablePointer<UInt64>

    init(base: UInt64 = 0x10_0000, size: UInt64 = 16 << 20, usableBytes: UInt64? = nil, fill: UInt8 = 0) {
        memory = FakeHostMemory.allocate(base: base, size: size, fill: fill)
        let usable = usableBytes ?? size
        let frameCount = Int((base + max(size, usable)) / FrameAllocator.frameSize)
        let words = FrameAllocator.bitmapBytes(frameCount: frameCount) / 8
        bitmap = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, words))
        frames = FrameAllocator(bitmap: bitmap, frameCount: frameCount)
        frames.addUsable(PhysicalRange(start: base, end: base + usable))
    }

    deinit {
        memory.deallocate()
        bitmap.deallocate()
    }
}

/// Little-endian helpers over byte arrays, for building test inputs.
extension Array where Element == UInt8 {
    mutating func storeLE16(_ value: UInt16, at offset: Int) {
        for i in 0..<2 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt16(i))) }
    }

    mutating func storeLE32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    mutating func storeLE64(_ value: UInt64, at offset: Int) {
        for i in 0..<8 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
}

/// A minimal ELF64 executable builder: 64-byte header, program header
/// table right after it (unless `phoff` says otherwise), then `payload`.
struct ELFTestBuilder {
    struct ProgramHeader {
        var type: UInt32 = 1            // PT_LOAD
        var offset: UInt64
        var paddr: UInt64
        var fileSize: UInt64
        var memorySize: UInt64
    }

    var entry: UInt64 = 0x10_0000
    var elfClass: UInt8 = 2
    var dataEncoding: UInt8 = 1
    var type: UInt16 = 2
    var machine: UInt16 = 62
    var phoff: UInt64? = nil
    var phentsize: UInt16 = 56
    var phnum: UInt16? = nil
    var headers: [ProgramHeader] = []
    var payload: [UInt8] = []

    static let headerSize = 64
    static let programHeaderSize = 56

    /// Where `payload` starts in the file.
    var payloadOffset: UInt64 { UInt64(ELFTestBuilder.headerSize + ELFTestBuilder.programHeaderSize * headers.count) }

    func bytes() -> [UInt8] {
        var file = [UInt8](repeating: 0, count: Int(payloadOffset))
        file[0] = 0x7F
        file[1] = UInt8(ascii: "E"); file[2] = UInt8(ascii: "L"); file[3] = UInt8(ascii: "F")
        file[4] = elfClass
        file[5] = dataEncoding
        file[6] = 1   // EV_CURRENT
        file.storeLE16(type, at: 16)
        file.storeLE16(machine, at: 18)
        file.storeLE32(1, at: 20)
        file.storeLE64(entry, at: 24)
        file.storeLE64(phoff ?? UInt64(ELFTestBuilder.headerSize), at: 32)
        file.storeLE16(64, at: 52)   // e_ehsize
        file.storeLE16(phentsize, at: 54)
        file.storeLE16(phnum ?? UInt16(headers.count), at: 56)
        for (i, h) in headers.enumerated() {
            let at = ELFTestBuilder.headerSize + i * ELFTestBuilder.programHeaderSize
            file.storeLE32(h.type, at: at)
            file.storeLE32(7, at: at + 4)          // p_flags RWX
            file.storeLE64(h.offset, at: at + 8)
            file.storeLE64(h.paddr, at: at + 16)   // p_vaddr (ignored by Tern)
            file.storeLE64(h.paddr, at: at + 24)   // p_paddr
            file.storeLE64(h.fileSize, at: at + 32)
            file.storeLE64(h.memorySize, at: at + 40)
            file.storeLE64(0x1000, at: at + 48)
        }
        return file + payload
    }

    /// One PT_LOAD segment of `payload` at `address` with `bss` extra bytes.
    static func simple(entry: UInt64 = 0x10_0000, address: UInt64 = 0x10_0000, payload: [UInt8], bss: UInt64 = 0) -> ELFTestBuilder {
        var b = ELFTestBuilder(entry: entry)
        b.headers = [ProgramHeader(offset: 0, paddr: address, fileSize: UInt64(payload.count),
                                   memorySize: UInt64(payload.count) + bss)]
        b.headers[0].offset = b.payloadOffset
        b.payload = payload
        return b
    }
}

/// Parses without throwing through a closure.
func parseTestELF(_ file: [UInt8]) -> Result<ELFImage, ELFImage.Error> {
    file.withUnsafeBytes { raw in
        do throws(ELFImage.Error) { return .success(try ELFImage(parsing: raw)) } catch { return .failure(error) }
    }
}

/// A deterministic byte pattern (never all-zero) for checking copies.
func testPattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7) | 1 }
}
