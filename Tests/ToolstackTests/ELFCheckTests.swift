import TernABI
import XCTest
@testable import TernToolstack

/// A synthetic ELF64 x86-64 executable: the header, a program header
/// table, one PT_LOAD and the PT_NOTE segments given, as bytes.
struct SyntheticELF {
    var notes: [[UInt8]] = []     // one PT_NOTE segment each
    var type: UInt16 = 2
    var machine: UInt16 = 62

    static let headerSize = 64, programHeaderSize = 56

    /// One note in the file format: namesz, descsz, type, name + NUL and
    /// desc, each padded to 4 bytes.
    static func note(name: String, type: UInt32, desc: [UInt8]) -> [UInt8] {
        let nameBytes = Array(name.utf8) + [0]
        var bytes = le32(UInt32(nameBytes.count)) + le32(UInt32(desc.count)) + le32(type)
        bytes += nameBytes + [UInt8](repeating: 0, count: (4 - nameBytes.count % 4) % 4)
        bytes += desc + [UInt8](repeating: 0, count: (4 - desc.count % 4) % 4)
        return bytes
    }

    static func ternNote(version: UInt32 = UInt32(TERN_ABI_VERSION)) -> [UInt8] {
        note(name: "Tern", type: UInt32(TERN_ELFNOTE_ABI_VERSION), desc: le32(version))
    }

    var bytes: [UInt8] {
        let count = 1 + notes.count
        var data = [UInt8](repeating: 0, count: SyntheticELF.headerSize)
        data[0...3] = [0x7F, 0x45, 0x4C, 0x46]
        data[4] = 2; data[5] = 1; data[6] = 1
        data.put16(16, type); data.put16(18, machine)
        data.put64(24, 0x100000)                                  // e_entry
        data.put64(32, UInt64(SyntheticELF.headerSize))           // e_phoff
        data.put16(52, UInt16(SyntheticELF.headerSize))
        data.put16(54, UInt16(SyntheticELF.programHeaderSize)); data.put16(56, UInt16(count))
        var offset = SyntheticELF.headerSize + count * SyntheticELF.programHeaderSize
        let code: [UInt8] = [0xF4, 0xEB, 0xFD]                    // hlt; jmp $-1
        data += SyntheticELF.programHeader(type: 1, offset: offset, size: code.count, align: 0x1000)
        offset += code.count
        var payload = code
        for note in notes {
            data += SyntheticELF.programHeader(type: 4, offset: offset, size: note.count, align: 4)
            payload += note
            offset += note.count
        }
        return data + payload
    }

