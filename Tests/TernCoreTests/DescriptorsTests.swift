import XCTest
@testable import TernCore

final class DescriptorsTests: XCTestCase {
    func testSegmentDescriptors() {
        // Base 0, limit 0xFFFFF, G; code: type 0xA, S, P, L; data: type 0x2, S, P, D/B.
        XCTAssertEqual(Descriptors.code64, 0x00AF_9A00_0000_FFFF)
        XCTAssertEqual(Descriptors.data, 0x00CF_9200_0000_FFFF)
    }

    /// APM vol. 2, figure 12-8: limit 15:0 | base 23:0 | type 9, P | limit
    /// 19:16 | base 31:24, then base 63:32 in the second slot.
    func testTSSDescriptorLayout() {
        let descriptor = Descriptors.tssDescriptor(base: 0x1234_5678_9ABC_DEF0, limit: 0x67)
        XCTAssertEqual(descriptor.low, 0x9A00_89BC_DEF0_0067)
        XCTAssertEqual(descriptor.high, 0x1234_5678)
    }

    func testTSSDescriptorSplitsALongLimit() {
        let descriptor = Descriptors.tssDescriptor(base: 0xFFFF_8000_0010_2000, limit: 0xA_BCDE)
        XCTAssertEqual(descriptor.low, 0x000A_8910_2000_BCDE)
        XCTAssertEqual(descriptor.high, 0xFFFF_8000)
        // Limit bits above 19 do not exist and must not leak into the flags.
        XCTAssertEqual(Descriptors.tssDescriptor(base: 0, limit: 0xFFFF_FFFF).low, 0x000F_8900_0000_FFFF)
    }

    /// APM vol. 2, figure 4-24: offset 15:0 | selector | IST (bits 32..34) |
    /// type 0xE, P (bits 40..47) | offset 31:16, then offset 63:32.
    func testInterruptGateLayout() {
        let gate = Descriptors.interruptGate(handler: 0xFFFF_FFFF_8012_3456, selector: 0x08, ist: 2)
        XCTAssertEqual(gate.low, 0x8012_8E02_0008_3456)
        XCTAssertEqual(gate.high, 0xFFFF_FFFF)
        XCTAssertEqual((gate.low >> 16) & 0xFFFF, 0x08)
        XCTAssertEqual((gate.low >> 32) & 0x7, 2)
        XCTAssertEqual((gate.low >> 40) & 0xFF, 0x8E)
    }

    func testInterruptGateWithoutISTAndWithAnOversizedIST() {
        let plain = Descriptors.interruptGate(handler: 0x0000_0000_0020_1ABC, selector: 0x10, ist: 0)
        XCTAssertEqual(plain.low, 0x0020_8E00_0010_1ABC)
        XCTAssertEqual(plain.high, 0)
        // Only three IST bits exist; the rest of the byte stays zero.
        let masked = Descriptors.interruptGate(handler: 0, selector: 0x08, ist: 0xFF)
        XCTAssertEqual(masked.low, 0x0000_8E07_0008_0000)
    }

    func testWriteTSS() {
        let tss = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 16)
        defer { tss.deallocate() }
        tss.initializeMemory(as: UInt8.self, repeating: 0xAA)
        let tops: [UInt64] = [0xFFFF_8000_0001_0000, 0x2_2000, 0x3_3000]
        tops.withUnsafeBufferPointer { Descriptors.writeTSS(tss, istTops: $0) }

        var expected = [UInt8](repeating: 0, count: 128)
        for (i, top) in tops.enumerated() {
            expected.replaceSubrange((36 + 8 * i)..<(44 + 8 * i), with: LittleEndian.u64(top))
        }
        expected.replaceSubrange(102..<104, with: LittleEndian.u16(104))
        XCTAssertEqual(Array(tss), expected)
        XCTAssertEqual(tss.loadUnaligned(fromByteOffset: 4, as: UInt64.self), 0, "RSP0 unused")
    }

    func testPseudoDescriptor() {
        let idtr = Descriptors.pseudoDescriptor(base: 0xFFFF_8800_0010_0000, size: 256 * 16)
        XCTAssertEqual(idtr.limit, 0xFFF)
        XCTAssertEqual(idtr.base, 0xFFFF_8800_0010_0000)
    }

    func testExceptionNames() {
        XCTAssertEqual(Exceptions.mnemonic(0).text, "#DE")
        XCTAssertEqual(Exceptions.name(0).text, "Divide-by-zero error")
        XCTAssertEqual(Exceptions.mnemonic(Exceptions.doubleFault).text, "#DF")
        XCTAssertEqual(Exceptions.name(8).text, "Double fault")
        XCTAssertEqual(Exceptions.mnemonic(13).text, "#GP")
        XCTAssertEqual(Exceptions.name(13).text, "General protection fault")
        XCTAssertEqual(Exceptions.mnemonic(Exceptions.pageFault).text, "#PF")
        XCTAssertEqual(Exceptions.name(14).text, "Page fault")
        XCTAssertEqual(Exceptions.mnemonic(2).text, "NMI")
    }

    func testUnknownVectors() {
        for vector in [9, 15, 20, 31, 32, -1, 255] {
            XCTAssertEqual(Exceptions.mnemonic(vector).text, "#??", "vector \(vector)")
            XCTAssertEqual(Exceptions.name(vector).text, "Reserved exception", "vector \(vector)")
        }
    }
}
