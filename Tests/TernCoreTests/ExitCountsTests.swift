import XCTest
@testable import TernCore

final class ExitCountsTests: XCTestCase {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testNothingCountedIsZeroWithoutAList() {
        let exits = ExitCounts()
        XCTAssertEqual(exits.total, 0)
        XCTAssertEqual(text(exits.summary()), "0")
    }

    func testSummaryRanksByCountThenDeclarationOrder() {
        var exits = ExitCounts()
        for _ in 0..<3 { exits.count(.serialPort) }
        for _ in 0..<5 { exits.count(.localAPIC) }
        exits.count(.msr)
        exits.count(.halt)
        XCTAssertEqual(exits[.localAPIC], 5)
        XCTAssertEqual(exits.total, 10)
        XCTAssertEqual(text(exits.summary()), "10 (lapic 5, uart 3, hlt 1, msr 1)")
    }

    func testReasonsPastTheTopAreSummedAsOthers() {
        var exits = ExitCounts()
        for (index, reason) in ExitCounts.Reason.allCases.enumerated() {
            for _ in 0...index { exits.count(reason) }   // other 13 ... hypercall 1
        }
        XCTAssertEqual(exits.total, 91)
        XCTAssertEqual(text(exits.summary(top: 2)), "91 (other 13, intr 12, others 66)")
    }
}
