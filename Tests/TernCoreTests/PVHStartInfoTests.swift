import XCTest
@testable import TernCore

/// The PVH start-of-day block Dom0's Linux reads (start_info.h, version 1).
final class PVHStartInfoTests: XCTestCase {
    private func u32(_ b: [UInt8], _ at: Int) -> UInt32 { b.withUnsafeBytes { $0.u32(at: at)! } }
    private func u64(_ b: [UInt8], _ at: Int) -> UInt64 { b.withUnsafeBytes { $0.u64(at: at)! } }
    private func string(_ b: [UInt8], at gpa: UInt64, base: UInt64) -> String {
        let start = Int(gpa - base)
        return String(decoding: b[start...].prefix { $0 != 0 }, as: UTF8.self)
    }

    func testLayoutAndContents() throws {
        let base: UInt64 = 0x7000
        let map = [PVHStartInfo.MapEntry(address: 0, size: 0x9_F000, type: .reserved),
                   PVHStartInfo.MapEntry(address: 0x40_0000, size: 0x1000_0000, type: .ram)]
        let initrd = PVHStartInfo.Module(address: 0x400_0000, size: 1_627_678, commandLine: Array("initrd".utf8))
        let b = try XCTUnwrap(PVHStartInfo.build(base: base, limit: 4096, commandLine: Array("console=ttyS0 quiet".utf8),
                                                 modules: [initrd], memoryMap: map, rsdp: 0xF_5A40))
        XCTAssertEqual(u32(b, 0), 0x336E_C578)
        XCTAssertEqual(u32(b, 4), 1)
        XCTAssertEqual(u32(b, 8), 0)
        XCTAssertEqual(u32(b, 12), 1)
        XCTAssertEqual(u64(b, 16), base + 56)               // modlist right after the header
        XCTAssertEqual(u64(b, 32), 0xF_5A40)
        XCTAssertEqual(u64(b, 40), base + 56 + 32)          // memmap after one module entry
        XCTAssertEqual(u32(b, 48), 2)
        XCTAssertEqual(string(b, at: u64(b, 24), base: base), "console=ttyS0 quiet")
        XCTAssertEqual(u64(b, 56), 0x400_0000)
        XCTAssertEqual(u64(b, 64), 1_627_678)
        XCTAssertEqual(string(b, at: u64(b, 72), base: base), "initrd")
        XCTAssertEqual(u64(b, 88 + 24), 0x40_0000)
        XCTAssertEqual(u64(b, 88 + 32), 0x1000_0000)
        XCTAssertEqual(u32(b, 88 + 40), 1)
        XCTAssertEqual(u32(b, 88 + 16), 2)
        XCTAssertEqual(b.count, 88 + 48 + 20 + 7)
    }

    func testNoModulesMeansANullModuleList() throws {
        let b = try XCTUnwrap(PVHStartInfo.build(base: 0x1000, limit: 4096, commandLine: [], modules: [],
                                                 memoryMap: [.init(address: 0, size: 4096, type: .ram)]))
        XCTAssertEqual(u32(b, 12), 0)
        XCTAssertEqual(u64(b, 16), 0)
        XCTAssertEqual(string(b, at: u64(b, 24), base: 0x1000), "")
    }

    func testTooLargeForItsPlaceIsRefused() {
        let map = [PVHStartInfo.MapEntry](repeating: .init(address: 0, size: 4096, type: .ram), count: 200)
        XCTAssertNil(PVHStartInfo.build(base: 0, limit: 4096, commandLine: [], modules: [], memoryMap: map))
        XCTAssertNotNil(PVHStartInfo.build(base: 0, limit: 8192, commandLine: [], modules: [], memoryMap: map))
    }
}
