import XCTest
@testable import TernCore

/// ELFImage: the guest image parser. Every header field it trusts is
/// checked, so every malformed image is a named error and never a trap.
final class ELFImageTests: XCTestCase {
    typealias PH = ELFTestBuilder.ProgramHeader

    /// Two LOAD segments (text, then data + bss) around a NOTE header.
    func twoSegmentImage() -> ELFTestBuilder {
        var b = ELFTestBuilder(entry: 0x10_0040)
        b.headers = [
            PH(offset: 0, paddr: 0x10_0000, fileSize: 0x40, memorySize: 0x40),
            PH(type: 4, offset: 0, paddr: 0, fileSize: 8, memorySize: 8),   // PT_NOTE: skipped
            PH(offset: 0, paddr: 0x20_0000, fileSize: 0x20, memorySize: 0x3000),
        ]
        let start = b.payloadOffset
        b.headers[0].offset = start
        b.headers[1].offset = start
        b.headers[2].offset = start + 0x40
        b.payload = testPattern(0x60)
        return b
    }

    func error(_ file: [UInt8]) -> ELFImage.Error? {
        if case .failure(let e) = parseTestELF(file) { return e }
        return nil
    }

    // MARK: Good images

    func testParsesEntrySegmentsAndSpan() throws {
        let b = twoSegmentImage()
        let elf = try parseTestELF(b.bytes()).get()
        XCTAssertEqual(elf.entry, 0x10_0040)
        XCTAssertEqual(elf.segments, [
            ELFImage.Segment(fileOffset: 64 + 3 * 56, fileSize: 0x40, address: 0x10_0000, memorySize: 0x40),
            ELFImage.Segment(fileOffset: 64 + 3 * 56 + 0x40, fileSize: 0x20, address: 0x20_0000, memorySize: 0x3000),
        ])
        XCTAssertEqual(elf.span, PhysicalRange(start: 0x10_0000, end: 0x20_3000))
    }

    func testSpanOfSegmentsOutOfOrder() throws {
        var b = twoSegmentImage()
        b.headers.swapAt(0, 2)
        let elf = try parseTestELF(b.bytes()).get()
        XCTAssertEqual(elf.segments.map(\.address), [0x20_0000, 0x10_0000])
        XCTAssertEqual(elf.span, PhysicalRange(start: 0x10_0000, end: 0x20_3000))
    }

    func testNonLoadHeadersAreSkipped() throws {
        var b = twoSegmentImage()
        b.headers[1].type = 6            // PT_PHDR
        b.headers.append(PH(type: 0x6474_E551, offset: 0, paddr: 0, fileSize: 0, memorySize: 0))  // PT_GNU_STACK
        b.headers[0].offset = b.payloadOffset
        b.headers[2].offset = b.payloadOffset + 0x40
        let elf = try parseTestELF(b.bytes()).get()
        XCTAssertEqual(elf.segments.count, 2)
        XCTAssertEqual(elf.segments.map(\.address), [0x10_0000, 0x20_0000])
    }

    func testNonLoadHeaderWithGarbageFieldsIsNotChecked() throws {
        var b = twoSegmentImage()
        // A NOTE pointing far outside the file: not Tern's business.
        b.headers[1] = PH(type: 4, offset: UInt64.max, paddr: UInt64.max, fileSize: UInt64.max, memorySize: 1)
        XCTAssertEqual(try parseTestELF(b.bytes()).get().segments.count, 2)
    }

    func testZeroMemorySizeLoadIsSkipped() throws {
        var b = twoSegmentImage()
        b.headers[1] = PH(offset: 0, paddr: 0x9000_0000, fileSize: 0, memorySize: 0)
        let elf = try parseTestELF(b.bytes()).get()
        XCTAssertEqual(elf.segments.map(\.address), [0x10_0000, 0x20_0000])
        // The empty segment does not widen the span.
        XCTAssertEqual(elf.span, PhysicalRange(start: 0x10_0000, end: 0x20_3000))
    }

    func testBSSOnlySegmentIsKept() throws {
        var b = twoSegmentImage()
        b.headers[1] = PH(offset: 0, paddr: 0x30_0000, fileSize: 0, memorySize: 0x1000)
        let elf = try parseTestELF(b.bytes()).get()
        XCTAssertEqual(elf.segments.count, 3)
        XCTAssertEqual(elf.segments[1], ELFImage.Segment(fileOffset: 0, fileSize: 0, address: 0x30_0000, memorySize: 0x1000))
        XCTAssertEqual(elf.span, PhysicalRange(start: 0x10_0000, end: 0x30_1000))
    }

    func testSegmentEndingExactlyAtFileEndIsAccepted() throws {
        let b = ELFTestBuilder.simple(payload: testPattern(100))
        let file = b.bytes()
        XCTAssertEqual(UInt64(file.count), b.headers[0].offset + 100)
        XCTAssertEqual(try parseTestELF(file).get().segments[0].fileSize, 100)
    }