    static func programHeader(type: UInt32, offset: Int, size: Int, align: UInt64) -> [UInt8] {
        var entry = [UInt8](repeating: 0, count: programHeaderSize)
        entry.put32(0, type); entry.put32(4, 4)                   // p_flags R
        entry.put64(8, UInt64(offset)); entry.put64(16, 0x100000); entry.put64(24, 0x100000)
        entry.put64(32, UInt64(size)); entry.put64(40, UInt64(size)); entry.put64(48, align)
        return entry
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}

extension Array where Element == UInt8 {
    mutating func put16(_ at: Int, _ v: UInt16) { for i in 0..<2 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    mutating func put32(_ at: Int, _ v: UInt32) { for i in 0..<4 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    mutating func put64(_ at: Int, _ v: UInt64) { for i in 0..<8 { self[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
}

/// `tern create`'s image check: an x86-64 ELF executable with the Tern
/// note (tern/elfnote.h), read safely from bytes that may lie.
final class ELFCheckTests: XCTestCase {
    let guest = SyntheticELF(notes: [SyntheticELF.ternNote()]).bytes

    func testAGuestWithTheNoteIsAccepted() throws {
        XCTAssertNil(ELFCheck.problem(guest))
        XCTAssertEqual(try ELFCheck.guestABIVersion(guest), UInt32(TERN_ABI_VERSION))
    }

    func testTheNoteIsFoundAmongOthers() throws {
        let gnu = SyntheticELF.note(name: "GNU", type: 3, desc: [1, 2, 3, 4, 5, 6, 7, 8])
        let otherTern = SyntheticELF.note(name: "Tern", type: 99, desc: [9])
        let bytes = SyntheticELF(notes: [gnu, otherTern + SyntheticELF.ternNote()]).bytes
        XCTAssertEqual(try ELFCheck.guestABIVersion(bytes), UInt32(TERN_ABI_VERSION))
    }

    func testAnExecutableWithoutTheNoteIsNotATernGuest() {
        let notTern = "not a Tern guest (no Tern ELF note) nor a Linux vmlinux (no PVH entry note); docs/porting.md"
        XCTAssertEqual(ELFCheck.problem(SyntheticELF().bytes), notTern)
        XCTAssertEqual(ELFCheck.problem(SyntheticELF(notes: [SyntheticELF.note(name: "GNU", type: 1, desc: [0, 0, 0, 0])]).bytes), notTern)
        XCTAssertEqual(ELFCheck.problem(SyntheticELF(notes: [SyntheticELF.note(name: "Ternx", type: 1, desc: [7, 0, 0, 0])]).bytes), notTern,
                       "the name must be Tern exactly")
        XCTAssertEqual(ELFCheck.problem(SyntheticELF(notes: [SyntheticELF.note(name: "Tern", type: 1, desc: [7, 0])]).bytes),
                       "its Tern ELF note is 2 bytes, not a 4-byte ABI version")
    }

    func testAPVHEntryNoteMakesALinuxKernel() throws {
        let pvh = SyntheticELF.note(name: "Xen", type: 18, desc: SyntheticELF.le32(0x1000850))
        XCTAssertEqual(try ELFCheck.guestImage(SyntheticELF(notes: [pvh]).bytes), .linux(pvhEntry: 0x1000850))
        XCTAssertEqual(try ELFCheck.guestImage(guest), .pv(abiVersion: UInt32(TERN_ABI_VERSION)))
        XCTAssertEqual(try ELFCheck.guestImage(SyntheticELF(notes: [SyntheticELF.ternNote(), pvh]).bytes),
                       .pv(abiVersion: UInt32(TERN_ABI_VERSION)), "a Tern note wins: a PV guest")
        XCTAssertThrowsError(try ELFCheck.guestImage(SyntheticELF(notes: [SyntheticELF.note(name: "Xen", type: 18, desc: [1, 2])]).bytes)) {
            XCTAssertEqual(($0 as? ELFCheck.Problem)?.description, "its PVH entry note is 2 bytes, not a 4-byte address")
        }
        XCTAssertThrowsError(try ELFCheck.guestImage(SyntheticELF(notes: [SyntheticELF.note(name: "Xen", type: 17, desc: [1, 2, 3, 4])]).bytes),
                             "another Xen note is not a PVH entry")
    }

    func testAnotherMajorABIIsRefused() {
        XCTAssertEqual(ELFCheck.problem(SyntheticELF(notes: [SyntheticELF.ternNote(version: UInt32(TERN_ABI_MAJOR + 1) << 16 | 3)]).bytes),
                       "built for Tern ABI \(TERN_ABI_MAJOR + 1).3; this toolstack speaks \(TERN_ABI_MAJOR).\(TERN_ABI_MINOR)")
    }

    func testTheHeaderChecks() {
        XCTAssertEqual(ELFCheck.problem(Array(guest[0..<10])), "10 bytes: too small to be an ELF file")
        var bad = guest; bad[0] = 0
        XCTAssertEqual(ELFCheck.problem(bad), "not an ELF file")
        bad = guest; bad[4] = 1
        XCTAssertEqual(ELFCheck.problem(bad), "not a 64-bit little-endian ELF file")
        XCTAssertEqual(ELFCheck.problem(SyntheticELF(notes: [SyntheticELF.ternNote()], machine: 40).bytes), "ELF machine 40, not x86-64")
        XCTAssertEqual(ELFCheck.problem(SyntheticELF(notes: [SyntheticELF.ternNote()], type: 3).bytes),
                       "ELF type 3, not an executable (a PV guest is linked static, ET_EXEC)")
    }

    /// Hostile files: offsets and sizes that point outside the file, or
    /// past their segment, are refused or end the walk; nothing traps.
    func testLyingOffsetsAndSizes() {
        var bad = guest; bad.put64(32, UInt64.max - 10)       // e_phoff far away
        XCTAssertEqual(ELFCheck.problem(bad), "bad program header table (2 entries of 56 bytes at offset \(UInt64.max - 10))")
        bad = guest; bad.put16(56, 0xFFFF)                    // e_phnum past the end
        XCTAssertEqual(ELFCheck.problem(bad), "bad program header table (65535 entries of 56 bytes at offset 64)")
        bad = guest; bad.put16(54, 32)                        // e_phentsize not 56
        XCTAssertEqual(ELFCheck.problem(bad), "bad program header table (2 entries of 32 bytes at offset 64)")
        let note = 64 + 56   // the PT_NOTE's program header
        bad = guest; bad.put64(note + 8, UInt64.max)          // p_offset outside
        XCTAssertEqual(ELFCheck.problem(bad), "note segment 1 lies outside the file")
        bad = guest; bad.put64(note + 32, UInt64.max - 100)   // p_filesz: offset + size wraps
        XCTAssertEqual(ELFCheck.problem(bad), "note segment 1 lies outside the file")
        let notTern = "not a Tern guest (no Tern ELF note) nor a Linux vmlinux (no PVH entry note); docs/porting.md"
        let noteStart = guest.count - SyntheticELF.ternNote().count
        bad = guest; bad.put32(noteStart, UInt32.max)         // namesz past the segment
        XCTAssertEqual(ELFCheck.problem(bad), notTern)
        bad = guest; bad.put32(noteStart + 4, UInt32.max)     // descsz past the segment
        XCTAssertEqual(ELFCheck.problem(bad), notTern)
        bad = guest; bad.put64(note + 32, 11)                 // a segment shorter than a note header
        XCTAssertEqual(ELFCheck.problem(bad), notTern)
        XCTAssertEqual(ELFCheck.problem(Array(guest.dropLast(3))), "note segment 1 lies outside the file", "truncated file")
    }

    /// Every guest the build made carries the note (Guests/Runtime/note.c,
    /// guest.ld), when `make guests` has run.
    func testTheBuiltGuestsCarryTheNote() throws {
        let guests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("build/guests")
        let elves = ((try? FileManager.default.contentsOfDirectory(atPath: guests.path)) ?? []).filter { $0.hasSuffix(".elf") }
        try XCTSkipIf(elves.isEmpty, "no build/guests/*.elf (make guests)")
        for elf in elves {
            let bytes = try KernelFile.read(guests.appendingPathComponent(elf).path).get()
            XCTAssertNil(ELFCheck.problem(bytes), elf)
        }
    }
}
