import TernABI

/// The guest's pages as the backend reaches them (in Dom0: grant mappings
/// through /dev/tern, kept when persistent; in tests: memory).
public protocol GuestPages: AnyObject {
    /// The page granted as `ref`, writable when the backend writes into it
    /// (rx); nil when it cannot be mapped (not granted, read-only for rx...).
    func page(_ ref: UInt32, writable: Bool) -> UnsafeMutableRawPointer?
    /// The packet that needed `page` is done (a per-packet mapping goes).
    func release(_ page: UnsafeMutableRawPointer)
}

/// Where packets leave for and come from (in Dom0: the interface's tap).
/// Each frame goes with a VnetHeader: its checksum and segmentation.
public protocol PacketPort: AnyObject {
    /// Sends one frame made of `parts`, in order; false if it was not taken.
    func send(_ parts: [UnsafeRawBufferPointer], header: VnetHeader) -> Bool
    /// Receives one waiting frame into `buffer`: its length and header, or
    /// nil when none waits. A frame longer than `buffer` is cut (and
    /// counted by the caller).
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (length: Int, header: VnetHeader)?
}

/// What the frontend took of the offloads (TERN_NETIF_FEATURE_*): what
/// the data path may pass it.
public struct NetOffloads: Equatable {
    /// Packets over several slots (SG).
    public var scatterGather = false
    /// Partial checksums (CSUM_BLANK) to the guest.
    public var checksum = false
    /// Packets of up to 64 KiB with a GSO slot, both ways.
    public var segmentation = false

    public init(scatterGather: Bool = false, checksum: Bool = false, segmentation: Bool = false) {
        self.scatterGather = scatterGather
        self.checksum = checksum
        self.segmentation = segmentation
    }

    public init(features: UInt32) {
        scatterGather = features & UInt32(TERN_NETIF_FEATURE_SG) != 0
        checksum = features & UInt32(TERN_NETIF_FEATURE_CSUM) != 0
        segmentation = features & UInt32(TERN_NETIF_FEATURE_GSO) != 0
    }
}

/// What one interface moved and refused (the backend logs them at its end,
/// `make bench` reads them).
public struct NetCounters: Equatable {
    public var txPackets = 0, txBytes = 0
    /// Malformed packets dropped (their slots answered ERROR).
    public var txMalformed = 0
    /// Packets whose pages could not be mapped, or the port refused.
    public var txFailed = 0
    /// Times the rate limit held packets back until the next top-up.
    public var txHeld = 0
    public var rxPackets = 0, rxBytes = 0
    /// Frames whose page could not be mapped (answered ERROR).
    public var rxFailed = 0
    /// Frames the frontend cannot take (longer than it took SG or GSO
    /// for, a partial checksum it did not take, UDP segmentation): dropped.
    public var rxDropped = 0
    /// GSO packets each way (each counted once in the packets too).
    public var txSegmented = 0, rxSegmented = 0
    public init() {}
}

/// Why an interface is closed: the TERN_NETIF_ERROR_* the backend writes
/// in backend_error, and the log line.
public enum NetFatal: Equatable, CustomStringConvertible {
    /// A packet no honest frontend sends (Linux's xenvif_fatal_tx_err).
    case malformed(TxFault)
    case ringBroken(NetRingBroken)

    public var errorCode: UInt32 {
        switch self {
        case .malformed: return UInt32(TERN_NETIF_ERROR_MALFORMED)
        case .ringBroken: return UInt32(TERN_NETIF_ERROR_RING_BROKEN)
        }
    }

    public var description: String {
        switch self {
        case .malformed(let fault): return "malformed packet: \(fault)"
        case .ringBroken(let broken): return broken.description
        }
    }
}

