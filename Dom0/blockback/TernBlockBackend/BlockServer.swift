import Glibc
import TernABI
import TernBlock
import TernRing
import TernSyscalls
import TernToolstack

/// One guest disk served from Dom0 (docs/blockback.md): the control-page
/// handshake (docs/abi.md "Block devices"), then the ring: each request
/// copied out once and checked (TernBlock), done on the disk image, and
/// answered with a complete response. A request that fails its checks, or
/// names pages Dom0 may not map, fails alone (one log line for the first
/// few of each device); a broken ring closes only this device. It returns
/// when the guest is gone, or when told to stop (`tern block-detach`:
/// SIGTERM on `stopFD`) once what it took is answered.
public final class BlockServer {
    let device: ControlDevice
    let events: EventChannel
    let image: DiskImage
    let log: BackendLog
    let frontend: UInt32
    let controlRef: UInt32
    public let disk: BlockDiskProperties

    /// A device's first offending request is logged, with why; the rest
    /// are counted (a line at every `logEvery`-th, and the total at the end).
    static let logEvery = 1000
    /// backend_max_ring_order (BlockDiskProperties offers it).
    static let ringOrderMax: UInt32 = 0
    /// max_indirect_segments offered: 256 KiB a request, so a guest's 1 MiB
    /// is 4 requests, not 24 (Xen's blkfront uses 32 by default, its
    /// blkback offers 256). One indirect page holds them.
    static let indirectSegmentsMax: UInt32 = 64
    /// The most data one request carries: a page per segment.
    static let requestBytesMax = Int(max(UInt32(TERN_BLKIF_MAX_SEGMENTS), indirectSegmentsMax)) * Int(TERN_BLKIF_PAGE_SIZE)
    /// Pages one request may name: its data pages and its indirect page.
    static let requestPagesMax = Int(max(UInt32(TERN_BLKIF_MAX_SEGMENTS), indirectSegmentsMax)) + 1

    public private(set) var offenses = 0
    public private(set) var diskFailures = 0
    static let diskFailuresLogged = 5
    public private(set) var requestsServed: UInt64 = 0
    /// What serving cost, for `make bench` (docs/blockback.md, "Measuring").
    public struct Figures {
        /// Notifications the frontend sent that woke the backend, and those it sent the frontend.
        public var notificationsTaken: UInt64 = 0
        public var notificationsSent: UInt64 = 0
        /// Batches taken from the ring (non-empty), disk operations started.
        public var batches: UInt64 = 0
        public var diskOperations: UInt64 = 0
        /// Time with requests taken and not yet answered.
        public var busyMicroseconds: UInt64 = 0
    }
    public private(set) var figures = Figures()
    /// The guest's notifications, its death, the stop signal (a detach:
    /// SIGTERM on a signalfd, if any).
    let wait: ServerWait
    /// Told to stop: no new request is taken; those taken are answered.
    public private(set) var stopping = false
    /// Told each state the disk enters, in words (`tern block-list`).
    let onState: (String) -> Void

    public init(device: ControlDevice, events: EventChannel, image: DiskImage, log: BackendLog,
                frontend: UInt32, controlRef: UInt32, stopFD: Int32? = nil, onState: @escaping (String) -> Void = { _ in }) {
        self.onState = onState
        self.device = device
        self.events = events
        self.image = image
        self.log = log
        self.frontend = frontend
        self.controlRef = controlRef
        wait = ServerWait(device: device, events: events, frontend: frontend, stopFD: stopFD)
        var features: BlockFeatures = [.flush, .persistent]
        if image.isRegularFile && !image.readOnly { features.insert(.discard) }
        disk = BlockDiskProperties(sectors: image.sectors, readOnly: image.readOnly, features: features,
                                   maxIndirectSegments: BlockServer.indirectSegmentsMax, maxRingOrder: BlockServer.ringOrderMax)!
    }

    /// `.detached`: every request taken was answered.
    public typealias End = ServerEnd

    /// How one connection ended.
    enum Session: Equatable {
        case guestGone
        case detached
        /// The frontend set CLOSED (its driver went): a new one may connect.
        case frontendClosed
        /// The frontend broke the protocol: this disk closed with an error
        /// until the frontend starts over.
        case refused(String)
    }

