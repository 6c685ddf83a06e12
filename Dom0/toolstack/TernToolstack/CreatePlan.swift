/// A guest `tern create` has checked (config, kernel file, image) and is
/// about to create: what stops it in Tern as it is now, and what
/// `tern create -n` prints instead of creating it.
public struct CreatePlan: Equatable {
    public var config: GuestConfig
    public var imageBytes: Int
    public var image: GuestImage      // from the image's notes
    public var ramdiskBytes: Int = 0

    /// Tern's cost beyond the guest's memory (page tables, its own
    /// records), as a share of it: a create is refused early when free
    /// memory falls short of memory + memory / this.
    static let overheadDivisor: UInt64 = 100

    public init(config: GuestConfig, imageBytes: Int, image: GuestImage, ramdiskBytes: Int = 0) {
        self.config = config
        self.imageBytes = imageBytes
        self.image = image
        self.ramdiskBytes = ramdiskBytes
    }

    /// Why it cannot be created next to `domains` with `freeBytes` free
    /// and `pool` prepared: a ready shell of its size needs no free memory.
    public func problem(domains: [DomainRow], freeBytes: UInt64, pool: PoolState = PoolState(sizes: [], heldBytes: 0)) -> String? {
        if let existing = domains.first(where: { $0.name == config.name }) {
            guard existing.isKeptStopped else { return "a domain named \(config.name) exists (d\(existing.id))" }
            return "a domain named \(config.name) exists (d\(existing.id), \(existing.stateName): `tern destroy \(config.name)` ends it)"
        }
        if pool.ready(memoryBytes: config.memoryBytes) == 0 && !CreatePlan.fits(config.memoryBytes, freeBytes: freeBytes) {
            var text = "not enough free memory: \(config.memoryMiB) MiB asked, \(freeBytes >> 20) MiB free"
            if let hint = pool.releaseHint { text += " (\(hint))" }
            return text
        }
        return nil
    }

    /// Whether a guest of `memoryBytes` built fresh fits in `freeBytes`.
    public static func fits(_ memoryBytes: UInt64, freeBytes: UInt64) -> Bool {
        freeBytes >= memoryBytes + memoryBytes / overheadDivisor
    }

    /// The most memory (MiB, in Tern's 2 MiB steps) a guest built fresh
    /// may have with `freeBytes` free: what `tern info` calls free is what
    /// a create can use.
    public static func largestGuestMiB(freeBytes: UInt64) -> UInt64 {
        let step = GuestConfig.minMemoryMiB
        let bytes = freeBytes / (overheadDivisor + 1) * overheadDivisor
        let most = min(bytes >> 20, GuestConfig.maxMemoryMiB)
        return most / step * step
    }

    /// `tern create -n`'s line.
    public var description: String {
        var text = "would create \(config.name): kernel \(config.kernel) (\(Frames.text(UInt64(imageBytes))), \(image.description)), "
        if let ramdisk = config.ramdisk { text += "ramdisk \(ramdisk) (\(Frames.text(UInt64(ramdiskBytes)))), " }
        text += "memory \(config.memoryMiB) MiB, \(config.vcpus) vCPU, weight \(config.weight)"
        text += config.cmdline.isEmpty ? ", no cmdline" : ", cmdline \"\(config.cmdline)\""
        return text
    }
}
