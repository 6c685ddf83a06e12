import TernToolstack

/// A config file (with `tern create`'s key=value settings) and the kernel
/// it names, checked: everything before /dev/tern. `tern create` loads
/// the file it is given; `tern logd` loads a saved config to restart a guest.
enum GuestLoad {
    /// What is wrong, as one line (without "tern: ").
    struct Problem: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// The guest, its kernel image (its kind told by its notes) and a Linux
    /// guest's ramdisk; a Linux kernel's memory defaults to
    /// GuestConfig.linuxMemoryMiB.
    static func check(_ path: String, settings: [String] = []) throws(Problem) -> (plan: CreatePlan, image: [UInt8], ramdisk: [UInt8]?) {
        let text: [UInt8]
        switch Files.read(path) {
        case .success(let bytes): text = bytes
        case .failure(let e): throw Problem("\(path): \(describe(e))")
        }
        var guest: GuestConfig
        do throws(ConfigError) { guest = try GuestConfig.parse(String(decoding: text, as: UTF8.self), file: path, overrides: settings) } catch {
            throw Problem(error.description)
        }
        let image: [UInt8]
        switch KernelFile.read(guest.kernel) {
        case .success(let bytes): image = bytes
        case .failure(let e): throw Problem("\(guest.kernel): \(e)")
        }
        let kind: GuestImage
        do throws(ELFCheck.Problem) { kind = try ELFCheck.guestImage(image) } catch { throw Problem("\(guest.kernel): \(error)") }
        var ramdisk: [UInt8]?
        if kind.isLinux {
            if !guest.memoryGiven { guest.memoryMiB = GuestConfig.linuxMemoryMiB }
            if let file = guest.ramdisk {
                switch KernelFile.read(file) {
                case .success(let bytes): ramdisk = bytes
                case .failure(let e): throw Problem("\(file): \(e)")
                }
            }
        } else {
            if guest.ramdisk != nil { throw Problem("\(path): ramdisk: \(guest.kernel) is a Tern PV guest, which takes no ramdisk") }
            if guest.cmdline.utf8.count > GuestConfig.maxPVCmdline {
                throw Problem("\(path): cmdline: \(guest.cmdline.utf8.count) bytes; a PV guest's is at most \(GuestConfig.maxPVCmdline)")
            }
        }
        return (CreatePlan(config: guest, imageBytes: image.count, image: kind, ramdiskBytes: ramdisk?.count ?? 0), image, ramdisk)
    }
}

func describe(_ failure: Files.Failure) -> String {
    switch failure {
    case .cannotOpen(let e): return "cannot open: \(Files.errorText(e))"
    case .cannotRead(let e): return "cannot read: \(Files.errorText(e))"
    }
}
