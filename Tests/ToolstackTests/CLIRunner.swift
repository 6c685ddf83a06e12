import Foundation
import XCTest

/// Runs the `tern` built next to this test bundle (`swift build` builds
/// it with the tests), for what only the CLI decides: argument errors,
/// help, the checks before /dev/tern is opened. On a host without
/// /dev/tern, anything past those stops at "cannot open /dev/tern".
struct CLIRun {
    var status: Int32
    var out: String
    var err: String

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tern")
    }

    static func tern(_ arguments: String..., file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        try tern(arguments, file: file, line: line)
    }

    static func tern(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            XCTFail("no tern at \(binary.path): build it (swift build --build-tests)", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIRun(status: process.terminationStatus, out: String(decoding: outData, as: UTF8.self),
                      err: String(decoding: errData, as: UTF8.self))
    }

    /// Asserts the project's error rule: one line "tern: ..." on stderr,
    /// nothing on stdout, status 1; returns the line without "tern: ".
    @discardableResult
    func error(file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertEqual(status, 1, "exit status", file: file, line: line)
        XCTAssertEqual(out, "", "stdout", file: file, line: line)
        XCTAssertTrue(err.hasPrefix("tern: "), "stderr starts with tern: \(err)", file: file, line: line)
        XCTAssertTrue(err.hasSuffix("\n") && err.filter { $0 == "\n" }.count == 1, "one line: \(err)", file: file, line: line)
        return String(err.dropFirst("tern: ".count).dropLast())
    }
}
