import TernToolstack

/// The guest's data pages as the backend reaches them. With persistent
/// grants (TERN_BLKIF_FEATURE_PERSISTENT, as Xen's feature-persistent) a
/// page is mapped the first time its ref comes and kept for the device's
/// life, so the data path has no map or unmap per request; at most `limit`
/// are kept (a frontend that keeps naming new refs gets the rest mapped
/// per request, so it cannot use up Dom0's grant window). Without the
/// feature every page is mapped for its request only.
public final class GrantPages {
    let device: ControlDevice
    let domid: UInt32
    let persistent: Bool
    public let limit: Int
    var kept: [UInt32: UnsafeMutableRawPointer] = [:]

    public init(device: ControlDevice, domid: UInt32, persistent: Bool, limit: Int) {
        self.device = device
        self.domid = domid
        self.persistent = persistent
        self.limit = limit
    }

    deinit {
        for page in kept.values { device.unmap(page) }
    }

    public var keptCount: Int { kept.count }

    /// The page granted as `ref`, writable when the backend writes into it
    /// (a disk read). A page mapped for this request alone is added to
    /// `temporary` (the request's own list: `release` it once the request
    /// is answered). Throws what Tern or tern.ko refused (a ref not
    /// granted to Dom0, granted read-only for a read, ...).
    public func page(_ ref: UInt32, backendWrites: Bool,
                     temporary: inout [UnsafeMutableRawPointer]) throws(ControlDevice.Failure) -> UnsafeMutableRawPointer {
        if persistent {
            if let page = kept[ref] { return page }
            // Kept pages serve reads and writes alike: mapped writable. A
            // page the backend only reads may be granted read-only (an
            // indirect page, a write's data): then mapped for this request.
            let page: UnsafeMutableRawPointer
            do throws(ControlDevice.Failure) {
                page = try device.mapGrant(domid: domid, ref: ref, readOnly: false)
            } catch {
                guard !backendWrites else { throw error }
                let page = try device.mapGrant(domid: domid, ref: ref, readOnly: true)
                temporary.append(page)
                return page
            }
            if kept.count < limit {
                kept[ref] = page
            } else {
                temporary.append(page)
            }
            return page
        }
        let page = try device.mapGrant(domid: domid, ref: ref, readOnly: !backendWrites)
        temporary.append(page)
        return page
    }

    /// After a request is answered: the pages mapped for it alone go.
    public func release(_ temporary: inout [UnsafeMutableRawPointer]) {
        for page in temporary { device.unmap(page) }
        temporary.removeAll()
    }
}
