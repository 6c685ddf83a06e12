import XCTest
@testable import TernCore

/// The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) that Dom0's Linux carries.
final class PVHNoteTests: XCTestCase {
    /// One ELF note: namesz, descsz, type, name (padded to 4), desc (padded).
    private func note(name: String, type: UInt32, desc: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        let nameBytes = Array(name.utf8) + [0]
        bytes.storeAppend32(UInt32(nameBytes.count))
        bytes.storeAppend32(UInt32(desc.count))
        bytes.storeAppend32(type)
        bytes += nameBytes + [UInt8](repeating: 0, count: (4 - nameBytes.count % 4) % 4)
        bytes += desc + [UInt8](repeating: 0, count: (4 - desc.count % 4) % 4)
        return bytes
    }

    private func image(notes: [UInt8]) -> [UInt8] {
        var b = ELFTestBuilder.simple(payload: [0x90, 0x90, 0x90, 0x90])
        b.headers.append(.init(type: 4, offset: 0, paddr: 0, fileSize: UInt64(notes.count), memorySize: 0))
        b.headers[0].offset = b.payloadOffset
        b.headers[1].offset = b.payloadOffset + 4
        b.payload += notes
        return b.bytes()
    }

    func testFindsThePhys32EntryAmongOtherNotes() throws {
        let notes = note(name: "Xen", type: 6, desc: Array("linux".utf8) + [0])
            + note(name: "GNU", type: 18, desc: [1, 2, 3, 4])              // right type, wrong owner
            + note(name: "Xen", type: 18, desc: [0x50, 0x08, 0x00, 0x01])  // Linux 6.1: 0x1000850
        let elf = try parseTestELF(image(notes: notes)).get()
        XCTAssertEqual(elf.pvhEntry, 0x0100_0850)
        XCTAssertEqual(elf.segments.count, 1, "a PT_NOTE is not loaded")
    }

    func testNoNoteMeansNoPVHEntry() throws {
        XCTAssertNil(try parseTestELF(image(notes: note(name: "Xen", type: 6, desc: [1]))).get().pvhEntry)
        XCTAssertNil(try parseTestELF(ELFTestBuilder.simple(payload: [1, 2]).bytes()).get().pvhEntry)
    }

    func testMalformedNotesEndTheWalkWithoutReadingPastThem() {
        var notes = note(name: "Xen", type: 18, desc: [1, 0, 0, 0])
        notes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(4000).littleEndian, toByteOffset: 4, as: UInt32.self) }
        notes.withUnsafeBytes { XCTAssertNil(ELFImage.pvhEntry(inNotes: $0)) }
        for cut in 0..<notes.count {
            Array(notes.prefix(cut)).withUnsafeBytes { _ = ELFImage.pvhEntry(inNotes: $0) }
        }
        // A short descriptor (under 4 bytes) is not an entry point.
        note(name: "Xen", type: 18, desc: [1, 2]).withUnsafeBytes { XCTAssertNil(ELFImage.pvhEntry(inNotes: $0)) }
    }
}

extension Array where Element == UInt8 {
    /// Appends a little-endian u32 (the ELF note tests' builders).
    mutating func storeAppend32(_ value: UInt32) {
        for i in 0..<4 { append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }
}
