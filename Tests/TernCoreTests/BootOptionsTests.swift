import XCTest
@testable import TernCore

final class BootOptionsTests: XCTestCase {
    private func parse(_ line: String) -> BootOptions {
        Array(line.utf8).withUnsafeBytes { BootOptions(parsing: $0) }
    }

    private func parse(bytes: [UInt8]) -> BootOptions {
        bytes.withUnsafeBytes { BootOptions(parsing: $0) }
    }

    private func problem(_ kind: BootOptions.ProblemKind, _ offset: Int, _ length: Int) -> BootOptions.Problem {
        BootOptions.Problem(kind: kind, offset: offset, length: length)
    }

    func testEmptyLineGivesDefaults() {
        for line in ["", " ", "    "] {
            let options = parse(line)
            XCTAssertEqual(options.logLevel, .info)
            XCTAssertEqual(options.selftest, .none)
            XCTAssertFalse(options.benchEmptyExits)
            XCTAssertEqual(options.problems, [])
        }
    }

    func testFirstTokenWithoutEqualsIsTheImagePath() {
        let options = parse("/boot/tern.elf loglvl=debug")
        XCTAssertEqual(options.logLevel, .debug)
        XCTAssertEqual(options.problems, [])
    }

    func testFirstTokenWithEqualsIsAnOption() {
        XCTAssertEqual(parse("loglvl=error").logLevel, .error)
        XCTAssertEqual(parse("loglvl=error").problems, [])
    }

    func testOnlyTheFirstBareTokenIsSkipped() {
        XCTAssertEqual(parse("tern verbose").problems, [problem(.unknownOption, 5, 7)])
        XCTAssertEqual(parse("loglvl=info tern").problems, [problem(.unknownOption, 12, 4)])
    }

    func testLogLevels() {
        let cases: [(String, LogLevel)] = [
            ("error", .error), ("err", .error), ("warning", .warning), ("warn", .warning),
            ("info", .info), ("debug", .debug), ("all", .debug),
        ]
        for (value, level) in cases {
            let options = parse("tern loglvl=\(value)")
            XCTAssertEqual(options.logLevel, level, value)
            XCTAssertEqual(options.problems, [], value)
        }
    }

    func testLaterOptionWins() {
        XCTAssertEqual(parse("tern loglvl=debug loglvl=warn").logLevel, .warning)
    }

    func testSelftest() {
        XCTAssertEqual(parse("tern selftest=pagefault").selftest, .pageFault)
        XCTAssertEqual(parse("tern selftest=pagefault selftest=none").selftest, .none)
        XCTAssertEqual(parse("tern selftest=none").problems, [])
    }

    func testBench() {
        XCTAssertTrue(parse("tern bench=exits").benchEmptyExits)
        XCTAssertFalse(parse("tern bench=exits bench=none").benchEmptyExits)
        XCTAssertEqual(parse("tern bench=all").problems, [problem(.badValue, 5, 9)])
    }

    func testBadValuesAreProblemsWithTheirPlace() {
        let options = parse("tern loglvl=verbose selftest=doublefault loglvl=")
        XCTAssertEqual(options.logLevel, .info, "a bad value changes nothing")
        XCTAssertEqual(options.selftest, .none)
        XCTAssertEqual(options.problems, [
            problem(.badValue, 5, 14), problem(.badValue, 20, 20), problem(.badValue, 41, 7),
        ])
    }

    func testValuesAreCaseSensitive() {
        XCTAssertEqual(parse("tern loglvl=DEBUG").problems, [problem(.badValue, 5, 12)])
    }

    func testUnknownOptionsAreProblemsWithTheirPlace() {
        let options = parse("tern foo=1 bare =x loglvl=debug")
        XCTAssertEqual(options.problems, [
            problem(.unknownOption, 5, 5), problem(.unknownOption, 11, 4), problem(.unknownOption, 16, 2),
        ])
        XCTAssertEqual(options.logLevel, .debug, "problems never stop parsing")
    }

    func testMultipleSpaces() {
        let options = parse("   tern    loglvl=warn     bogus   ")
        XCTAssertEqual(options.logLevel, .warning)
        XCTAssertEqual(options.problems, [problem(.unknownOption, 27, 5)])
    }

    func testNULEndsTheLine() {
        let options = parse(bytes: Array("tern loglvl=debug".utf8) + [0] + Array("loglvl=error junk".utf8))
        XCTAssertEqual(options.logLevel, .debug)
        XCTAssertEqual(options.problems, [])
        let nulAfterSpace = parse(bytes: Array("tern ".utf8) + [0] + Array("bogus".utf8))
        XCTAssertEqual(nulAfterSpace.problems, [])
        let leadingNUL = parse(bytes: [0] + Array("loglvl=error".utf8))
        XCTAssertEqual(leadingNUL.logLevel, .info)
    }
}
