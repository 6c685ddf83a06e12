import TernGuestC

/// A disk served by a backend in Dom0 (TERN_DEVICE_BLOCK, tern/blkif.h,
/// docs/abi.md "Block devices"): the frontend of a ported PV guest, one
/// request at a time. Its data pages are granted once to the backend and
/// reused (persistent grants, when offered): data is copied through them.
///
///     var disk = try BlockFrontend.open(devid: 0)    // handshake done
///     // fill disk.buffer with 4 sectors, then
///     try disk.write(sector: 8, count: 4)
///     try disk.read(sector: 8, count: 4)             // into disk.buffer
///     try disk.flush()
public struct BlockFrontend {
    public let device: tern_device_entry
    let control: BlockControl
    var ring: FrontRing<tern_blkif_request, tern_blkif_response>
    /// The ring's shared page (a hostile guest writes its indices itself).
    public let ringPage: UnsafeMutableRawPointer
    /// The data pages and their grants: a request's segment i uses page i.
    let pages: UnsafeMutableRawPointer
    public let pageRefs: [UInt32]
    var nextID: UInt64 = 1

    public let sectors: UInt64
    public let sectorSize: UInt32
    public let readOnly: Bool
    public let backendFeatures: UInt32
    /// The backend's max_indirect_segments (this frontend sends none; a
    /// hostile guest does).
    public let maxIndirectSegments: UInt32
    /// Sectors one request moves at most (11 pages of 8).
    public static let maxSectorsPerRequest = Int(TERN_BLKIF_MAX_SEGMENTS) * Int(TERN_BLKIF_SECTORS_PER_PAGE)
    public static let sectorBytes = Int(TERN_BLKIF_SECTOR_SIZE)

    /// Finds disk `devid` (waiting for the toolstack to add it), waits for
    /// the backend's half of the control page, grants the ring and the data
    /// pages, publishes its half, READY last, and waits for CONNECTED.
    public static func open(devid: UInt16) throws(TernError) -> BlockFrontend {
        let device = try Devices.wait { $0.type == UInt16(TERN_DEVICE_BLOCK) && $0.devid == devid && !$0.isServedHere }
        // SAFETY: control_gpa is this domain's own control page for the
        // device (Tern's device page says so): identity-mapped, a whole page.
        guard device.control_gpa != 0, let raw = UnsafeMutableRawPointer(bitPattern: UInt(device.control_gpa)) else {
            throw TernError(TERN_EINVAL)
        }
        let control = BlockControl(raw)
        while control.version == 0 { Events.wait(for: device.port) }
        tern_ring_rmb()
        let backend = control.backendHalf
        let page = Page.allocate()
        guard let ring = FrontRing<tern_blkif_request, tern_blkif_response>(initializing: page, pageSize: Page.size) else {
            throw TernError(TERN_EINVAL)
        }
        let ringRef = try Grants.grant(page, to: device.backend)
        let pages = Page.allocate(count: Int(TERN_BLKIF_MAX_SEGMENTS))
        var refs: [UInt32] = []
        for i in 0..<Int(TERN_BLKIF_MAX_SEGMENTS) { refs.append(try Grants.grant(pages + i * Page.size, to: device.backend)) }
        control.publishFrontendHalf(version: min(backend.version, UInt32(TERN_BLKIF_CONTROL_VERSION)),
                                    features: backend.backend_features & UInt32(TERN_BLKIF_FEATURE_PERSISTENT), ringRef: ringRef)
        _ = Events.send(device.port)
        while control.backendState != UInt32(TERN_LINK_CONNECTED) {
            if control.backendState == UInt32(TERN_LINK_CLOSED) {
                print("blkfront: the backend closed the disk: error \(control.backendError)")
                throw TernError(TERN_ENOTCONN)
            }
            Events.wait(for: device.port)
        }
        return BlockFrontend(device: device, control: control, ring: ring, ringPage: page, pages: pages, pageRefs: refs,
                             sectors: backend.sectors,
                             sectorSize: backend.sector_size,
                             readOnly: backend.backend_info & UInt32(TERN_BLKIF_INFO_READONLY) != 0,
                             backendFeatures: backend.backend_features, maxIndirectSegments: backend.max_indirect_segments)
    }

    /// The data pages (11, granted once): a write sends the first
    /// count * 512 bytes of them, a read leaves its sectors there. (Guests
    /// of this SDK have a small heap that is never given back: no buffer
    /// is allocated per request.)
    public var buffer: UnsafeMutableRawPointer { pages }

    /// Reads `count` sectors from `sector` (at most maxSectorsPerRequest)
    /// into `buffer`.
    public mutating func read(sector: UInt64, count: Int) throws(TernError) {
        try submit(operation: UInt8(TERN_BLKIF_OP_READ), sector: sector, count: count)
    }

