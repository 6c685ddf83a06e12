import Glibc
import TernABI
import TernNet
import TernSyscalls
import TernToolstack

/// One guest network interface served from Dom0 (docs/netback.md): the
/// control-page handshake (docs/abi.md "Network interfaces"), then both
/// rings moved to and from the tap by NetDataPath. A malformed packet is
/// dropped and counted (one log line for the first); one no honest
/// frontend sends, or a broken ring index, closes only this interface. It
/// returns when the guest is gone or when told to stop (SIGTERM on
/// `stopFD`: `tern network-detach`), the interface then closed (backend
/// CLOSED, no error) so the guest stops using it before it is removed.
public final class NetServer {
    let device: ControlDevice
    let events: EventChannel
    let tap: TapDevice
    let log: BackendLog
    let frontend: UInt32
    let controlRef: UInt32
    public let interface: NetInterfaceProperties
    let rate: VifSpec.Rate?
    let wait: ServerWait
    public private(set) var stopping = false
    /// When the backend last woke (Figures.busyMicroseconds).
    var awake = Clock.microseconds()
    public private(set) var counters = NetCounters()
    /// What serving cost (the end-of-life line; `make bench` reads them).
    public struct Figures {
        /// Times the backend woke from its wait (a quiet second's look
        /// included), and the guest's notifications it took.
        public var wakeups: UInt64 = 0
        public var notificationsTaken: UInt64 = 0
        /// Events sent to the guest (responses it asked to hear of).
        public var notificationsSent: UInt64 = 0
        /// Time awake, from a wakeup to the next wait.
        public var busyMicroseconds: UInt64 = 0
    }
    public private(set) var figures = Figures()
    /// Told each state the interface enters, in words (`tern network-list`).
    let onState: (String) -> Void

    public init(device: ControlDevice, events: EventChannel, tap: TapDevice, log: BackendLog, frontend: UInt32,
                controlRef: UInt32, interface: NetInterfaceProperties, rate: VifSpec.Rate?, stopFD: Int32?,
                onState: @escaping (String) -> Void = { _ in }) {
        self.device = device
        self.events = events
        self.tap = tap
        self.log = log
        self.frontend = frontend
        self.controlRef = controlRef
        self.interface = interface
        self.rate = rate
        self.onState = onState
        wait = ServerWait(device: device, events: events, frontend: frontend, stopFD: stopFD)
    }

    public typealias End = ServerEnd

    public func run() -> End {
        ControlLink.serving(device, frontend: frontend, ref: controlRef, backendErrorOffset: ControlLink.netifErrorOffset) { control, link in
            let end = serveConnections(control, link: link)
            if end == .detached {
                // The guest learns now; the device leaves its page next.
                link.backendState = UInt32(TERN_LINK_CLOSED)
                events.notify()
            }
            return end
        }
    }

    /// A connection per handshake, until the guest is gone or a stop.
    func serveConnections(_ control: UnsafeMutableRawPointer, link: ControlLink) -> End {
        while true {
            NetControlPage.publish(interface, carrier: true, to: control)
            events.notify()
            if link.frontendState != UInt32(TERN_LINK_READY) { onState("waiting for the guest") }
            while link.frontendState != UInt32(TERN_LINK_READY) {
                if !idle(waitingForTap: false) { return .frontendGone }
                if stopping { return .detached }
            }
            tern_ring_rmb()   // the frontend's fields after its state
            switch connect(control, link: link) {
            case .frontendGone: return .frontendGone
            case .detached: return .detached
            case .failed(let why):
                onState(link.frontendState == UInt32(TERN_LINK_CLOSED) ? "closed by the guest" : "refused the guest")
                log.warning("interface closed: \(why)")
            }
            // A new handshake starts from a frontend that is not READY.
            while link.frontendState == UInt32(TERN_LINK_READY) {
                if !idle(waitingForTap: false) { return .frontendGone }
                if stopping { return .detached }
            }
        }
    }