    func testProgramHeaderTableElsewhereInFile() throws {
        // Table after the payload, as some linkers lay it out.
        var b = ELFTestBuilder(entry: 0x10_0000)
        b.headers = []
        b.payload = testPattern(0x80)
        var file = b.bytes()              // 64-byte header + payload
        let phoff = file.count
        file += [UInt8](repeating: 0, count: 56)
        file.storeLE64(UInt64(phoff), at: 32)
        file.storeLE16(1, at: 56)
        file.storeLE32(1, at: phoff)
        file.storeLE64(64, at: phoff + 8)
        file.storeLE64(0x10_0000, at: phoff + 24)
        file.storeLE64(0x80, at: phoff + 32)
        file.storeLE64(0x100, at: phoff + 40)
        let elf = try parseTestELF(file).get()
        XCTAssertEqual(elf.segments, [ELFImage.Segment(fileOffset: 64, fileSize: 0x80, address: 0x10_0000, memorySize: 0x100)])
    }

    func testSixteenSegmentsAreAcceptedSeventeenAreNot() {
        func image(_ n: Int) -> [UInt8] {
            var b = ELFTestBuilder()
            b.headers = (0..<n).map { PH(offset: 0, paddr: UInt64($0) << 12, fileSize: 0, memorySize: 0x1000) }
            return b.bytes()
        }
        guard case .success(let elf) = parseTestELF(image(ELFImage.maxSegments)) else { return XCTFail("16 segments refused") }
        XCTAssertEqual(elf.segments.count, 16)
        XCTAssertEqual(elf.span, PhysicalRange(start: 0, end: 0x10000))
        XCTAssertEqual(error(image(17)), .tooManySegments(17))
    }

    // MARK: Every error

    func testTooSmall() {
        XCTAssertEqual(error([]), .tooSmall(0))
        XCTAssertEqual(error(Array(ELFTestBuilder.simple(payload: [1]).bytes().prefix(63))), .tooSmall(63))
    }

    func testNotELF() {
        for i in 0..<4 {
            var file = twoSegmentImage().bytes()
            file[i] ^= 0x20
            XCTAssertEqual(error(file), .notELF, "magic byte \(i)")
        }
        XCTAssertEqual(error([UInt8](repeating: 0, count: 64)), .notELF)
    }

    func testNot64BitLittleEndian() {
        var b = twoSegmentImage()
        b.elfClass = 1                   // ELFCLASS32
        XCTAssertEqual(error(b.bytes()), .not64BitLittleEndian)
        b = twoSegmentImage()
        b.dataEncoding = 2               // ELFDATA2MSB
        XCTAssertEqual(error(b.bytes()), .not64BitLittleEndian)
        b.elfClass = 0
        b.dataEncoding = 0
        XCTAssertEqual(error(b.bytes()), .not64BitLittleEndian)
    }

    func testNotX86_64() {
        var b = twoSegmentImage()
        b.machine = 183                  // EM_AARCH64
        XCTAssertEqual(error(b.bytes()), .notX86_64(183))
        b.machine = 3                    // EM_386
        XCTAssertEqual(error(b.bytes()), .notX86_64(3))
        b.machine = 0x3E00               // 62 byte-swapped: read little-endian
        XCTAssertEqual(error(b.bytes()), .notX86_64(0x3E00))
    }

    func testNotExecutable() {
        var b = twoSegmentImage()
        b.type = 3                       // ET_DYN
        XCTAssertEqual(error(b.bytes()), .notExecutable(3))
        b.type = 1                       // ET_REL
        XCTAssertEqual(error(b.bytes()), .notExecutable(1))
        b.type = 0x0200
        XCTAssertEqual(error(b.bytes()), .notExecutable(0x0200))
    }

