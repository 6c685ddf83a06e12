import TernABI
import XCTest
@testable import TernToolstack

/// A create Tern refused is explained with the config's keys, not boot
/// module options (`memory`, never mem=).
final class CreateFailureTests: XCTestCase {
    let config = GuestConfig(name: "web", kernel: "/k.elf", memoryMiB: 4)

    func testAnImageTernCannotLoadPointsAtTheMemoryKey() {
        let text = ControlDevice.Failure.tern(-Int64(TERN_ENOEXEC)).creating(config)
        XCTAssertEqual(text, "web: Tern cannot load /k.elf into 4 MiB (`tern dmesg` says why; if it does not fit, raise memory in the config)")
        XCTAssertFalse(text.contains("mem="))
    }

    func testOutOfMemoryPointsAtTheMemoryKey() {
        XCTAssertEqual(ControlDevice.Failure.tern(-Int64(TERN_ENOMEM)).creating(config),
                       "web: not enough memory for 4 MiB (`tern info` shows what is free; lower memory in the config)")
    }

    func testOtherFailuresKeepTheirMeaning() {
        XCTAssertEqual(ControlDevice.Failure.tern(-Int64(TERN_EEXIST)).creating(config), "web: the name is in use")
    }

    func testNoToolstackMessageNamesModuleOptions() {
        for code in [TERN_EPERM, TERN_ENOENT, TERN_ENOEXEC, TERN_ENOMEM, TERN_EFAULT, TERN_EBUSY, TERN_EEXIST, TERN_EINVAL, TERN_ENOSPC, TERN_ENOSYS] {
            let text = ControlDevice.meaning(-Int64(code)) + ControlDevice.Failure.tern(-Int64(code)).creating(config)
            XCTAssertFalse(text.contains("mem=") || text.contains("name=") || text.contains("weight="), text)
        }
    }
}
