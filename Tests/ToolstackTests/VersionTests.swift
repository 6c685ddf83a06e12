import TernABI
import XCTest
@testable import TernToolstack

/// `tern --version`: the toolstack's version (its ABI headers') and Tern's
/// ABI version from /dev/tern when there is one.
final class VersionTests: XCTestCase {
    let own = UInt32(TERN_ABI_VERSION)
    var ownText: String { "\(TERN_ABI_MAJOR).\(TERN_ABI_MINOR)" }

    func testWithTern() {
        XCTAssertEqual(ToolstackVersion.line(ternABI: own), "tern \(ownText) (toolstack), Tern ABI \(ownText)")
        XCTAssertEqual(ToolstackVersion.line(ternABI: own + 1), "tern \(ownText) (toolstack), Tern ABI \(ABIVersion.text(own + 1)) (another minor version)")
        XCTAssertTrue(ToolstackVersion.line(ternABI: own + (1 << 16)).hasSuffix("(another major version: creates and other calls may fail)"))
    }

    func testWithoutTern() {
        XCTAssertEqual(ToolstackVersion.line(ternABI: nil, unavailable: "cannot open /dev/tern: No such file or directory"),
                       "tern \(ownText) (toolstack); Tern's ABI unknown: cannot open /dev/tern: No such file or directory")
    }

    func testTheCommand() throws {
        for arguments in [["--version"], ["list", "--version"]] {
            let run = try CLIRun.tern(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments)")
            XCTAssertEqual(run.err, "")
            // This host has no /dev/tern (if it had, the line would name Tern's ABI).
            XCTAssertTrue(run.out.hasPrefix("tern \(ownText) (toolstack)") && run.out.hasSuffix("\n") && run.out.filter { $0 == "\n" }.count == 1,
                          "\(arguments): \(run.out)")
        }
    }
}
