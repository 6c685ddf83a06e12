import ArgumentParser
import TernABI
import TernToolstack

/// `tern prepare N --memory M`: the pool's target for one size (ABI 0.8:
/// Tern keeps it topped up in the background after creates take shells).
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep N prepared domain shells of a size ready (memory taken, zeroed and mapped); 0 releases them.",
        discussion: """
            `tern create` then uses one when the guest's memory size matches, and only loads the image. \
            Tern prepares the missing ones at once and refills the pool in the background (when no vCPU wants \
            the CPU) after creates take shells. At most \(TERN_POOL_SIZES_MAX) sizes and \(Shells.max) shells in all; \
            shells hold their memory (see `tern info`).
            """)
    @Argument(help: "How many shells of this size to keep ready (0 releases them).") var count: UInt64
    @Option(help: "Memory of each shell, in MiB.") var memory: UInt64 = 4

    func run() throws {
        if let problem = Shells.problem(count: count, memoryMiB: memory) { throw fail(problem) }
        let device = try openDevice()
        do throws(ControlDevice.Failure) {
            let ready = try device.call(TERN_HC_DOMAIN_PREPARE, [memory << 20, count])
            if count == 0 {
                Output.out("released the prepared shells of \(memory) MiB\n")
            } else if ready < count {
                Output.out("\(ready) shells of \(memory) MiB ready, \(count) wanted: not enough free memory for more (Tern tries again when memory comes back)\n")
            } else {
                Output.out("\(ready) shells of \(memory) MiB ready (kept at \(count) after creates)\n")
            }
        } catch .tern(let code) where code == -Int64(TERN_ENOSPC) {
            throw fail("the pool holds shells of at most \(TERN_POOL_SIZES_MAX) sizes: release one with 'tern prepare 0 --memory MIB' (see 'tern info')")
        } catch {
            throw fail(error.description)
        }
    }
}
