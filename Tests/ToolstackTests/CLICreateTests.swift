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
}
