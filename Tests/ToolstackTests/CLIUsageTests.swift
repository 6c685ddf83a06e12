import XCTest
@testable import TernToolstack

/// `tern`'s argument errors are one "tern:" line with status 1, like its
/// other errors; help is the full text with status 0 (docs/toolstack.md).
final class CLIUsageTests: XCTestCase {
    func testAnUnknownCommandListsTheCommands() throws {
        // Every command, as the parser knows them (more may come: not spelled out here).
        let line = try CLIRun.tern("foo").error()
        XCTAssertTrue(line.hasPrefix("unknown command 'foo' (commands: create, list, info, console, ") && line.hasSuffix(")"), line)
        for command in ["pause", "unpause", "destroy", "prepare", "logd"] { XCTAssertTrue(line.contains(" \(command)"), line) }
        XCTAssertTrue(try CLIRun.tern("help", "foo").error().hasPrefix("unknown command 'foo' (commands: create,"))
    }

    func testUsageErrorsAreOneLineNamingTheArgument() throws {
        XCTAssertEqual(try CLIRun.tern("create").error(), "missing expected argument '<config>' (see 'tern help create')")
        XCTAssertEqual(try CLIRun.tern("pause").error(), "missing expected argument '<domain>' (see 'tern help pause')")
        XCTAssertEqual(try CLIRun.tern("prepare", "x").error(), "the value 'x' is invalid for '<count>' (see 'tern help prepare')")
        XCTAssertEqual(try CLIRun.tern("prepare", "-1").error(), "the value '-1' is invalid for '<count>' (see 'tern help prepare')")
        XCTAssertEqual(try CLIRun.tern("list", "--bogus").error(), "unknown option '--bogus' (see 'tern help list')")
        XCTAssertEqual(try CLIRun.tern("--bogus").error(), "unknown option '--bogus' (see 'tern help')")
    }

    func testANegativeIDIsAnIDNotAnOption() throws {
        // Without /dev/tern on the host it gets as far as opening it: "-1"
        // was taken as the domain, not as an unknown option.
        XCTAssertTrue(try CLIRun.tern("pause", "-1").error().hasPrefix("cannot open /dev/tern"))
    }

    func testPrepareSaysTheShellLimit() throws {
        XCTAssertEqual(try CLIRun.tern("prepare", "300").error(), "300 shells: at most \(Shells.max) can be ready (of all sizes together)")
        XCTAssertEqual(Shells.max, 256, "docs/toolstack.md says 256")
        XCTAssertEqual(try CLIRun.tern("prepare", "3", "--memory", "3").error(), "--memory 3: an even number of MiB from 2 to 65536")
    }

    func testHelpIsTheFullTextWithStatusZero() throws {
        for arguments in [["--help"], ["help"], ["-h"]] {
            let run = try CLIRun.tern(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments)")
            XCTAssertEqual(run.err, "", "\(arguments)")
            XCTAssertTrue(run.out.contains("SUBCOMMANDS:") && run.out.contains("create"), "\(arguments): \(run.out)")
        }
        for arguments in [["help", "create"], ["create", "--help"]] {
            let run = try CLIRun.tern(arguments)
            XCTAssertEqual(run.status, 0, "\(arguments)")
            XCTAssertTrue(run.out.contains("USAGE: tern create"), "\(arguments): \(run.out)")
        }
    }
}