    /// One connection: the frontend's half checked, both rings mapped,
    /// then serving. `.failed`: this connection ended (closed with an
    /// error, or the frontend closed); the caller waits for a new one.
    func connect(_ control: UnsafeMutableRawPointer, link: ControlLink) -> End {
        let settings: NetFrontendSettings
        switch NetControlPage.frontendSettings(NetControlPage.copy(from: control), offering: interface) {
        case .success(let s): settings = s
        case .failure(let refusal):
            link.close(error: refusal.errorCode, notifying: events)
            return .failed(refusal.description)
        }
        let txPage: UnsafeMutableRawPointer, rxPage: UnsafeMutableRawPointer
        do throws(ControlDevice.Failure) {
            txPage = try device.mapGrant(domid: frontend, ref: settings.txRingRef, readOnly: false)
        } catch {
            link.close(error: UInt32(TERN_NETIF_ERROR_RING_REF), notifying: events)
            return .failed("tx ring grant ref \(settings.txRingRef) cannot be mapped: \(error)")
        }
        defer { device.unmap(txPage) }
        do throws(ControlDevice.Failure) {
            rxPage = try device.mapGrant(domid: frontend, ref: settings.rxRingRef, readOnly: false)
        } catch {
            link.close(error: UInt32(TERN_NETIF_ERROR_RING_REF), notifying: events)
            return .failed("rx ring grant ref \(settings.rxRingRef) cannot be mapped: \(error)")
        }
        defer { device.unmap(rxPage) }
        // Persistent: at most a ring's worth of pages each way are kept.
        let grants = GrantPages(device: device, domid: frontend, persistent: settings.persistent,
                                limit: 2 * Int(TERN_NETIF_RING_ENTRIES))
        let offloads = settings.offloads
        let offloaded = tap.setOffloads(offloads)
        guard offloaded == 0 else {
            link.close(error: UInt32(TERN_NETIF_ERROR_FEATURES), notifying: events)
            return .failed("cannot set the tap's offloads: \(String(cString: strerror(-offloaded)))")
        }
        let path = NetDataPath(tx: NetTxRing(attaching: txPage), rx: NetRxRing(attaching: rxPage),
                               pages: MappedGuestPages(grants), port: tap, offloads: offloads)
        if let rate {
            path.rate = TokenBucket(bytesPerInterval: rate.bytesPerInterval, intervalMicroseconds: rate.intervalMicroseconds,
                                    now: Clock.microseconds())
        }
        link.backendState = UInt32(TERN_LINK_CONNECTED)
        events.notify()
        onState("connected")
        log.info("connected: \(tap.name) on its bridge, mac \(VifSpec.macText(interface.mac)), " +
                 (settings.persistent ? "persistent grants" : "grants mapped per packet") +
                 (offloads.segmentation ? ", checksum and segmentation offload" : offloads.checksum ? ", checksum offload" : "") +
                 (rate.map { ", rate \($0.bytesPerSecond) B/s" } ?? ""))
        defer { counters = path.counters }
        return serve(path, link: link)
    }

    func serve(_ path: NetDataPath, link: ControlLink) -> End {
        var loggedFault = false
        while true {
            var notify = false, limited = false
            var waitMilliseconds = ServerWait.quietMilliseconds
            switch path.transmit(now: Clock.microseconds()) {
            case .fatal(let why):
                link.close(error: why.errorCode, notifying: events)
                return .failed(why.description)
            case .done(let n), .waitingForPages(let n): notify = notify || n
            case .rateLimited(let n):
                notify = notify || n
                limited = true
                let delay = path.rate?.microsecondsUntilCredit(now: Clock.microseconds()) ?? 1000
                waitMilliseconds = Int32(max(1, min(UInt64(ServerWait.quietMilliseconds), delay / 1000)))
            }
            if let fault = path.firstFault, !loggedFault {
                log.warning("malformed packet dropped: \(fault) (this interface's further ones are counted, not logged)")
                loggedFault = true
            }
            var pagesPosted = true
            switch path.receive() {
            case .fatal(let why):
                link.close(error: why.errorCode, notifying: events)
                return .failed(why.description)
            case .done(let n), .rateLimited(let n): notify = notify || n
            case .waitingForPages(let n):
                notify = notify || n
                pagesPosted = path.finalCheckForPages()
            }
            if notify {
                events.notify()
                figures.notificationsSent &+= 1
            }
            if stopping { return .detached }
            if link.frontendState == UInt32(TERN_LINK_CLOSED) {
                link.backendState = UInt32(TERN_LINK_CLOSED)
                events.notify()
                return .failed("the guest closed the interface")
            }
            if !limited && path.finalCheckForPackets() { continue }
            if !idle(waitingForTap: pagesPosted, milliseconds: waitMilliseconds) { return .frontendGone }
        }
    }

    /// Sleeps until the guest notifies, the tap has a frame (when the guest
    /// has pages for it), a domain dies, a stop signal, or the timeout;
    /// false if the guest is gone.
    func idle(waitingForTap: Bool, milliseconds: Int32 = ServerWait.quietMilliseconds) -> Bool {
        figures.busyMicroseconds &+= Clock.microseconds() &- awake
        let woken = wait.sleep(alsoWaking: waitingForTap ? tap.fd : nil, milliseconds: milliseconds)
        awake = Clock.microseconds()
        figures.wakeups &+= 1
        figures.notificationsTaken &+= UInt64(woken.notifications)
        if woken.stop && !stopping {
            stopping = true
            onState("detaching")
        }
        return woken.guestLives
    }
}
