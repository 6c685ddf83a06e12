import TernCore
import TernABI

/// Prepared domain shells (LightVM's split toolstack): memory taken,
/// zeroed and mapped ahead of time, so that TERN_HC_DOMAIN_CREATE with
/// TERN_CREATE_FROM_POOL only loads the image. Shells hold frames: they
/// count as used in the free-frame figures.
enum DomainPool {
    static let maxShells = Int(TERN_DOMAINS_MAX)

    /// Prepares shells of `memoryBytes` until `count` of that size are
    /// ready (or memory runs short); how many are ready.
    static func fill(memoryBytes: UInt64, count: Int) -> Int {
        var ready = shells.filter { $0.memoryBytes == memoryBytes }.count
        while ready < count && shells.count < maxShells {
            do throws(DomainBuilder.Error) {
                shells.append(try DomainBuilder.prepare(memoryBytes: memoryBytes, host: PhysicalWindow.directMap,
                                                        frames: &Platform.frames!))
                ready += 1
            } catch {
                Log.warning("pool: cannot prepare another shell of \(bytes: memoryBytes): \(error.message)")
                break
            }
        }
        return ready
    }

    /// A ready shell of exactly `memoryBytes`, taken out of the pool.
    static func take(memoryBytes: UInt64) -> DomainBuilder.Shell? {
        guard let i = shells.firstIndex(where: { $0.memoryBytes == memoryBytes }) else { return nil }
        return shells.remove(at: i)
    }
}