/// Moves packets between a guest's netif rings and a packet port: the
/// whole data path of Dom0's network backend, without its I/O (docs/abi.md
/// "Network interfaces", docs/netback.md). Transmit: the published slots
/// copied once, a packet read and checked (TxPacketParser), its parts'
/// pages found, the frame sent, every slot answered. Receive: a waiting
/// frame copied into the page of the next posted request and answered in
/// its slot; with no page posted it is dropped and counted.
public final class NetDataPath {
    public private(set) var tx: NetTxRing
    public private(set) var rx: NetRxRing
    let pages: GuestPages
    let port: PacketPort
    let limits: TxLimits
    let offloads: NetOffloads
    public var rate: TokenBucket?
    public private(set) var counters = NetCounters()
    /// The first malformed packet's fault (one log line per interface).
    public private(set) var firstFault: TxFault?
    /// A frame read from the port that the guest has not enough pages
    /// posted for yet: one frame at most, never a queue.
    var held: (length: Int, header: VnetHeader)?
    static let pageSize = Int(TERN_NETIF_PAGE_SIZE)
    /// A frame read from the port before pages take it: the largest a GSO
    /// packet may be and a page more, so that a longer one is seen as such.
    let frame: UnsafeMutableRawBufferPointer
    static let frameBytes = Int(TERN_NETIF_MAX_TX_SIZE) + 1 + Int(TERN_NETIF_PAGE_SIZE)
    /// The first bytes of a tx packet with a blank checksum or GSO, copied
    /// out of the guest's pages once to find its headers.
    let headers: UnsafeMutableRawBufferPointer

    public init(tx: NetTxRing, rx: NetRxRing, pages: GuestPages, port: PacketPort, offloads: NetOffloads = NetOffloads(),
                limits: TxLimits? = nil) {
        self.tx = tx
        self.rx = rx
        self.pages = pages
        self.port = port
        self.offloads = offloads
        self.limits = limits ?? TxLimits(extraTypes: offloads.segmentation ? [UInt8(TERN_NETIF_EXTRA_TYPE_GSO)] : [])
        frame = .allocate(byteCount: NetDataPath.frameBytes, alignment: 64)
        headers = .allocate(byteCount: ChecksumPlacement.headerBytesNeeded, alignment: 8)
    }

    deinit {
        frame.deallocate()
        headers.deallocate()
    }

    public enum Outcome: Equatable {
        /// Done what there was; `notify`: the guest asked to hear of the responses.
        case done(notify: Bool)
        /// Stopped by the rate limit: call again after the bucket's delay.
        case rateLimited(notify: Bool)
        /// Frames may wait but the guest posted no page: wait for it to post
        /// (NetRxRing.finalCheckForPages), not reading the port meanwhile.
        case waitingForPages(notify: Bool)
        /// The interface is to be closed, for this reason.
        case fatal(NetFatal)
    }

    /// Sends every whole packet the guest published (as far as the rate
    /// limit lets it), answering their slots.
    public func transmit(now: UInt64 = 0) -> Outcome {
        var limited = false
        loop: while true {
            let slots: [TxSlot]
            switch tx.published() {
            case .failure(let broken): return .fatal(.ringBroken(broken))
            case .success(let published): slots = published
            }
            if slots.isEmpty { break }
            switch TxPacketParser.parse(slots[...], limits: limits) {
            case .incomplete:
                break loop
            case .fatal(let fault):
                _ = tx.publishResponses()   // what was answered before it stands
                return .fatal(.malformed(fault))
            case .dropped(let taken, let fault):
                counters.txMalformed += 1
                if firstFault == nil { firstFault = fault }
                answer(taken, status: Int16(TERN_NETIF_RSP_ERROR))
            case .packet(let packet, let taken):
                if var bucket = rate {
                    let allowed = bucket.take(packet.size, now: now)
                    rate = bucket
                    if !allowed {
                        limited = true
                        counters.txHeld += 1
                        break loop
                    }
                }
                answer(taken, status: send(packet) ? Int16(TERN_NETIF_RSP_OKAY) : Int16(TERN_NETIF_RSP_DROPPED))
            }
        }
        let notify = tx.publishResponses()
        return limited ? .rateLimited(notify: notify) : .done(notify: notify)
    }

    /// Before sleeping: asks the guest to notify when it publishes more tx
    /// slots (a packet, or the rest of one it published in part), then
    /// looks again. True: call `transmit` instead of sleeping.
    public func finalCheckForPackets() -> Bool { tx.finalCheck() }

    /// With frames for the guest and no page posted: asks it to notify when
    /// it posts one, then looks again. True: a page is there.
    public func finalCheckForPages() -> Bool { rx.finalCheckForPages() }

