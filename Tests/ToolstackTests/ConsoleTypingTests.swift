import XCTest
@testable import TernToolstack

/// `tern console`'s input: a line edited locally on a terminal, piped
/// bytes passed as they are, Ctrl-] and Ctrl-C leaving.
final class ConsoleTypingTests: XCTestCase {
    func testPipedInputGoesAsItIs() {
        var typing = ConsoleTyping(interactive: false)
        XCTAssertEqual(typing.edit(Array("ls\r\n\u{7F}\u{1D}".utf8)), .more, "no escape key when piped")
        XCTAssertEqual(typing.toSend, Array("ls\r\n\u{7F}\u{1D}".utf8))
        XCTAssertEqual(typing.echo, [])
    }

    func testATerminalLineIsSentAtEnterWithItsEdits() {
        var typing = ConsoleTyping(interactive: true)
        XCTAssertEqual(typing.edit(Array("hellp".utf8)), .more)
        XCTAssertEqual(typing.toSend, [], "nothing before Enter")
        XCTAssertEqual(typing.edit([0x7F] + Array("o\u{1}".utf8) + [0x0D]), .more)
        XCTAssertEqual(String(decoding: typing.toSend, as: UTF8.self), "hello\n", "Backspace edited, Ctrl-A dropped, CR is a newline")
        XCTAssertEqual(String(decoding: typing.echo, as: UTF8.self), "hellp\u{8} \u{8}o\n")
        XCTAssertEqual(typing.line, [])
    }

    func testBackspaceOnAnEmptyLineDoesNothing() {
        var typing = ConsoleTyping(interactive: true)
        XCTAssertEqual(typing.edit([0x08]), .more)
        XCTAssertEqual(typing.echo, [])
    }

    func testCtrlRightBracketLeaves() {
        var typing = ConsoleTyping(interactive: true)
        XCTAssertEqual(typing.edit(Array("ab".utf8) + [0x1D] + Array("cd\r".utf8)), .escape)
        XCTAssertEqual(typing.toSend, [], "the unfinished line is not sent")
    }

    func testCtrlCLeavesAndIsNotSent() {
        var typing = ConsoleTyping(interactive: true)
        XCTAssertEqual(typing.edit(Array("ls\r".utf8) + Array("half".utf8) + [0x03] + Array("more\r".utf8)), .escape)
        XCTAssertEqual(String(decoding: typing.toSend, as: UTF8.self), "ls\n", "the finished line went; no 0x03, nothing after")
    }

    func testPipedCtrlCIsAByteLikeAnyOther() {
        var typing = ConsoleTyping(interactive: false)
        XCTAssertEqual(typing.edit([0x61, 0x03, 0x0A]), .more)
        XCTAssertEqual(typing.toSend, [0x61, 0x03, 0x0A])
    }
}
