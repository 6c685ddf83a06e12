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
                       "\(program): not a Tern guest (no Tern ELF note; docs/porting.md)")
        let guest = scratch.write("guest.elf", SyntheticELF(notes: [SyntheticELF.ternNote()]).bytes)
        XCTAssertTrue(try CLIRun.tern("create", config(kernel: guest)).error().hasPrefix("cannot open /dev/tern"),
                      "with the note, the checks pass and create goes on to /dev/tern")
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
