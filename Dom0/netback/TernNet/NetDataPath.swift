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
public protocol PacketPort: AnyObject {
    /// Sends one frame made of `parts`, in order; false if it was not taken.
    func send(_ parts: [UnsafeRawBufferPointer]) -> Bool
    /// Receives one waiting frame into `buffer`: its length, or nil when
    /// none waits. A frame longer than `buffer` is cut (and counted by the caller).
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int?
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
    /// Frames longer than a page, or whose page could not be mapped (answered ERROR).
    public var rxFailed = 0
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
    public var rate: TokenBucket?
    public private(set) var counters = NetCounters()
    /// The first malformed packet's fault (one log line per interface).
    public private(set) var firstFault: TxFault?
    /// The length of a frame read from the port that no page has taken yet
    /// (the guest had none posted): one frame at most, never a queue.
    var held: Int?
    static let pageSize = Int(TERN_NETIF_PAGE_SIZE)
    /// A frame read from the port before a page takes it: twice a page, so
    /// that a frame too long for one page is seen as such (and refused).
    let frame: UnsafeMutableRawBufferPointer

    public init(tx: NetTxRing, rx: NetRxRing, pages: GuestPages, port: PacketPort, limits: TxLimits = TxLimits()) {
        self.tx = tx
        self.rx = rx
        self.pages = pages
        self.port = port
        self.limits = limits
        frame = .allocate(byteCount: 2 * NetDataPath.pageSize, alignment: 64)
    }

    deinit { frame.deallocate() }

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
        guard port.send(parts) else {
            counters.txFailed += 1
            return false
        }
        counters.txPackets += 1
        counters.txBytes += packet.size
        return true
    }

    /// Copies up to `maxFrames` waiting frames into pages the guest posted,
    /// each answered in its request's slot. With no page posted it stops
    /// (`waitingForPages`) holding at most the one frame it read: the rest
    /// stay in the port's own bounded queue (a tap's: the kernel drops past
    /// it and counts), never in the backend's memory.
    public func receive(maxFrames: Int = 64) -> Outcome {
        var waiting = false
        for _ in 0..<maxFrames {
            if held == nil { held = port.receive(into: frame) }
            guard let length = held else { break }
            let request: tern_netif_rx_request
            switch rx.takeRequest() {
            case .failure(let broken): return .fatal(.ringBroken(broken))
            case .success(nil):
                waiting = true
            case .success(let taken?):
                request = taken
                held = nil
                guard length <= NetDataPath.pageSize, let page = pages.page(request.gref, writable: true) else {
                    counters.rxFailed += 1
                    _ = rx.respond(id: request.id, offset: 0, flags: 0, status: Int16(TERN_NETIF_RSP_ERROR))
                    continue
                }
                // SAFETY: `page` is a mapped, writable page of the guest's;
                // length <= a page is copied into it from the frame buffer.
                page.copyMemory(from: frame.baseAddress!, byteCount: length)
                pages.release(page)
                counters.rxPackets += 1
                counters.rxBytes += length
                _ = rx.respond(id: request.id, offset: 0, flags: UInt16(TERN_NETRXF_DATA_VALIDATED), status: Int16(length))
                continue
            }
            break
        }
        let notify = rx.publishResponses()
        return waiting ? .waitingForPages(notify: notify) : .done(notify: notify)
    }
}
