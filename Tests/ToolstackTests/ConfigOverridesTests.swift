import TernABI
import XCTest
@testable import TernToolstack

/// `tern create CONFIG key=value ...`: each argument is a config line,
/// parsed and checked as the file's are, and wins over the file's value.
final class ConfigOverridesTests: XCTestCase {
    let file = "name = \"web\"\nkernel = \"/k.elf\"\nmemory = 4\n"

    func parse(_ text: String, _ overrides: String...) -> Result<GuestConfig, ConfigError> {
        do throws(ConfigError) { return .success(try GuestConfig.parse(text, file: "g.cfg", overrides: overrides)) } catch { return .failure(error) }
    }

    func error(_ text: String, _ overrides: String...) -> String {
        do throws(ConfigError) { _ = try GuestConfig.parse(text, file: "g.cfg", overrides: overrides); return "no error" } catch {
            return error.description
        }
    }

    func testSettingsOverrideTheFile() throws {
        let config = try parse(file, "memory=8", "name = 'web2'", "cmdline=\"a=1 b=2\"").get()
        XCTAssertEqual(config, GuestConfig(name: "web2", kernel: "/k.elf", memoryMiB: 8, cmdline: "a=1 b=2"))
    }

    func testMemoryFromTheCommandLineCountsAsGiven() throws {
        XCTAssertTrue(try parse("name = \"l\"\nkernel = \"/vmlinux\"\n", "memory=64").get().memoryGiven,
                      "a Linux kernel then keeps 64, not its 128 default")
        XCTAssertFalse(try parse("name = \"l\"\nkernel = \"/vmlinux\"\n").get().memoryGiven)
        XCTAssertTrue(try parse(file).get().memoryGiven)
    }

    func testASettingCanSupplyAMissingKey() throws {
        XCTAssertEqual(try parse("kernel = \"/k.elf\"", "name=\"x\"").get().name, "x")
        XCTAssertEqual(error("", "name=\"x\""), "g.cfg: kernel: missing")
    }

    func testErrorsNameTheKeyAndTheCommandLine() {
        XCTAssertEqual(error(file, "memory=3"), "command line: memory: 3 is not an even number of MiB from 2 to 65536")
        XCTAssertEqual(error(file, "colour=\"red\""), "command line: colour: unknown key (known: name, kernel, ramdisk, memory, vcpus, cmdline, weight, devices, disk, vif, on_poweroff, on_reboot, on_crash)")
        XCTAssertEqual(error(file, "memory=8", "memory=16"), "command line: memory: set twice")
        XCTAssertEqual(error(file, "memory"), "command line: 'memory': expected key=value")
        XCTAssertEqual(error(file, "# nothing"), "command line: '# nothing': expected key=value")
        XCTAssertEqual(error(file, "memory=\"8\""), "command line: memory: must be a number")
        XCTAssertEqual(error(file, "name=web2"),
                       "command line: name: 'web2' is not a number or a quoted string (strings keep their quotes here too: 'name=\"web2\"')")
        XCTAssertEqual(error(file, "name=\"42\""), "command line: name: \"42\" is all digits: it could not be told from a domain id")
    }

    func testTheFileIsCheckedToo() {
        XCTAssertEqual(error(file + "memory = 8\n", "memory=16"), "g.cfg:4: memory: set twice (first on line 3)",
                       "a bad file is not mended by the command line")
    }
}

/// What `tern create` checks against Tern's state, and what `-n` prints.
final class CreatePlanTests: XCTestCase {
    let plan = CreatePlan(config: GuestConfig(name: "web", kernel: "/k.elf", memoryMiB: 100, cmdline: "count=5"),
                          imageBytes: 46 << 10, image: .pv(abiVersion: 7))
    let dom0 = DomainRow(id: 0, name: "dom0", state: 2, memoryBytes: 384 << 20, vcpus: 1, cpuTimeNanoseconds: 0, privileged: true)

    func testTheNameMustBeFreeAndTheMemoryThere() {
        XCTAssertNil(plan.problem(domains: [dom0], freeBytes: 200 << 20))
        var web = dom0; web.id = 4; web.name = "web"
        XCTAssertEqual(plan.problem(domains: [dom0, web], freeBytes: 200 << 20), "a domain named web exists (d4)")
        web.state = UInt32(TERN_DOMAIN_CRASHED)   // kept by Tern: on_crash = "preserve"
        XCTAssertEqual(plan.problem(domains: [dom0, web], freeBytes: 200 << 20),
                       "a domain named web exists (d4, crashed: `tern destroy web` ends it)")
        XCTAssertEqual(plan.problem(domains: [dom0], freeBytes: 100 << 20), "not enough free memory: 100 MiB asked, 100 MiB free",
                       "Tern needs a little more than the guest's memory")
        XCTAssertNil(plan.problem(domains: [dom0], freeBytes: 101 << 20))
    }

    func testTheDryRunLine() {
        XCTAssertEqual(plan.description,
                       "would create web: kernel /k.elf (46 KiB, Tern ABI 0.7), memory 100 MiB, 1 vCPU, weight 256, cmdline \"count=5\"")
        var bare = plan
        bare.config.cmdline = ""
        XCTAssertTrue(bare.description.hasSuffix("weight 256, no cmdline"))
    }
}