    /// Serves the disk for the guest's life: a connection per frontend
    /// (a driver unloaded and loaded again, or one that broke the protocol
    /// and starts over, gets the handshake again).
    public func run() -> End {
        // One bounce buffer per ring slot (the largest ring offered).
        let slots = Int(BlockRingGeometry(order: BlockServer.ringOrderMax)!.entries)
        guard let buffers = BounceBuffers(count: slots, bytesEach: BlockServer.requestBytesMax) else {
            return .failed("no memory for \(slots) buffers of \(BlockServer.requestBytesMax) bytes")
        }
        return ControlLink.serving(device, frontend: frontend, ref: controlRef, backendErrorOffset: ControlLink.blkifErrorOffset) {
            serveConnections($0, link: $1, buffers: buffers)
        }
    }

    /// A connection per handshake, until the guest is gone or a stop.
    func serveConnections(_ control: UnsafeMutableRawPointer, link: ControlLink, buffers: BounceBuffers) -> End {
        while true {
            switch connect(control, link: link, buffers: buffers) {
            case .guestGone:
                return .frontendGone
            case .detached:
                return .detached
            case .frontendClosed:
                link.backendState = UInt32(TERN_LINK_CLOSED)
                events.notify()
                onState("closed by the guest")
                log.info("the guest closed the disk: \(requestsServed) requests served, \(offenses) refused; waiting for it to connect again")
            case .refused(let why):
                onState("refused the guest")   // (why: in the log)
                log.warning("device closed: \(why)")
            }
            // A new handshake starts from a frontend that is not READY.
            while link.frontendState == UInt32(TERN_LINK_READY) {
                if !idle() { return .frontendGone }
                if stopping { return .detached }
            }
        }
    }

    /// One connection: the handshake's backend steps, then serving.
    func connect(_ control: UnsafeMutableRawPointer, link: ControlLink, buffers: BounceBuffers) -> Session {
        link.backendError = UInt32(TERN_BLKIF_ERROR_NONE)
        BlockControlPage.publish(disk, to: control)
        events.notify()
        // Step 3 is the frontend's: wait for it (a restarted backend finds it done).
        if link.frontendState != UInt32(TERN_LINK_READY) { onState("waiting for the guest") }
        while link.frontendState != UInt32(TERN_LINK_READY) {
            if !idle() { return .guestGone }
            if stopping { return .detached }
        }
        tern_ring_rmb()   // the frontend's fields after its state
        let settings: FrontendSettings
        switch BlockControlPage.frontendSettings(BlockControlPage.copy(from: control), offering: disk) {
        case .success(let s): settings = s
        case .failure(let refusal):
            link.close(error: refusal.errorCode, notifying: events)
            return .refused(refusal.description)
        }
        guard settings.geometry.order <= BlockServer.ringOrderMax else {
            link.close(error: UInt32(TERN_BLKIF_ERROR_RING_ORDER), notifying: events)
            return .refused("ring order \(settings.geometry.order), \(BlockServer.ringOrderMax) offered")
        }
        let ring: UnsafeMutableRawPointer
        do throws(ControlDevice.Failure) {
            ring = try device.mapGrant(domid: frontend, ref: settings.ringRefs[0], readOnly: false)
        } catch {
            link.close(error: UInt32(TERN_BLKIF_ERROR_RING_REF), notifying: events)
            return .refused("ring grant ref \(settings.ringRefs[0]) cannot be mapped: \(error)")
        }
        defer { device.unmap(ring) }
        var consumer = BlockRingConsumer(attaching: ring, geometry: settings.geometry)
        let pages = GrantPages(device: device, domid: frontend, persistent: settings.features.contains(.persistent),
                               limit: Int(settings.geometry.entries) * BlockServer.requestPagesMax)
        // (Its operations end before it does: the next connection reuses the buffers.)
        let queue = DiskQueue(image: image, depth: Int(settings.geometry.entries) * 2, keeping: buffers)
        link.backendState = UInt32(TERN_LINK_CONNECTED)
        events.notify()
        onState("connected")
        log.info("connected: \(image.path) \(image.readOnly ? "read-only" : "read-write"), \(disk.sectors) sectors, " +
                 "\(settings.geometry.entries) slots, \(settings.features.contains(.persistent) ? "persistent grants" : "grants mapped per request")" +
                 ", " + (queue.bufferedBecause.map { "buffered I/O (\($0))" } ?? "direct asynchronous I/O") +
                 (consumer.outstanding == 0 && consumer.requestsConsumed != 0 ? ", re-attached at response \(consumer.requestsConsumed)" : ""))
        return serve(&consumer, pages: pages, queue: queue, buffers: buffers, link: link)
    }

