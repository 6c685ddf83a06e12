import XCTest
@testable import TernToolstack

/// The words `tern` fixes up before the parser sees them, and the parser's
/// messages as one line.
final class CommandWordsTests: XCTestCase {
    let known = ["create", "list", "help"]

    func testUnknownCommand() {
        XCTAssertEqual(CommandWords.unknownCommand(["foo", "x"], known: known), "foo")
        XCTAssertEqual(CommandWords.unknownCommand(["help", "foo"], known: known), "foo")
        XCTAssertNil(CommandWords.unknownCommand(["create", "x"], known: known))
        XCTAssertNil(CommandWords.unknownCommand(["help", "create"], known: known))
        XCTAssertNil(CommandWords.unknownCommand(["help"], known: known))
        XCTAssertNil(CommandWords.unknownCommand(["--help"], known: known))
        XCTAssertNil(CommandWords.unknownCommand([], known: known))
    }

    func testNegativeNumbersAreValues() {
        XCTAssertEqual(CommandWords.valuesNotOptions(["pause", "-1"]), ["pause", "--", "-1"])
        XCTAssertEqual(CommandWords.valuesNotOptions(["prepare", "-3", "--memory", "4"]), ["prepare", "--", "-3", "--memory", "4"])
        XCTAssertEqual(CommandWords.valuesNotOptions(["prepare", "3", "--memory", "-2"]), ["prepare", "3", "--memory", "-2"],
                       "an option's value is left to the option")
        XCTAssertEqual(CommandWords.valuesNotOptions(["pause", "--", "-1"]), ["pause", "--", "-1"])
        XCTAssertEqual(CommandWords.valuesNotOptions(["list", "--json", "-h"]), ["list", "--json", "-h"])
    }

    func testOneLine() {
        XCTAssertEqual(CommandWords.oneLine("Error: Missing expected argument '<config>'\nHelp:  <config>  The file.\nUsage: x", command: "create"),
                       "missing expected argument '<config>' (see 'tern help create')")
        XCTAssertEqual(CommandWords.oneLine("Unknown option '--x'", command: nil), "unknown option '--x' (see 'tern help')")
        XCTAssertEqual(CommandWords.oneLine("\n", command: nil), "bad arguments (see 'tern help')")
    }
}
