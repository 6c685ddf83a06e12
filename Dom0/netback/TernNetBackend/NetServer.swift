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
/// returns when the guest is gone or when told to stop (SIGTERM on `stopFD`).
public final class NetServer {
    let device: ControlDevice
    let events: EventChannel
    let tap: TapDevice
    let log: BackendLog
    let frontend: UInt32
    let controlRef: UInt32
    public let interface: NetInterfaceProperties
    let rate: VifSpec.Rate?
    let died: EventChannel?
    let stopFD: Int32?
    public private(set) var stopping = false
    /// When the backend last woke (Figures.busyMicroseconds).
    var awake = Clock.microseconds()
    public private(set) var counters = NetCounters()
    /// What serving cost (the end-of-life line; `make bench` reads them).
    public struct Figures {
        /// Times the backend woke from its wait, and of those, by the guest's event.
        public var wakeups: UInt64 = 0
        public var notificationsTaken: UInt64 = 0
        /// Events sent to the guest (responses it asked to hear of).
        public var notificationsSent: UInt64 = 0
        /// Time awake, from a wakeup to the next wait.
        public var busyMicroseconds: UInt64 = 0
    }
    public private(set) var figures = Figures()

    /// A quiet second: look whether the guest still exists.
    static let idleMilliseconds: Int32 = 1000

    public init(device: ControlDevice, events: EventChannel, tap: TapDevice, log: BackendLog, frontend: UInt32,
                controlRef: UInt32, interface: NetInterfaceProperties, rate: VifSpec.Rate?, stopFD: Int32?) {
        self.device = device
        self.events = events
        self.tap = tap
        self.log = log
        self.frontend = frontend
        self.controlRef = controlRef
        self.interface = interface
        self.rate = rate
        self.stopFD = stopFD
        died = device.watch(virq: TERN_VIRQ_DOMAIN_DIED)
    }

    public enum End: Equatable {
        case frontendGone
        case detached
        case failed(String)
    }

    public func run() -> End {
        let control: UnsafeMutableRawPointer
        do throws(ControlDevice.Failure) {
            control = try device.mapGrant(domid: frontend, ref: controlRef, readOnly: false)
        } catch {
            return guestExists() ? .failed("cannot map the control page: \(error)") : .frontendGone
        }
        defer { device.unmap(control) }
        let link = ControlLink(control, backendErrorOffset: ControlLink.netifErrorOffset)
        while true {
            NetControlPage.publish(interface, carrier: true, to: control)
            events.notify()
            while link.frontendState != UInt32(TERN_LINK_READY) {
                if !idle(waitingForTap: false) { return .frontendGone }
                if stopping { return .detached }
            }
            tern_ring_rmb()   // the frontend's fields after its state
            switch connect(control, link: link) {
            case .frontendGone: return .frontendGone
            case .detached: return .detached
            case .failed(let why): log.warning("interface closed: \(why)")
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
            close(link, error: refusal.errorCode)
            return .failed(refusal.description)
        }
        let txPage: UnsafeMutableRawPointer, rxPage: UnsafeMutableRawPointer
        do throws(ControlDevice.Failure) {
            txPage = try device.mapGrant(domid: frontend, ref: settings.txRingRef, readOnly: false)
        } catch {
            close(link, error: UInt32(TERN_NETIF_ERROR_RING_REF))
            return .failed("tx ring grant ref \(settings.txRingRef) cannot be mapped: \(error)")
        }
        defer { device.unmap(txPage) }
        do throws(ControlDevice.Failure) {
            rxPage = try device.mapGrant(domid: frontend, ref: settings.rxRingRef, readOnly: false)
        } catch {
            close(link, error: UInt32(TERN_NETIF_ERROR_RING_REF))
            return .failed("rx ring grant ref \(settings.rxRingRef) cannot be mapped: \(error)")
        }
        defer { device.unmap(rxPage) }
        // Persistent: at most a ring's worth of pages each way are kept.
        let grants = GrantPages(device: device, domid: frontend, persistent: settings.persistent,
                                limit: 2 * Int(TERN_NETIF_RING_ENTRIES))
        let offloads = settings.offloads
        let offloaded = tap.setOffloads(offloads)
        guard offloaded == 0 else {
            close(link, error: UInt32(TERN_NETIF_ERROR_FEATURES))
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
            var waitMilliseconds = NetServer.idleMilliseconds
            switch path.transmit(now: Clock.microseconds()) {
            case .fatal(let why):
                close(link, error: why.errorCode)
                return .failed(why.description)
            case .done(let n), .waitingForPages(let n): notify = notify || n
            case .rateLimited(let n):
                notify = notify || n
                limited = true
                let delay = path.rate?.microsecondsUntilCredit(now: Clock.microseconds()) ?? 1000
                waitMilliseconds = Int32(max(1, min(UInt64(NetServer.idleMilliseconds), delay / 1000)))
            }
            if let fault = path.firstFault, !loggedFault {
                log.warning("malformed packet dropped: \(fault) (this interface's further ones are counted, not logged)")
                loggedFault = true
            }
            var pagesPosted = true
            switch path.receive() {
            case .fatal(let why):
                close(link, error: why.errorCode)
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

    func close(_ link: ControlLink, error: UInt32) {
        link.backendError = error
        tern_ring_wmb()
        link.backendState = UInt32(TERN_LINK_CLOSED)
        events.notify()
    }

    /// Sleeps until the guest notifies, the tap has a frame (when the guest
    /// has pages for it), a domain dies, a stop signal, or the timeout.
    func idle(waitingForTap: Bool, milliseconds: Int32 = NetServer.idleMilliseconds) -> Bool {
        let sleeping = Clock.microseconds()
        figures.busyMicroseconds &+= sleeping &- awake
        defer { awake = Clock.microseconds() }
        var fds = [pollfd(fd: events.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: died?.fd ?? -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: waitingForTap ? tap.fd : -1, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stopFD ?? -1, events: Int16(POLLIN), revents: 0)]   // (poll skips fd -1)
        let ready = poll(&fds, nfds_t(fds.count), milliseconds)
        guard ready > 0 else { return ready == 0 && milliseconds < NetServer.idleMilliseconds ? true : guestExists() }
        figures.wakeups &+= 1
        if fds[3].revents & Int16(POLLIN) != 0, let stopFD, tern_signal_take(stopFD) != 0 { stopping = true }
        if fds[0].revents & Int16(POLLIN) != 0 {
            _ = events.takeNow()
            figures.notificationsTaken &+= 1
        }
        if fds[1].revents & Int16(POLLIN) != 0 {
            died?.takeNow()
            return guestExists()
        }
        return true
    }

    func guestExists() -> Bool { device.isLive(domid: frontend) }
}