    /// Writes `count` sectors at `sector` (at most maxSectorsPerRequest)
    /// from `buffer`.
    public mutating func write(sector: UInt64, count: Int) throws(TernError) {
        try submit(operation: UInt8(TERN_BLKIF_OP_WRITE), sector: sector, count: count)
    }

    /// FLUSH_DISKCACHE without data: what was written is on the disk.
    public mutating func flush() throws(TernError) {
        try submit(operation: UInt8(TERN_BLKIF_OP_FLUSH_DISKCACHE), sector: 0, count: 0)
    }

    /// The backend closed the disk (and why: TERN_BLKIF_ERROR_*).
    public var backendClosed: Bool { control.backendState == UInt32(TERN_LINK_CLOSED) }
    public var backendError: UInt32 { control.backendError }

    /// A fresh request id.
    public mutating func takeID() -> UInt64 {
        defer { nextID &+= 1 }
        return nextID
    }

    /// A raw request, as written (hostile guests build their own); its
    /// response, whole.
    public mutating func submit(_ request: tern_blkif_request) throws(TernError) -> tern_blkif_response {
        do throws(RingError) { try ring.push(request) } catch { throw TernError(TERN_ENOSPC) }
        if ring.publish() { _ = Events.send(device.port) }
        while true {
            let response: tern_blkif_response?
            do throws(RingError) { response = try ring.takeResponse() } catch { throw TernError(TERN_EIO) }
            if let response {
                guard response.id == request.id else {
                    print("blkfront: response for id \(response.id), expected \(request.id)")
                    throw TernError(TERN_EIO)
                }
                return response
            }
            let more: Bool
            do throws(RingError) { more = try ring.finalCheckForResponses() } catch { throw TernError(TERN_EIO) }
            if !more {
                if backendClosed { throw TernError(TERN_ENOTCONN) }
                Events.wait(for: device.port)
            }
        }
    }

    /// The request for `count` sectors from `sector` through the data
    /// pages: segment i is page i, sectors 0...7 of it (the last one
    /// shorter); then waits for its response.
    mutating func submit(operation: UInt8, sector: UInt64, count: Int) throws(TernError) {
        guard count >= 0, count <= BlockFrontend.maxSectorsPerRequest else { throw TernError(TERN_EINVAL) }
        var request = tern_blkif_request()
        request.operation = operation
        request.id = takeID()
        request.sector_number = sector
        let perPage = Int(TERN_BLKIF_SECTORS_PER_PAGE)
        let segments = (count + perPage - 1) / perPage
        request.nr_segments = UInt8(segments)
        withUnsafeMutableBytes(of: &request.seg) { raw in
            for i in 0..<segments {
                let last = min(perPage, count - i * perPage) - 1
                let segment = tern_blkif_segment(gref: pageRefs[i], first_sect: 0, last_sect: UInt8(last), reserved: 0)
                // SAFETY: seg is 11 segments of 8 bytes; i < segments <= 11.
                raw.storeBytes(of: segment, toByteOffset: i * MemoryLayout<tern_blkif_segment>.stride, as: tern_blkif_segment.self)
            }
        }
        let status = try submit(request).status
        guard status == Int16(TERN_BLKIF_RSP_OKAY) else {
            throw TernError(status == Int16(TERN_BLKIF_RSP_EOPNOTSUPP) ? TERN_ENOSYS : TERN_EIO)
        }
    }
}

/// This domain's view of a disk's control page (tern/blkif.h): the words
/// the backend writes are read once each, volatile; the frontend's half
/// is written before READY.
struct BlockControl: DeviceControl {
    let page: UnsafeMutablePointer<tern_blkif_control>

    /// One copy of the whole struct, after `version` said the backend's
    /// half is there (the frontend reads its fields from the copy only).
    var backendHalf: tern_blkif_control {
        var copy = tern_blkif_control()
        // SAFETY: the control page (init); any bytes are a valid struct of integers.
        tern_blkif_copy_control(&copy, page)
        return copy
    }

    /// Step 3 of the handshake: the frontend's fields, then READY last.
    func publishFrontendHalf(version: UInt32, features: UInt32, ringRef: UInt32) {
        // SAFETY: the frontend's own fields of the control page (init).
        page.pointee.frontend_version = version
        // SAFETY: as above.
        page.pointee.frontend_features = features
        // SAFETY: as above.
        page.pointee.ring_order = 0
        // SAFETY: as above.
        page.pointee.link.ring_ref = ringRef
        tern_ring_wmb()
        // SAFETY: as above; one volatile write, after the fields.
        tern_ring_store(&page.pointee.link.frontend_state, UInt32(TERN_LINK_READY))
    }
}
