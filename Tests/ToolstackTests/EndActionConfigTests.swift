import TernABI
import XCTest
@testable import TernToolstack

/// `on_poweroff`, `on_reboot`, `on_crash` (xl.cfg's keys and meanings):
/// parsed, checked, defaulted as xl does, and turned into the create
/// flags that make Tern keep the stopped domain.
final class EndActionConfigTests: XCTestCase {
    let minimal = "name = \"web\"\nkernel = \"/k.elf\"\n"

    func parse(_ text: String, _ overrides: String...) throws -> GuestConfig {
        try GuestConfig.parse(text, file: "g.cfg", overrides: overrides)
    }

    func error(_ text: String, _ overrides: String...) -> String {
        do throws(ConfigError) { _ = try GuestConfig.parse(text, file: "g.cfg", overrides: overrides); return "no error" } catch {
            return error.description
        }
    }

    func testXlDefaults() throws {
        let config = try parse(minimal)
        XCTAssertEqual(config.onPoweroff, .destroy)
        XCTAssertEqual(config.onReboot, .restart)
        XCTAssertEqual(config.onCrash, .destroy)
        XCTAssertEqual(config.keepFlags, TERN_CREATE_KEEP_ON_REBOOT, "restart needs the domain kept, for logd to find")
    }

    func testEveryValueOfEveryKey() throws {
        let config = try parse(minimal + "on_poweroff = \"preserve\"\non_reboot = 'destroy'\non_crash = \"restart\"\n")
        XCTAssertEqual(config.action(.poweroff), .preserve)
        XCTAssertEqual(config.action(.reboot), .destroy)
        XCTAssertEqual(config.action(.crash), .restart)
        XCTAssertEqual(config.keepFlags, TERN_CREATE_KEEP_ON_POWEROFF | TERN_CREATE_KEEP_ON_CRASH)
        XCTAssertEqual(try parse(minimal, "on_reboot=\"destroy\"").keepFlags, 0, "destroy everywhere: Tern keeps nothing")
        XCTAssertEqual(try parse(minimal, "on_poweroff='restart'", "on_crash=\"preserve\"").keepFlags,
                       TERN_CREATE_KEEP_ON_POWEROFF | TERN_CREATE_KEEP_ON_REBOOT | TERN_CREATE_KEEP_ON_CRASH)
    }

    func testBadValuesNameTheKeyAndTheChoices() {
        XCTAssertEqual(error(minimal + "on_crash = \"coredump-destroy\""),
                       "g.cfg:3: on_crash: \"coredump-destroy\" is not destroy, restart or preserve")
        XCTAssertEqual(error(minimal + "on_reboot = restart"), "g.cfg:3: on_reboot: 'restart' is not a number or a quoted string")
        XCTAssertEqual(error(minimal + "on_poweroff = 1"), "g.cfg:3: on_poweroff: must be a quoted string")
        XCTAssertEqual(error(minimal, "on_crash=\"Restart\""), "command line: on_crash: \"Restart\" is not destroy, restart or preserve")
    }

    func testEveryStopReasonIsOneOfTheThreeEnds() {
        XCTAssertEqual(GuestEnd(stopReason: UInt32(TERN_STOP_POWEROFF)), .poweroff)
        XCTAssertEqual(GuestEnd(stopReason: UInt32(TERN_STOP_REBOOT)), .reboot)
        for reason in [TERN_STOP_CRASH, TERN_STOP_TRIPLE_FAULT, TERN_STOP_BAD_ACCESS, TERN_STOP_BAD_STATE, TERN_STOP_BAD_EXIT] {
            XCTAssertEqual(GuestEnd(stopReason: UInt32(reason)), .crash, "reason \(reason)")
        }
        XCTAssertEqual(GuestEnd(stopReason: 99), .crash, "a reason this toolstack does not know is a crash, as in Tern")
        XCTAssertEqual(GuestEnd.allCases.map(\.key), ["on_poweroff", "on_reboot", "on_crash"])
    }
}