    /// Takes the packet's slots off the ring and answers each: data slots
    /// `status`, extra-info slots NULL (netif.h).
    func answer(_ taken: TxSlots, status: Int16) {
        tx.consume(taken.count)
        for slot in taken.slots {
            _ = tx.push(id: slot.id, status: slot.isExtra ? Int16(TERN_NETIF_RSP_NULL) : status)
        }
    }

    func send(_ packet: TxPacket) -> Bool {
        var mapped: [UnsafeMutableRawPointer] = []
        defer { for page in mapped { pages.release(page) } }
        var parts: [UnsafeRawBufferPointer] = []
        for part in packet.parts where part.size > 0 {
            guard let page = pages.page(part.gref, writable: false) else {
                counters.txFailed += 1
                return false
            }
            mapped.append(page)
            // SAFETY: offset + size <= one page (TxPacketParser checked it);
            // the page stays mapped until the frame is sent (defer above).
            parts.append(UnsafeRawBufferPointer(start: page + Int(part.offset), count: Int(part.size)))
        }
        guard let header = vnetHeader(for: packet, parts: parts), port.send(parts, header: header) else {
            counters.txFailed += 1
            return false
        }
        counters.txPackets += 1
        counters.txBytes += packet.size
        if packet.gso != nil { counters.txSegmented += 1 }
        return true
    }