    func serve(_ consumer: inout BlockRingConsumer, pages: GrantPages, queue: DiskQueue,
               buffers: BounceBuffers, link: ControlLink) -> Session {
        var work = RequestsInFlight(validator: RequestValidator(disk: disk), pages: pages, buffers: buffers, queue: queue)
        defer { work.abandon() }
        let operationsBefore = figures.diskOperations   // (earlier connections')
        var busySince: UInt64?
        while true {
            switch stopping ? .requests([]) : consumer.takeBatch() {
            case .ringBroken(let broken):
                link.close(error: UInt32(TERN_BLKIF_ERROR_RING_BROKEN), notifying: events)
                return .refused(broken.description)
            case .requests(let batch):
                if !batch.isEmpty {
                    figures.batches &+= 1
                    work.start(batch, server: self)
                }
            }
            work.reapAll(server: self)
            figures.diskOperations = operationsBefore &+ work.operationsStarted
            // Answers in ring order (RequestsInFlight): the responses written
            // always answer the oldest requests, so a restarted backend
            // knows which to take again.
            while let (request, status) = work.takeAnswered() {
                _ = consumer.push(BlockResponse(answering: request, status: status))
                requestsServed &+= 1
            }
            if consumer.publishResponses() {
                events.notify()
                figures.notificationsSent &+= 1
            }
            let now = Clock.microseconds()
            if let since = busySince { figures.busyMicroseconds &+= now &- since }
            busySince = work.isEmpty ? nil : now
            if stopping {
                if work.isEmpty { return .detached }
            } else if consumer.finalCheckForRequests() {
                continue
            }
            if work.isEmpty && link.frontendState == UInt32(TERN_LINK_CLOSED) { return .frontendClosed }
            if !idle(alsoWaking: queue.wakeFD) { return .guestGone }
        }
    }

    /// The disk failed an operation the guest asked for (not the guest's
    /// fault): the first few are logged, each with why.
    func diskFailed(_ what: String, error: Int32) {
        diskFailures += 1
        if diskFailures <= BlockServer.diskFailuresLogged {
            log.warning("\(what) failed: \(error == 0 ? "short transfer" : String(cString: strerror(error)))" +
                        (diskFailures == BlockServer.diskFailuresLogged ? " (further disk errors are counted, not logged)" : ""))
        }
    }

    /// A request the guest got wrong: one line for the device's first,
    /// then a count at every `logEvery`-th.
    func offend(_ line: String) {
        offenses += 1
        if offenses == 1 {
            log.warning(line + " (this disk's further refused requests are counted, not logged)")
        } else if offenses % BlockServer.logEvery == 0 {
            log.warning("\(offenses) requests refused so far")
        }
    }

    /// Sleeps until the guest notifies, a domain dies, or a second
    /// passes; false if the guest is gone (looked up after a death and
    /// after a quiet second).
    /// `alsoWaking`: another fd whose readiness ends the sleep (the disk
    /// queue's completions). A stop signal sets `stopping`.
    func idle(alsoWaking wakeFD: Int32? = nil) -> Bool {
        let woken = wait.sleep(alsoWaking: wakeFD)
        if woken.stop && !stopping {
            stopping = true
            onState("detaching")
            log.info("detaching: answering the requests taken, taking no more")
        }
        figures.notificationsTaken &+= UInt64(woken.notifications)
        return woken.guestLives
    }
}
