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

    /// The guest and its kernel image, with the ABI version its note names.
    static func check(_ path: String, settings: [String] = []) throws(Problem) -> (plan: CreatePlan, image: [UInt8]) {
        let text: [UInt8]
        switch Files.read(path) {
        case .success(let bytes): text = bytes
        case .failure(let e): throw Problem("\(path): \(describe(e))")
        }
        let guest: GuestConfig
        do throws(ConfigError) { guest = try GuestConfig.parse(String(decoding: text, as: UTF8.self), file: path, overrides: settings) } catch {
            throw Problem(error.description)
        }
        let image: [UInt8]
        switch KernelFile.read(guest.kernel) {
        case .success(let bytes): image = bytes
        case .failure(let e): throw Problem("\(guest.kernel): \(e)")
        }
        let abi: UInt32
        do throws(ELFCheck.Problem) { abi = try ELFCheck.guestABIVersion(image) } catch { throw Problem("\(guest.kernel): \(error)") }
        return (CreatePlan(config: guest, imageBytes: image.count, abiVersion: abi), image)
    }
}

func describe(_ failure: Files.Failure) -> String {
    switch failure {
    case .cannotOpen(let e): return "cannot open: \(Files.errorText(e))"
    case .cannotRead(let e): return "cannot read: \(Files.errorText(e))"
    }
}
