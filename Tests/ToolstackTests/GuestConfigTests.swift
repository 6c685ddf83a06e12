import XCTest
@testable import TernToolstack

/// The config format (docs/toolstack.md): every key, and every error with
/// its file, line and key.
final class GuestConfigTests: XCTestCase {
    func parse(_ text: String) -> Result<GuestConfig, ConfigError> {
        do throws(ConfigError) { return .success(try GuestConfig.parse(text, file: "g.cfg")) } catch { return .failure(error) }
    }

    func error(_ text: String) -> String {
        switch parse(text) {
        case .success: return "no error"
        case .failure(let e): return e.description
        }
    }

    let minimal = "name = \"web\"\nkernel = \"/k.elf\"\n"

    func testEveryKey() throws {
        let config = try parse("""
            # a web server
            name = "web-1"      # its name
            kernel = "/usr/lib/tern/guests/hello.elf"
            memory = 16
            vcpus = 1
            cmdline = "count=5 mode=a#b"
            weight = 512
            devices = []
            """).get()
        XCTAssertEqual(config, GuestConfig(name: "web-1", kernel: "/usr/lib/tern/guests/hello.elf", memoryMiB: 16, vcpus: 1,
                                           cmdline: "count=5 mode=a#b", weight: 512))
        XCTAssertEqual(config.memoryBytes, 16 << 20)
    }

    func testDefaults() throws {
        let config = try parse(minimal).get()
        XCTAssertEqual(config.memoryMiB, 4)
        XCTAssertEqual(config.weight, 256)
        XCTAssertEqual(config.cmdline, "")
    }

    func testErrorsNameTheFileLineAndKey() {
        XCTAssertEqual(error(minimal + "colour = \"red\""),
                       "g.cfg:3: colour: unknown key (known: name, kernel, ramdisk, memory, vcpus, cmdline, weight, devices, disk, vif, on_poweroff, on_reboot, on_crash)")
        XCTAssertEqual(error(minimal + "memory = 3"), "g.cfg:3: memory: 3 is not an even number of MiB from 2 to 65536")
        XCTAssertEqual(error(minimal + "memory = 0"), "g.cfg:3: memory: 0 is not an even number of MiB from 2 to 65536")
        XCTAssertEqual(error(minimal + "memory = \"4\""), "g.cfg:3: memory: must be a number")
        XCTAssertEqual(error(minimal + "vcpus = 2"), "g.cfg:3: vcpus: 2: only 1 vCPU per guest is supported for now")
        XCTAssertEqual(error(minimal + "weight = 0"), "g.cfg:3: weight: 0 is not from 1 to 65535")
        XCTAssertEqual(error(minimal + "devices = [\"vif\"]"),
                       "g.cfg:3: devices: only the console exists for now (every guest has it); the list must be empty")
        XCTAssertEqual(error(minimal + "cmdline = \"" + String(repeating: "x", count: 1024) + "\""),
                       "g.cfg:3: cmdline: 1024 bytes, at most 1023")
        XCTAssertEqual(error(minimal + "name = \"again\""), "g.cfg:3: name: set twice (first on line 1)")
        XCTAssertEqual(error("kernel = \"/k\""), "g.cfg: name: missing")
        XCTAssertEqual(error("name = \"a\""), "g.cfg: kernel: missing")
        XCTAssertEqual(error("name = \"bad name\"\nkernel = \"/k\""),
                       "g.cfg:1: name: \"bad name\" must be 1-31 characters of A-Z a-z 0-9 . _ -")
        XCTAssertEqual(error("name = web\nkernel = \"/k\""), "g.cfg:1: name: 'web' is not a number or a quoted string")
        XCTAssertEqual(error("name = \"web\nkernel = \"/k\""), "g.cfg:1: name: unterminated string")
        XCTAssertEqual(error(minimal + "just words"), "g.cfg:3: expected key = value")
        XCTAssertEqual(error(minimal + "memory ="), "g.cfg:3: memory: no value")
        XCTAssertEqual(error(minimal + "devices = [ "), "g.cfg:3: devices: unterminated list")
    }

    func testCRLFLineEnds() throws {
        let config = try parse("# from Windows\r\nname = \"web\"\r\nkernel = \"/k.elf\"  # path\r\nmemory = 8\r\n").get()
        XCTAssertEqual(config, GuestConfig(name: "web", kernel: "/k.elf", memoryMiB: 8))
        XCTAssertEqual(error("name = \"web\"\r\nkernel = \"/k.elf\"\r\nmemory = 3\r\n"), "g.cfg:3: memory: 3 is not an even number of MiB from 2 to 65536",
                       "lines counted as lines")
    }

