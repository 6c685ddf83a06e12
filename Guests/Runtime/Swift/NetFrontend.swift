import TernGuestC

/// A network interface served by a backend in Dom0 (TERN_DEVICE_NET,
/// tern/netif.h, docs/abi.md "Network interfaces"): the frontend of a
/// ported PV guest. Its pages are a pool granted once (persistent grants):
/// frames are copied into a tx page to be sent, and arrive in rx pages it
/// keeps posted.
///
///     var net = try NetFrontend.open(devid: 0)    // handshake done
///     try net.send(frame)                         // an Ethernet frame
///     net.receive { frame in ... }                // each frame that came
///     net.wait()                                  // until the backend notifies
///
/// Detached (`tern network-detach`), the backend closes the interface
/// (CLOSED, no error) and it leaves the device page; `close` then ends the
/// grants, and its pages serve the next `open` (a guest's pages are never
/// given back).
public struct NetFrontend {
    public let device: tern_device_entry
    let control: NetControl
    var tx: FrontRing<tern_netif_tx_request, tern_netif_tx_response>
    var rx: FrontRing<tern_netif_rx_request, tern_netif_rx_response>
    /// The tx pool (hostile guests write their own slots naming it).
    public let txPages: UnsafeMutableRawPointer
    let rxPages: UnsafeMutableRawPointer
    public let txRefs: [UInt32]
    let rxRefs: [UInt32]
    /// The tx and rx rings' grants.
    let ringRefs: [UInt32]
    var txFree: [UInt16]
    /// The address the backend gave this interface (its `mac=`).
    public let mac: [UInt8]
    public let mtu: Int

    /// Pages for frames in flight out, and posted for frames in (a small
    /// guest's heap is never given back: sized once).
    public static let txPageCount = 16, rxPageCount = 32
    /// How long `close` gives the backend to let go of a page.
    static let closeWaitNanoseconds: UInt64 = 1_000_000_000

    /// An interface's pages: its two ring pages and both pools.
    public struct Pages {
        let txRing, rxRing, tx, rx: UnsafeMutableRawPointer

        static func allocate() -> Pages {
            Pages(txRing: Page.allocate(), rxRing: Page.allocate(), tx: Page.allocate(count: txPageCount),
                  rx: Page.allocate(count: rxPageCount))
        }
    }
    public let pages: Pages

    /// Finds interface `devid` (waiting for the toolstack to add it), waits
    /// for the backend's half, grants both rings and the page pool, publishes
    /// its half (READY last), waits for CONNECTED and posts every rx page.
    /// `postPages`: false leaves the rx ring empty (a hostile guest that
    /// takes no packets). `reusing`: the pages of an interface closed
    /// before (none: new ones).
    public static func open(devid: UInt16, postPages: Bool = true, reusing: Pages? = nil) throws(TernError) -> NetFrontend {
        let device = try Devices.wait { $0.type == UInt16(TERN_DEVICE_NET) && $0.devid == devid && !$0.isServedHere }
        // SAFETY: control_gpa is this domain's own control page for the
        // device (Tern's device page says so): identity-mapped, a whole page.
        guard device.control_gpa != 0, let raw = UnsafeMutableRawPointer(bitPattern: UInt(device.control_gpa)) else {
            throw TernError(TERN_EINVAL)
        }
        let control = NetControl(raw)
        while control.version == 0 { Events.wait(for: device.port) }
        tern_ring_rmb()
        let backend = control.backendHalf
        let pages = reusing ?? Pages.allocate()
        let txPage = pages.txRing, rxPage = pages.rxRing
        guard let tx = FrontRing<tern_netif_tx_request, tern_netif_tx_response>(initializing: txPage, pageSize: Page.size),
              let rx = FrontRing<tern_netif_rx_request, tern_netif_rx_response>(initializing: rxPage, pageSize: Page.size) else {
            throw TernError(TERN_EINVAL)
        }
        let txRef = try Grants.grant(txPage, to: device.backend), rxRef = try Grants.grant(rxPage, to: device.backend)
        let txPages = pages.tx, rxPages = pages.rx
        var txRefs: [UInt32] = [], rxRefs: [UInt32] = []
        for i in 0..<txPageCount { txRefs.append(try Grants.grant(txPages + i * Page.size, to: device.backend)) }
        for i in 0..<rxPageCount { rxRefs.append(try Grants.grant(rxPages + i * Page.size, to: device.backend)) }
        let persistent = backend.backend_features & UInt32(TERN_NETIF_FEATURE_PERSISTENT)
        control.publishFrontendHalf(features: persistent, txRef: txRef, rxRef: rxRef)
        _ = Events.send(device.port)
        while control.backendState != UInt32(TERN_LINK_CONNECTED) {
            if control.backendState == UInt32(TERN_LINK_CLOSED) {
                print("netfront: the backend closed the interface: error \(control.backendError)")
                throw TernError(TERN_ENOTCONN)
            }
            Events.wait(for: device.port)
        }
        let m = backend.mac
        var net = NetFrontend(device: device, control: control, tx: tx, rx: rx, txPages: txPages, rxPages: rxPages,
                              txRefs: txRefs, rxRefs: rxRefs, ringRefs: [txRef, rxRef], txFree: (0..<UInt16(txPageCount)).reversed(),
                              mac: [m.0, m.1, m.2, m.3, m.4, m.5], mtu: Int(backend.mtu), pages: pages)
        if postPages {
            for id in 0..<UInt16(rxPageCount) { net.post(id) }
            if net.rx.publish() { _ = Events.send(device.port) }
        }
        return net
    }

