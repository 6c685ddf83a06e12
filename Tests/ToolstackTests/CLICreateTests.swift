import XCTest
@testable import TernToolstack

/// What `tern create` checks before it opens /dev/tern: the config and
/// the kernel file (docs/toolstack.md).
final class CLICreateTests: XCTestCase {
    var scratch: Scratch!

    override func setUpWithError() throws { scratch = try Scratch(self) }
    override func tearDown() { scratch = nil }

    func config(kernel: String, _ more: String = "") -> String {
        scratch.write("g.cfg", "name = \"g\"\nkernel = \"\(kernel)\"\n" + more)
    }

    func testAKernelThatIsADeviceIsRefusedBeforeItIsRead() throws {
        XCTAssertEqual(try CLIRun.tern("create", config(kernel: "/dev/zero")).error(), "/dev/zero: not a regular file (a character device)")
    }

    func testAKernelOverTernsImageLimitIsRefusedSayingTheLimit() throws {
        let big = scratch.sparse("big.elf", size: Int(KernelFile.maxBytes) + (1 << 20))
        XCTAssertEqual(try CLIRun.tern("create", config(kernel: big)).error(),
                       "\(big): \(Frames.text(KernelFile.maxBytes + (1 << 20))): larger than the \(Frames.text(KernelFile.maxBytes)) a guest image may be (TERN_IMAGE_FRAMES_MAX)")
    }

    func testAnExecutableWithoutTheTernNoteIsRefused() throws {
        let program = scratch.write("static-program", SyntheticELF().bytes)
        XCTAssertEqual(try CLIRun.tern("create", config(kernel: program)).error(),
                       "\(program): not a Tern guest (no Tern ELF note) nor a Linux vmlinux (no PVH entry note); docs/porting.md")
        let guest = scratch.write("guest.elf", SyntheticELF(notes: [SyntheticELF.ternNote()]).bytes)
        XCTAssertTrue(try CLIRun.tern("create", config(kernel: guest)).error().hasPrefix("cannot open /dev/tern"),
                      "with the note, the checks pass and create goes on to /dev/tern")
    }

    func testALinuxKernelTakesARamdiskAndAPVGuestDoesNot() throws {
        let pvh = SyntheticELF.note(name: "Xen", type: 18, desc: SyntheticELF.le32(0x1000850))
        let linux = scratch.write("vmlinux", SyntheticELF(notes: [pvh]).bytes)
        let guest = scratch.write("guest.elf", SyntheticELF(notes: [SyntheticELF.ternNote()]).bytes)
        let initrd = scratch.write("initrd", [UInt8](repeating: 7, count: 5000))
        XCTAssertTrue(try CLIRun.tern("create", config(kernel: linux, "ramdisk = \"\(initrd)\"\n")).error().hasPrefix("cannot open /dev/tern"),
                      "a Linux kernel with its ramdisk passes the checks")
        XCTAssertEqual(try CLIRun.tern("create", config(kernel: linux, "ramdisk = \"/nonexistent/initrd\"\n")).error(),
                       "/nonexistent/initrd: cannot open: No such file or directory")
        let cfg = config(kernel: guest, "ramdisk = \"\(initrd)\"\n")
        XCTAssertEqual(try CLIRun.tern("create", cfg).error(), "\(cfg): ramdisk: \(guest) is a Tern PV guest, which takes no ramdisk")
        let long = String(repeating: "x", count: 300)
        XCTAssertEqual(try CLIRun.tern("create", config(kernel: guest, "cmdline = \"\(long)\"\n")).error(),
                       "\(scratch.path("g.cfg")): cmdline: 300 bytes; a PV guest's is at most 191")
        XCTAssertTrue(try CLIRun.tern("create", config(kernel: linux, "cmdline = \"\(long)\"\n")).error().hasPrefix("cannot open /dev/tern"),
                      "a Linux command line may be longer")
    }

    func testCommandLineSettingsAreCheckedLikeTheFile() throws {
        let guest = scratch.write("guest.elf", SyntheticELF(notes: [SyntheticELF.ternNote()]).bytes)
        let cfg = config(kernel: guest)
        XCTAssertEqual(try CLIRun.tern("create", cfg, "memory=3").error(), "command line: memory: 3 is not an even number of MiB from 2 to 65536")
        XCTAssertEqual(try CLIRun.tern("create", cfg, "name=web2").error(),
                       "command line: name: 'web2' is not a number or a quoted string (strings keep their quotes here too: 'name=\"web2\"')")
        XCTAssertEqual(try CLIRun.tern("create", cfg, "kernel=\"/dev/zero\"").error(), "/dev/zero: not a regular file (a character device)",
                       "the kernel of the command line is the one checked")
    }

    func testADryRunChecksAsFarAsACreate() throws {
        let guest = scratch.write("guest.elf", SyntheticELF(notes: [SyntheticELF.ternNote()]).bytes)
        XCTAssertEqual(try CLIRun.tern("create", "-n", config(kernel: "/dev/zero")).error(), "/dev/zero: not a regular file (a character device)")
        // Past the file checks, a dry run needs Tern for the name and memory checks.
        XCTAssertTrue(try CLIRun.tern("create", "--dry-run", config(kernel: guest)).error().hasPrefix("cannot open /dev/tern"))
        XCTAssertEqual(try CLIRun.tern("create", "-n", "-c", config(kernel: guest)).error(),
                       "--dry-run creates nothing: no --console or --time with it (see 'tern help create')")
    }
}
