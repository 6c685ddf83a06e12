import XCTest
@testable import TernToolstack

/// `tern create` of a guest that crashes in its first instructions reports
/// the crash (Tern has logged it by the time the create returns).
final class EarlyEndTests: XCTestCase {
    let log = """
        (tern) d3 bad: created, 4 MiB RAM, entry 0x100000
        (tern) WARNING: d3 bad crashed: nested page fault: write at GPA 0x3fe00000, RIP 0x100123 (outside its memory)
        (tern) d13 bad: destroyed
        """

    func testTheCrashLineIsFoundForThatDomainOnly() {
        XCTAssertEqual(EarlyEnd.crash(of: 3, named: "bad", in: log),
                       "nested page fault: write at GPA 0x3fe00000, RIP 0x100123 (outside its memory)")
        XCTAssertNil(EarlyEnd.crash(of: 13, named: "bad", in: "(tern) WARNING: d113 bad crashed: triple fault"), "d113 is not d13")
        XCTAssertNil(EarlyEnd.crash(of: 4, named: "bad", in: log))
        XCTAssertNil(EarlyEnd.crash(of: 3, named: "ba", in: log))
    }

    func testTheMessageSaysWhatHappensAndWhereTheOutputIs() {
        XCTAssertEqual(EarlyEnd.message(domid: 3, name: "bad", why: "triple fault (shutdown) at RIP 0x0", onCrash: "destroy"),
                       "d3 bad crashed at once: triple fault (shutdown) at RIP 0x0 (on_crash = \"destroy\"; its output: tern console bad)")
    }
}
