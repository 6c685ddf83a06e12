import XCTest
@testable import TernToolstack

/// `tern help create` lists every config key, its default and meaning,
/// enough to write a config without the docs.
final class ConfigKeysTests: XCTestCase {
    func testEveryKeyTheParserKnowsIsDescribed() {
        XCTAssertEqual(GuestConfig.knownKeys, ["name", "kernel", "ramdisk", "memory", "vcpus", "cmdline", "weight", "devices", "disk", "vif",
                                                  "on_poweroff", "on_reboot", "on_crash"])
        XCTAssertEqual(GuestConfig.requiredKeys, ["name", "kernel"])
    }

    func testTheDefaultsAreTheConfigsDefaults() throws {
        let config = try GuestConfig.parse("name = \"a\"\nkernel = \"/k\"", file: "g.cfg")
        let defaults = Dictionary(uniqueKeysWithValues: GuestConfig.keys.map { ($0.name, $0.defaultValue) })
        XCTAssertEqual(defaults["memory"], "\(config.memoryMiB)")
        XCTAssertEqual(defaults["weight"], "\(config.weight)")
        XCTAssertEqual(defaults["vcpus"], "\(config.vcpus)")
        XCTAssertEqual(config.cmdline, "")
        XCTAssertEqual(defaults["cmdline"], "empty")
        XCTAssertEqual(defaults["on_poweroff"], config.onPoweroff.rawValue)
        XCTAssertEqual(defaults["on_reboot"], config.onReboot.rawValue)
        XCTAssertEqual(defaults["on_crash"], config.onCrash.rawValue)
    }

    func testTheTableFitsAnEightyColumnHelpScreen() {
        let lines = GuestConfig.keysHelp.split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + GuestConfig.keys.count)
        for line in lines { XCTAssertLessThanOrEqual(line.count, 78, String(line)) }
        XCTAssertTrue(GuestConfig.keysHelp.contains("  memory       4         MiB, even, 2 to 65536"))
    }

    func testTernHelpCreateShowsEveryKey() throws {
        for arguments in [["help", "create"], ["create", "--help"]] {
            let run = try CLIRun.tern(arguments)
            XCTAssertEqual(run.status, 0)
            for line in GuestConfig.keysHelp.split(separator: "\n") {
                XCTAssertTrue(run.out.contains(line), "\(arguments): the help has the whole line '\(line)' (not re-wrapped)")
            }
        }
    }
}