    /// The tap's header for a tx packet: where Dom0's kernel fills in a
    /// blank checksum, and how it cuts a GSO packet (as Linux netback's
    /// checksum_setup and xenvif_set_skb_gso). nil: it cannot be sent (a
    /// blank checksum in no TCP or UDP header; GSO without a blank
    /// checksum, or over a header of the other IP version or not TCP).
    func vnetHeader(for packet: TxPacket, parts: [UnsafeRawBufferPointer]) -> VnetHeader? {
        var header = VnetHeader()
        guard packet.checksumBlank else {
            if packet.gso != nil { return nil }   // Linux's frontends leave a GSO packet's checksum blank
            if packet.dataValidated { header.flags = VnetHeader.dataValid }
            return header
        }
        // The headers, copied out of the guest's pages once and read there.
        var copied = 0
        for part in parts where copied < headers.count {
            let n = min(part.count, headers.count - copied)
            // SAFETY: `headers` has headers.count bytes; n fits after `copied`;
            // the part is mapped (send's caller) and n <= part.count.
            UnsafeMutableRawBufferPointer(rebasing: headers[copied..<(copied + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: part[0..<n]))
            copied += n
        }
        guard let place = ChecksumPlacement.locate(UnsafeRawBufferPointer(rebasing: headers[0..<copied])) else { return nil }
        header.flags = VnetHeader.needsChecksum
        header.checksumStart = UInt16(place.start)
        header.checksumOffset = UInt16(place.offset)
        if let gso = packet.gso {
            let ipv6 = gso.type == UInt8(TERN_NETIF_GSO_TYPE_TCPV6)
            guard place.isTCP, place.isIPv6 == ipv6 else { return nil }
            header.gsoType = ipv6 ? VnetHeader.gsoTCPv6 : VnetHeader.gsoTCPv4
            header.gsoSize = gso.size
            header.headerLength = UInt16(place.headersLength)
        }
        return header
    }

    /// Copies up to `maxFrames` waiting frames into pages the guest posted,
    /// a page a slot (more with SG), a GSO packet's segmentation in an
    /// extra slot after its first (netif.h), each answered in its request's
    /// slot. Without pages enough posted it stops (`waitingForPages`)
    /// holding at most the one frame it read: the rest stay in the port's
    /// own bounded queue (a tap's: the kernel drops past it and counts),
    /// never in the backend's memory.
    public func receive(maxFrames: Int = 64) -> Outcome {
        var waiting = false
        for _ in 0..<maxFrames {
            if held == nil { held = port.receive(into: frame) }
            guard let (length, header) = held else { break }
            guard let shape = rxShape(length: length, header: header) else {
                held = nil
                counters.rxDropped += 1
                continue
            }
            switch rx.pagesPosted() {
            case .failure(let broken): return .fatal(.ringBroken(broken))
            case .success(let posted) where posted < UInt32(shape.slots):
                waiting = true
            case .success:
                held = nil
                if let failure = deliver(length: length, shape: shape) { return .fatal(.ringBroken(failure)) }
                continue
            }
            break
        }
        let notify = rx.publishResponses()
        return waiting ? .waitingForPages(notify: notify) : .done(notify: notify)
    }

    /// How a received frame goes to the guest: its pages, its first slot's
    /// flags, its GSO extra. nil: the frontend cannot take it.
    struct RxShape {
        let pages: Int
        let flags: UInt16
        let gso: tern_netif_extra_info?
        var slots: Int { pages + (gso == nil ? 0 : 1) }
    }

    func rxShape(length: Int, header: VnetHeader) -> RxShape? {
        guard length > 0, length <= Int(TERN_NETIF_MAX_TX_SIZE) + 1 else { return nil }
        let pages = (length + NetDataPath.pageSize - 1) / NetDataPath.pageSize
        guard pages == 1 || offloads.scatterGather else { return nil }
        var flags: UInt16 = 0
        if header.flags & VnetHeader.needsChecksum != 0 {
            // Partial (from Dom0 or another guest): blank, and vouched for (as Xen's netback).
            guard offloads.checksum else { return nil }
            flags = UInt16(TERN_NETRXF_CSUM_BLANK | TERN_NETRXF_DATA_VALIDATED)
        } else if header.flags & VnetHeader.dataValid != 0 {
            flags = UInt16(TERN_NETRXF_DATA_VALIDATED)
        }
        var gso: tern_netif_extra_info?
        switch header.gsoType & ~VnetHeader.gsoECN {
        case VnetHeader.gsoNone:
            guard pages == 1 || length <= Int(TERN_NETIF_MAX_TX_SIZE) else { return nil }
        case VnetHeader.gsoTCPv4, VnetHeader.gsoTCPv6:
            guard offloads.segmentation, header.gsoSize > 0 else { return nil }
            let type = header.gsoType & ~VnetHeader.gsoECN == VnetHeader.gsoTCPv4 ? TERN_NETIF_GSO_TYPE_TCPV4 : TERN_NETIF_GSO_TYPE_TCPV6
            gso = tern_netif_extra_info(type: UInt8(TERN_NETIF_EXTRA_TYPE_GSO), flags: 0, u: (header.gsoSize, UInt16(type), 0))
            flags |= UInt16(TERN_NETRXF_EXTRA_INFO)
        default:
            return nil   // UDP segmentation: not offered to the tap
        }
        if pages > 1 { flags |= UInt16(TERN_NETRXF_MORE_DATA) }
        return RxShape(pages: pages, flags: flags, gso: gso)
    }

    /// Copies the held frame into the next `shape.slots` posted pages (all
    /// there: the caller checked) and answers each. A non-nil result: the
    /// ring broke under it.
    func deliver(length: Int, shape: RxShape) -> NetRingBroken? {
        var copied = 0
        for page in 0..<shape.pages {
            let request: tern_netif_rx_request
            switch rx.takeRequest() {
            case .failure(let broken): return broken
            case .success(nil): return nil   // (cannot be: counted before)
            case .success(let taken?): request = taken
            }
            let n = min(NetDataPath.pageSize, length - copied)
            var flags: UInt16 = page == 0 ? shape.flags : 0
            if page > 0 && page + 1 < shape.pages { flags |= UInt16(TERN_NETRXF_MORE_DATA) }
            if let target = pages.page(request.gref, writable: true) {
                // SAFETY: `target` is a mapped, writable page of the guest's;
                // n <= a page is copied into it from the frame buffer, whose
                // bytes copied..<copied+n lie within the frame's length.
                target.copyMemory(from: frame.baseAddress! + copied, byteCount: n)
                pages.release(target)
                _ = rx.respond(id: request.id, offset: 0, flags: flags, status: Int16(n))
            } else {
                counters.rxFailed += 1
                _ = rx.respond(id: request.id, offset: 0, flags: flags, status: Int16(TERN_NETIF_RSP_ERROR))
            }
            copied += n
            if page == 0, let gso = shape.gso {
                // The extra slot: the next posted page's, left unused.
                switch rx.takeRequest() {
                case .failure(let broken): return broken
                case .success(nil): return nil
                case .success: _ = rx.respondExtra(gso)
                }
            }
        }
        counters.rxPackets += 1
        counters.rxBytes += length
        if shape.gso != nil { counters.rxSegmented += 1 }
        return nil
    }
}
