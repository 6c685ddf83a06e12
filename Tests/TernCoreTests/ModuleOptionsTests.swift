import XCTest
@testable import TernCore

/// A guest module's command line: `path [name=..] [mem=..] [weight=..] [-- guest args]`.
final class ModuleOptionsTests: XCTestCase {
    func parse(_ line: String) -> ModuleOptions {
        Array(line.utf8).withUnsafeBytes { ModuleOptions(parsing: $0) }
    }

    func parse(bytes: [UInt8]) -> ModuleOptions {
        bytes.withUnsafeBytes { ModuleOptions(parsing: $0) }
    }

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    typealias Problem = BootOptions.Problem

    func unknown(_ offset: Int, _ length: Int) -> Problem { Problem(kind: .unknownOption, offset: offset, length: length) }
    func bad(_ offset: Int, _ length: Int) -> Problem { Problem(kind: .badValue, offset: offset, length: length) }

    // MARK: Names

    func testNameFromPath() {
        let o = parse("build/guests/hello.elf")
        XCTAssertEqual(text(o.name), "hello")
        XCTAssertEqual(o.memoryBytes, 4 << 20)
        XCTAssertEqual(o.memoryBytes, ModuleOptions.defaultMemory)
        XCTAssertEqual(o.weight, 256)
        XCTAssertEqual(o.guestCommandLine, [])
        XCTAssertEqual(o.problems, [])
    }

    func testNameFromPathVariants() {
        XCTAssertEqual(text(parse("/guests/hello.elf").name), "hello")
        XCTAssertEqual(text(parse("hello").name), "hello")
        XCTAssertEqual(text(parse("/a/b.c/net-0_x.tar.gz").name), "net-0_x")   // up to the first dot of the last part
        XCTAssertEqual(text(parse("/guests/").name), "guest")                  // nothing left: default
        XCTAssertEqual(text(parse("/guests/.hidden").name), "guest")
        XCTAssertEqual(text(parse("/guests/h\u{e9}llo.elf").name), "guest")    // not a valid name: default
        XCTAssertEqual(text(parse("/guests/a+b.elf").name), "guest")
        XCTAssertEqual(text(parse("").name), "guest")
        XCTAssertEqual(text(parse("   ").name), "guest")
        // A long file name is cut to 31 characters.
        let long = String(repeating: "g", count: 40)
        XCTAssertEqual(text(parse("/guests/\(long).elf").name), String(repeating: "g", count: 31))
        XCTAssertEqual(parse("/guests/\(long).elf").problems, [])
    }

    func testNameOption() {
        let o = parse("/guests/hello.elf name=web-1.a_B")
        XCTAssertEqual(text(o.name), "web-1.a_B")
        XCTAssertEqual(o.problems, [])
        // Without a path, the first token is an option like the others.
        XCTAssertEqual(text(parse("name=first mem=2M").name), "first")
        XCTAssertEqual(parse("name=first mem=2M").memoryBytes, 2 << 20)
        // The last name= wins.
        XCTAssertEqual(text(parse("x.elf name=a name=b").name), "b")
        // 31 characters is the most.
        let max = String(repeating: "n", count: 31)
        XCTAssertEqual(text(parse("x.elf name=\(max)").name), max)
    }

    func testBadNames() {
        let long = String(repeating: "n", count: 32)
        var o = parse("x.elf name=\(long)")
        XCTAssertEqual(o.problems, [bad(6, 37)])
        XCTAssertEqual(text(o.name), "x")                            // unchanged
        o = parse("x.elf name=a/b")
        XCTAssertEqual(o.problems, [bad(6, 8)])
        o = parse("x.elf name=a:b")
        XCTAssertEqual(o.problems, [bad(6, 8)])
        o = parse("x.elf name=")
        XCTAssertEqual(o.problems, [bad(6, 5)])
        o = parse("x.elf name==x")
        XCTAssertEqual(o.problems, [bad(6, 7)])
    }

    // MARK: emulate=

    func testEmulateGivesAGuestAUART() {
        XCTAssertEqual(parse("x.elf").emulation, [], "a PV guest: no emulated device")
        let o = parse("x.elf emulate=uart")
        XCTAssertEqual(o.problems, [])
        XCTAssertEqual(o.emulation, [.serialPort])
        XCTAssertTrue(o.emulation.isConsistent)
        XCTAssertEqual(parse("x.elf emulate=lapic").problems, [bad(6, 13)], "no LAPIC for a PV guest")
        XCTAssertEqual(parse("x.elf emulate=").problems, [bad(6, 8)])
        XCTAssertEqual(parse("x.elf emulate=hardware").emulation, [])
    }

    // MARK: mem=

    func testMemorySizes() {
        XCTAssertEqual(parse("x mem=512K").memoryBytes, 512 << 10)
        XCTAssertEqual(parse("x mem=512k").memoryBytes, 512 << 10)
        XCTAssertEqual(parse("x mem=4M").memoryBytes, 4 << 20)
        XCTAssertEqual(parse("x mem=16m").memoryBytes, 16 << 20)
        XCTAssertEqual(parse("x mem=1G").memoryBytes, 1 << 30)
        XCTAssertEqual(parse("x mem=2g").memoryBytes, 2 << 30)
        XCTAssertEqual(parse("x mem=8388608").memoryBytes, 8 << 20)
        XCTAssertEqual(parse("x mem=4097").memoryBytes, 4097)           // the builder judges alignment
        XCTAssertEqual(parse("x mem=1024G").memoryBytes, 1 << 40)       // the parser's ceiling
        XCTAssertEqual(parse("x mem=1024G").problems, [])
    }