    /// Puts rx page `id` back for the backend to fill.
    mutating func post(_ id: UInt16) {
        try? rx.push(tern_netif_rx_request(id: id, reserved: 0, gref: rxRefs[Int(id)]))
    }

    /// Sends one Ethernet frame (at most a page): copied into a free tx
    /// page, published. Waits for a page when all are in flight.
    public mutating func send(_ frame: UnsafeRawBufferPointer) throws(TernError) {
        guard frame.count >= Int(TERN_NETIF_ETH_HEADER), frame.count <= Page.size else { throw TernError(TERN_EINVAL) }
        reclaim()
        while txFree.isEmpty {
            if backendClosed { throw TernError(TERN_ENOTCONN) }
            Events.wait(for: device.port)
            reclaim()
        }
        let id = txFree.removeLast()
        // SAFETY: page `id` of the tx pool (id < txPageCount); frame.count <= a page.
        (txPages + Int(id) * Page.size).copyMemory(from: frame.baseAddress!, byteCount: frame.count)
        do throws(RingError) {
            try tx.push(tern_netif_tx_request(gref: txRefs[Int(id)], offset: 0, flags: 0, id: id, size: UInt16(frame.count)))
        } catch {
            txFree.append(id)
            throw TernError(TERN_ENOSPC)
        }
        if tx.publish() { _ = Events.send(device.port) }
    }

    /// Takes tx responses: their pages are free again.
    mutating func reclaim() {
        while case let response?? = try? tx.takeResponse() {
            if response.id < UInt16(NetFrontend.txPageCount) && !txFree.contains(response.id) { txFree.append(response.id) }
        }
    }

    /// Hands each frame that arrived to `handle`, then posts its page again;
    /// how many came.
    @discardableResult
    public mutating func receive(_ handle: (UnsafeRawBufferPointer) -> Void) -> Int {
        var frames = 0
        reclaim()
        while case let response?? = try? rx.takeResponse() {
            let id = response.id
            guard id < UInt16(NetFrontend.rxPageCount) else { continue }
            if response.status > 0, Int(response.offset) + Int(response.status) <= Page.size {
                // SAFETY: page `id` of the rx pool; offset + status <= a page (checked).
                handle(UnsafeRawBufferPointer(start: rxPages + Int(id) * Page.size + Int(response.offset), count: Int(response.status)))
                frames += 1
            }
            post(id)
        }
        if rx.publish() { _ = Events.send(device.port) }
        _ = try? rx.finalCheckForResponses()
        _ = try? tx.finalCheckForResponses()
        return frames
    }

    /// Sleeps until the backend notifies (a frame came, a page went back).
    public func wait(until deadline: UInt64 = 0) {
        if deadline == 0 { Events.wait(for: device.port) } else { _ = Events.wait(for: device.port, until: deadline) }
    }

    public var backendClosed: Bool { control.backendState == UInt32(TERN_LINK_CLOSED) }
    public var backendError: UInt32 { control.backendError }

    /// Ends the interface's grants (the backend gone: detached, or it
    /// closed the interface), giving it a moment to unmap each; its pages,
    /// for the next `open`. How many grants it still held (kept: their
    /// refs are not reused).
    public func close() -> (pages: Pages, stillMapped: Int) {
        var held = 0
        for ref in ringRefs + txRefs + rxRefs where Grants.end(ref, waitingUpTo: NetFrontend.closeWaitNanoseconds) != 0 { held += 1 }
        return (pages, held)
    }

    /// Raw tx slots, as written (hostile guests build their own), published
    /// at once; the status of each, in order, once all are answered; nil if
    /// the backend closed the interface or `deadline` passed first.
    public mutating func sendRaw(_ requests: [tern_netif_tx_request], deadline: UInt64) -> [Int16]? {
        for request in requests {
            do throws(RingError) { try tx.push(request) } catch { return nil }
        }
        if tx.publish() { _ = Events.send(device.port) }
        var statuses: [Int16] = []
        while statuses.count < requests.count {
            if case let response?? = try? tx.takeResponse() {
                statuses.append(response.status)
                continue
            }
            if backendClosed || Tern.now() >= deadline { return nil }
            if (try? tx.finalCheckForResponses()) != true { _ = Events.wait(for: device.port, until: deadline) }
        }
        return statuses
    }

    /// Publishes raw tx slots and does not wait (a guest that vanishes).
    public mutating func publishRaw(_ requests: [tern_netif_tx_request]) {
        for request in requests { try? tx.push(request) }
        if tx.publish() { _ = Events.send(device.port) }
    }
}

/// This domain's view of an interface's control page (tern/netif.h).
struct NetControl: DeviceControl {
    let page: UnsafeMutablePointer<tern_netif_control>

    var backendHalf: tern_netif_control {
        var copy = tern_netif_control()
        // SAFETY: the control page (init); any bytes are a valid struct of integers.
        tern_netif_copy_control(&copy, page)
        return copy
    }

    /// Step 3: the frontend's fields, then READY last.
    func publishFrontendHalf(features: UInt32, txRef: UInt32, rxRef: UInt32) {
        // SAFETY: the frontend's own fields of the control page (init).
        page.pointee.frontend_version = UInt32(TERN_NETIF_CONTROL_VERSION)
        // SAFETY: as above.
        page.pointee.frontend_features = features
        // SAFETY: as above.
        page.pointee.rx_ring_ref = rxRef
        // SAFETY: as above; one volatile write.
        tern_ring_store(&page.pointee.link.ring_ref, txRef)
        tern_ring_wmb()   // the fields before READY
        // SAFETY: as above.
        tern_ring_store(&page.pointee.link.frontend_state, UInt32(TERN_LINK_READY))
    }
}
