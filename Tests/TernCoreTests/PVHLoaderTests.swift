import XCTest
@testable import TernCore

/// The PVH loader with the packed memory plan (an unprivileged guest's
/// RAM at [0, size)): segments, initrd, start info and its one-entry map.
/// Dom0's identity plan goes through the same code (Dom0Builder).
final class PVHLoaderTests: XCTestCase {
    var machine: FakeHostMachine!
    var domain: Domain!

    override func setUp() {
        machine = FakeHostMachine(base: 0x10_0000, size: 16 << 20)
        domain = Domain(id: 4, name: Array("linux".utf8), privileged: false)
        XCTAssertNoThrow(try DomainBuilder.populate(domain, frames: 1024, host: machine.memory, allocator: &machine.frames))
    }

    override func tearDown() { domain = nil; machine = nil }

    /// A kernel with a PVH entry note (type 18) at 0x1000010, loaded at 1 MiB.
    func pvhKernel(payload: [UInt8]) -> [UInt8] {
        var note: [UInt8] = []
        note.storeAppend32(4)        // namesz ("Xen\0")
        note.storeAppend32(4)        // descsz
        note.storeAppend32(18)       // XEN_ELFNOTE_PHYS32_ENTRY
        note += Array("Xen".utf8) + [0] + [0x10, 0x00, 0x10, 0x00]
        var b = ELFTestBuilder.simple(payload: payload)
        b.headers.append(.init(type: 4, offset: 0, paddr: 0, fileSize: UInt64(note.count), memorySize: 0))
        b.headers[0].offset = b.payloadOffset
        b.headers[1].offset = b.payloadOffset + UInt64(payload.count)
        b.payload += note
        return b.bytes()
    }

    func load(_ kernel: [UInt8], initrd: [UInt8]?) throws -> PVHLoader.StartState {
        let elf = try parseTestELF(kernel).get()
        let memory = GuestMemory(of: domain, host: machine.memory)
        return try kernel.withUnsafeBytes { k in
            try (initrd ?? []).withUnsafeBytes { i in
                try PVHLoader.loadKernel(elf: elf, kernel: k, initrd: initrd == nil ? nil : i, commandLine: Array("console=hvc0".utf8),
                                   memoryMap: PVHLoader.packedMemoryMap(memoryBytes: domain.memoryBytes), into: memory)
            }
        }
    }

    func guestBytes(_ gpa: UInt64, _ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        _ = bytes.withUnsafeMutableBytes { GuestMemory(of: domain, host: machine.memory).copyFromGuest(at: gpa, into: $0) }
        return bytes
    }

    func word(_ gpa: UInt64, _ size: Int) -> UInt64 {
        guestBytes(gpa, size).enumerated().reduce(0) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
    }

    func testAKernelInitrdAndStartInfoInPackedMemory() throws {
        let start = try load(pvhKernel(payload: [1, 2, 3, 4, 5, 6, 7, 8]), initrd: [UInt8](repeating: 0xAB, count: 3000))
        XCTAssertEqual(start.entry, 0x0010_0010)
        XCTAssertEqual(guestBytes(0x10_0000, 8), [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(start.startInfo, 0x20_0000 + 0x1000, "after the initrd, which starts at the next 2 MiB unit")
        let info = start.startInfo
        XCTAssertEqual(UInt32(word(info, 4)), PVHStartInfo.magic)
        XCTAssertEqual(word(info + 12, 4), 1, "one module")
        let module = word(info + 16, 8)
        XCTAssertEqual(word(module, 8), 0x20_0000)
        XCTAssertEqual(word(module + 8, 8), 3000)
        XCTAssertEqual(guestBytes(0x20_0000, 4), [0xAB, 0xAB, 0xAB, 0xAB])
        XCTAssertEqual(word(info + 48, 4), 1, "the packed map: one entry")
        let map = word(info + 40, 8)
        XCTAssertEqual(word(map, 8), 0)
        XCTAssertEqual(word(map + 8, 8), 4 << 20, "all of its RAM, from 0")
        XCTAssertEqual(word(map + 16, 4), UInt64(PVHStartInfo.MemoryType.ram.rawValue))
        XCTAssertEqual(guestBytes(word(info + 24, 8), 13), Array("console=hvc0".utf8) + [0])
    }

    func testRefusals() throws {
        XCTAssertThrowsError(try load(ELFTestBuilder.simple(payload: [1]).bytes(), initrd: nil)) { error in
            XCTAssertEqual(error as? PVHLoader.Error, .noPVHEntry)
        }
        XCTAssertThrowsError(try load(pvhKernel(payload: [1]), initrd: [UInt8](repeating: 0, count: 8 << 20))) { error in
            XCTAssertEqual(error as? PVHLoader.Error, .initrdDoesNotFit(size: 8 << 20))
        }
    }
}
