import XCTest
@testable import TernToolstack

/// The config `tern create` saves for `tern logd` to restart a guest from:
/// every key explicit, the command line's settings applied, the kernel's
/// path absolute; it parses back to the same config.
final class SavedConfigTests: XCTestCase {
    func testTheSavedTextHasEveryKeyAndParsesBack() throws {
        let config = try GuestConfig.parse("name = \"web\"\nkernel = \"/k.elf\"\non_crash = \"restart\"\n", file: "web.cfg",
                                           overrides: ["memory=8", "cmdline='say \"hi\" # not a comment'"])
        let text = config.savedText
        XCTAssertEqual(text, """
            # The config `tern create` started web with; `tern logd` restarts it from here (docs/toolstack.md).
            name = "web"
            kernel = "/k.elf"
            ramdisk = ""
            memory = 8
            vcpus = 1
            cmdline = 'say "hi" # not a comment'
            weight = 256
            devices = []
            disk = []
            vif = []
            on_poweroff = "destroy"
            on_reboot = "restart"
            on_crash = "restart"

            """)
        XCTAssertEqual(try GuestConfig.parse(text, file: SavedConfig.path("web")), config)
        let keys = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.split(separator: " ")[0]) }
        XCTAssertEqual(keys, GuestConfig.knownKeys, "every key, explicit")
    }

    func testDisksAreSavedAndParseBack() throws {
        let config = try GuestConfig.parse("name = \"db\"\nkernel = \"/k\"\ndisk = [ \"/d/a.img,xvda\", \"/d/b.img,xvdb,ro\" ]\n", file: "db.cfg")
        XCTAssertTrue(config.savedText.contains("\ndisk = [ \"/d/a.img,xvda,rw\", \"/d/b.img,xvdb,ro\" ]\n"), config.savedText)
        XCTAssertEqual(try GuestConfig.parse(config.savedText, file: "saved").disks, config.disks)
    }

    func testWhereItGoesAndTheKernelMadeAbsolute() throws {
        XCTAssertEqual(SavedConfig.path("web"), "/var/lib/tern/web.cfg")
        XCTAssertEqual(SavedConfig.absolute("guests/web.elf", in: "/root"), "/root/guests/web.elf")
        XCTAssertEqual(SavedConfig.absolute("web.elf", in: "/"), "/web.elf")
        XCTAssertEqual(SavedConfig.absolute("/usr/lib/web.elf", in: "/root"), "/usr/lib/web.elf")

        let scratch = try Scratch(self)
        let config = GuestConfig(name: "web", kernel: "web.elf", onCrash: .preserve)
        XCTAssertNil(SavedConfig.save(config, cwd: "/srv", in: scratch.path("lib")))
        let saved = try GuestConfig.parse(String(decoding: try Files.read(SavedConfig.path("web", in: scratch.path("lib"))).get(), as: UTF8.self),
                                          file: "saved")
        XCTAssertEqual(saved.kernel, "/srv/web.elf")
        XCTAssertEqual(saved.onCrash, .preserve)
        XCTAssertNil(SavedConfig.save(GuestConfig(name: "web", kernel: "/other.elf"), cwd: "/", in: scratch.path("lib")), "replaced")
        XCTAssertEqual(try GuestConfig.parse(String(decoding: try Files.read(SavedConfig.path("web", in: scratch.path("lib"))).get(), as: UTF8.self),
                                             file: "saved").kernel, "/other.elf")
        XCTAssertEqual(SavedConfig.save(config, cwd: "/", in: scratch.path("no/such/dir")),
                       "\(scratch.path("no/such/dir"))/web.cfg: cannot save the config: No such file or directory")
    }
}