    func testBadMemorySizes() {
        for (value, length) in [("0", 5), ("0M", 6), ("4X", 6), ("", 4), ("M", 5), ("-4M", 7), ("4MB", 7),
                                ("4.5M", 8), ("1025G", 9), ("1099511627777", 17), ("99999999999999999999", 24)] {
            let o = parse("x.elf mem=\(value)")
            XCTAssertEqual(o.problems, [bad(6, length)], "mem=\(value)")
            XCTAssertEqual(o.memoryBytes, 4 << 20, "mem=\(value)")
        }
    }

    // MARK: weight=

    func testWeights() {
        XCTAssertEqual(parse("x weight=1").weight, 1)
        XCTAssertEqual(parse("x weight=512").weight, 512)
        XCTAssertEqual(parse("x weight=65535").weight, 65535)
        XCTAssertEqual(parse("x weight=65535").problems, [])
    }

    func testBadWeights() {
        for (value, length) in [("0", 8), ("70000", 12), ("65536", 12), ("", 7), ("-1", 9), ("2k", 9),
                                ("99999999999999999999", 27)] {
            let o = parse("x.elf weight=\(value)")
            XCTAssertEqual(o.problems, [bad(6, length)], "weight=\(value)")
            XCTAssertEqual(o.weight, 256, "weight=\(value)")
        }
    }

    // MARK: The guest's command line

    func testGuestCommandLineAfterDoubleDash() {
        let o = parse("/guests/hello.elf name=h mem=8M -- count=5  mem=1G  -- x ")
        XCTAssertEqual(text(o.name), "h")
        XCTAssertEqual(o.memoryBytes, 8 << 20)                        // the guest's mem=1G is not Tern's
        XCTAssertEqual(text(o.guestCommandLine), "count=5  mem=1G  -- x ")
        XCTAssertEqual(o.problems, [])
    }

    func testGuestCommandLineEdgeCases() {
        XCTAssertEqual(text(parse("x.elf --").guestCommandLine), "")
        XCTAssertEqual(text(parse("x.elf --   ").guestCommandLine), "")
        XCTAssertEqual(text(parse("x.elf --    a b").guestCommandLine), "a b")   // leading spaces skipped
        // Options after "--" are the guest's, even Tern-looking or bad ones.
        let o = parse("x.elf -- name=zzz weight=0 bogus")
        XCTAssertEqual(text(o.name), "x")
        XCTAssertEqual(o.weight, 256)
        XCTAssertEqual(o.problems, [])
        XCTAssertEqual(text(o.guestCommandLine), "name=zzz weight=0 bogus")
        // "--" first: no path, default name.
        let first = parse("-- a")
        XCTAssertEqual(text(first.name), "guest")
        XCTAssertEqual(text(first.guestCommandLine), "a")
        // Only a token that is exactly "--" separates.
        let glued = parse("x.elf --a=1 a--b")
        XCTAssertEqual(glued.guestCommandLine, [])
        XCTAssertEqual(glued.problems, [unknown(6, 5), unknown(12, 4)])
    }

    func testLineEndsAtNUL() {
        var bytes = Array("x.elf mem=2M".utf8) + [0] + Array(" weight=9 bogus".utf8)
        var o = parse(bytes: bytes)
        XCTAssertEqual(o.memoryBytes, 2 << 20)
        XCTAssertEqual(o.weight, 256)
        XCTAssertEqual(o.problems, [])
        bytes = Array("x.elf -- a b".utf8) + [0] + Array("c".utf8)
        o = parse(bytes: bytes)
        XCTAssertEqual(text(o.guestCommandLine), "a b")
    }

    // MARK: Problems

    func testUnknownOptionWithPlace() {
        let o = parse("/guests/hello.elf memory=4M mem=2M")
        XCTAssertEqual(o.problems, [unknown(18, 9)])
        XCTAssertEqual(o.memoryBytes, 2 << 20)                        // the good option still applies
        XCTAssertEqual(text(o.name), "hello")
    }

    func testTokenWithoutEqualsAfterTheFirst() {
        let o = parse("x.elf  verbose   mem=2M quiet")
        XCTAssertEqual(o.problems, [unknown(7, 7), unknown(24, 5)])
        XCTAssertEqual(o.memoryBytes, 2 << 20)
    }

    func testSeveralProblemsInOrder() {
        let o = parse("a.elf mem=0 name=a/b weight=0 cpus=2 -- mem=bad")
        XCTAssertEqual(o.problems, [bad(6, 5), bad(12, 8), bad(21, 8), unknown(30, 6)])
        XCTAssertEqual(o.memoryBytes, 4 << 20)
        XCTAssertEqual(text(o.name), "a")
        XCTAssertEqual(o.weight, 256)
        XCTAssertEqual(text(o.guestCommandLine), "mem=bad")
    }
}