    func testSingleQuotedStrings() throws {
        let config = try parse("name = 'web'\nkernel = '/k.elf'\ncmdline = 'say \"hi\" # not a comment'\n").get()
        XCTAssertEqual(config.name, "web")
        XCTAssertEqual(config.cmdline, "say \"hi\" # not a comment")
        XCTAssertEqual(try parse(minimal + "cmdline = \"it's\"").get().cmdline, "it's")
        XCTAssertEqual(error(minimal + "cmdline = 'it's'"), "g.cfg:3: cmdline: a ' inside a string quoted with it")
        XCTAssertEqual(error(minimal + "cmdline = 'open"), "g.cfg:3: cmdline: unterminated string")
        XCTAssertEqual(error(minimal + "cmdline = 'mixed\""), "g.cfg:3: cmdline: unterminated string")
    }

    func testEveryMissingKeyInOneMessage() {
        XCTAssertEqual(error(""), "g.cfg: name, kernel: missing")
        XCTAssertEqual(error("# only a comment\nmemory = 4\n"), "g.cfg: name, kernel: missing")
        XCTAssertEqual(error("memory = 3\n"), "g.cfg: name, kernel: missing", "the missing keys first")
    }

    func testANameOfDigitsOnlyIsRefused() {
        XCTAssertEqual(error("name = \"123\"\nkernel = \"/k\""), "g.cfg:1: name: \"123\" is all digits: it could not be told from a domain id")
        XCTAssertFalse(GuestConfig.isValidName("123"))
        XCTAssertTrue(GuestConfig.isValidName("123a"))
        XCTAssertTrue(GuestConfig.isValidName("-1"))
    }

    func testNames() {
        XCTAssertTrue(GuestConfig.isValidName("a.b_c-9"))
        XCTAssertFalse(GuestConfig.isValidName(""))
        XCTAssertFalse(GuestConfig.isValidName(String(repeating: "a", count: 32)))
        XCTAssertFalse(GuestConfig.isValidName("é"))
    }
}

final class ToolstackFormattingTests: XCTestCase {
    let rows = [
        DomainRow(id: 0, name: "dom0", state: 2, memoryBytes: 384 << 20, vcpus: 1, cpuTimeNanoseconds: 12_345_000_000, privileged: true),
        DomainRow(id: 3, name: "web", state: 3, memoryBytes: 4 << 20, vcpus: 1, cpuTimeNanoseconds: 49_000_000, privileged: false),
    ]

    func testTable() {
        XCTAssertEqual(DomainRow.table(rows), """
              ID  Name                             State     Mem(MiB)  VCPUs    Time(s)
               0  dom0                             running        384      1       12.3
               3  web                              blocked          4      1        0.0
            """)
    }

    func testTheLongestNameFitsItsColumn() {
        let longest = String(repeating: "n", count: GuestConfig.maxNameLength)
        let row = DomainRow(id: 255, name: longest, state: 2, memoryBytes: 65536 << 20, vcpus: 1, cpuTimeNanoseconds: 0, privileged: false)
        let lines = DomainRow.table([row]).split(separator: "\n").map(String.init)
        func column(_ text: String, in line: String) -> Int? { line.range(of: text)?.lowerBound.utf16Offset(in: line) }
        XCTAssertEqual(column("running", in: lines[1]), column("State", in: lines[0]), "the state column stays in line")
        XCTAssertTrue(lines[1].contains(longest + "  running"))
    }

    func testJSON() {
        XCTAssertEqual(DomainRow.json([rows[1]]),
                       "[{\"id\": 3, \"name\": \"web\", \"state\": \"blocked\", \"memory_mib\": 4, \"vcpus\": 1, \"cpu_time_ns\": 49000000, "
                       + "\"privileged\": false, \"weight\": 256, \"stop_reason\": \"none\", \"created_ns\": 0, \"stopped_ns\": 0, "
                       + "\"shutdown_request\": \"none\"}]")
        XCTAssertEqual(DomainRow.jsonString("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"")
    }

    func testFindByIDOrName() {
        XCTAssertEqual(DomainRow.find("3", in: rows)?.name, "web")
        XCTAssertEqual(DomainRow.find("dom0", in: rows)?.id, 0)
        XCTAssertNil(DomainRow.find("7", in: rows))
        XCTAssertNil(DomainRow.find("db", in: rows))
    }
}