    func testBadProgramHeaderEntrySize() {
        var b = twoSegmentImage()
        b.phentsize = 32
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: 64, count: 3, entrySize: 32))
        b.phentsize = 64
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: 64, count: 3, entrySize: 64))
    }

    func testProgramHeaderTableBeyondFile() {
        var b = twoSegmentImage()
        let size = UInt64(b.bytes().count)
        b.phnum = 100
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: 64, count: 100, entrySize: 56))
        b.phnum = UInt16.max
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: 64, count: UInt16.max, entrySize: 56))
        b.phnum = nil
        b.phoff = size - 56 + 1          // last entry one byte past the end
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: size - 55, count: 3, entrySize: 56))
        b.phoff = size + 1
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: size + 1, count: 3, entrySize: 56))
        b.phoff = UInt64.max             // would wrap phoff + size
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: UInt64.max, count: 3, entrySize: 56))
        b.phoff = UInt64.max - 55
        XCTAssertEqual(error(b.bytes()), .badProgramHeaders(offset: UInt64.max - 55, count: 3, entrySize: 56))
    }

    func testSegmentOutsideFile() {
        let size = UInt64(twoSegmentImage().bytes().count)
        for (offset, fileSize) in [(size + 1, 0), (size, 1), (size - 0x10, 0x11), (0, UInt64.max),
                                   (UInt64.max, 1), (UInt64.max - 4, 0x10), (1, size)] as [(UInt64, UInt64)] {
            var b = twoSegmentImage()
            b.headers[2].offset = offset
            b.headers[2].fileSize = fileSize
            b.headers[2].memorySize = UInt64.max >> 1
            XCTAssertEqual(error(b.bytes()), .segmentOutsideFile(index: 2), "offset \(offset) size \(fileSize)")
        }
        // A zero-length segment exactly at the end of the file is inside.
        var b = twoSegmentImage()
        b.headers[2].offset = size
        b.headers[2].fileSize = 0
        XCTAssertNil(error(b.bytes()))
    }

    func testSegmentFileLargerThanMemory() {
        var b = twoSegmentImage()
        b.headers[0].memorySize = 0x3F
        XCTAssertEqual(error(b.bytes()), .segmentFileLargerThanMemory(index: 0))
        b = twoSegmentImage()
        b.headers[2].memorySize = 0       // not "skipped": file bytes with no memory is malformed
        XCTAssertEqual(error(b.bytes()), .segmentFileLargerThanMemory(index: 2))
    }

    func testSegmentWraps() {
        var b = twoSegmentImage()
        b.headers[2].paddr = UInt64.max - 0xFFF
        b.headers[2].memorySize = 0x2000
        XCTAssertEqual(error(b.bytes()), .segmentWraps(index: 2))
        b.headers[2].paddr = 1
        b.headers[2].memorySize = UInt64.max
        XCTAssertEqual(error(b.bytes()), .segmentWraps(index: 2))
        // Ending exactly at 2^64 is a wrap too (the end is not representable).
        b.headers[2].paddr = UInt64.max - 0xFFF
        b.headers[2].memorySize = 0x1000
        XCTAssertEqual(error(b.bytes()), .segmentWraps(index: 2))
        // One byte short of that fits.
        b.headers[2].memorySize = 0xFFF
        XCTAssertNil(error(b.bytes()))
    }

    func testNoLoadableSegment() {
        var b = ELFTestBuilder()
        XCTAssertEqual(error(b.bytes()), .noLoadableSegment)             // phnum 0
        b.headers = [PH(type: 4, offset: 64, paddr: 0x10_0000, fileSize: 0, memorySize: 0x1000),
                     PH(type: 2, offset: 64, paddr: 0x10_0000, fileSize: 0, memorySize: 0x1000)]
        XCTAssertEqual(error(b.bytes()), .noLoadableSegment)             // only NOTE/DYNAMIC
        b.headers = [PH(offset: 64, paddr: 0x10_0000, fileSize: 0, memorySize: 0)]
        XCTAssertEqual(error(b.bytes()), .noLoadableSegment)             // only an empty LOAD
    }

    func testErrorsAreReportedInHeaderOrder() {
        // Machine is checked before type; class before both.
        var b = twoSegmentImage()
        b.machine = 3
        b.type = 3
        XCTAssertEqual(error(b.bytes()), .notX86_64(3))
        b.elfClass = 1
        XCTAssertEqual(error(b.bytes()), .not64BitLittleEndian)
        // The first bad segment is the one reported.
        b = twoSegmentImage()
        b.headers[0].memorySize = 0
        b.headers[2].offset = UInt64.max
        XCTAssertEqual(error(b.bytes()), .segmentFileLargerThanMemory(index: 0))
    }

    // MARK: Robustness

    func testTruncationAtEveryLengthFailsCleanly() {
        let full = twoSegmentImage().bytes()
        XCTAssertNil(error(full))
        for length in 0..<full.count {
            let e = error(Array(full.prefix(length)))
            if length < 64 {
                XCTAssertEqual(e, .tooSmall(length))
            } else if length < 64 + 3 * 56 {
                XCTAssertEqual(e, .badProgramHeaders(offset: 64, count: 3, entrySize: 56), "length \(length)")
            } else {
                XCTAssertEqual(e, .segmentOutsideFile(index: length < 64 + 3 * 56 + 0x40 ? 0 : 2), "length \(length)")
            }
        }
    }

    func testRandomCorruptionNeverTraps() {
        let full = twoSegmentImage().bytes()
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        var parsed = 0
        for _ in 0..<3000 {
            var file = full
            for _ in 0..<(1 + Int(next() % 4)) {
                // Mostly the header and the table, where the fields are.
                let at = Int(next() % UInt64(64 + 3 * 56))
                file[at] = UInt8(truncatingIfNeeded: next())
            }
            if case .success(let elf) = parseTestELF(file) {
                parsed += 1
                // Whatever parses must be self-consistent.
                for s in elf.segments {
                    XCTAssertLessThanOrEqual(s.fileOffset + s.fileSize, UInt64(file.count))
                    XCTAssertLessThanOrEqual(s.fileSize, s.memorySize)
                    XCTAssertGreaterThan(s.memorySize, 0)
                    XCTAssertFalse(s.address.addingReportingOverflow(s.memorySize).overflow)
                }
            }
        }
        XCTAssertGreaterThan(parsed, 0)
    }
}
