import TernGuestC

/// Shutdown requests from the toolstack (`tern shutdown`, `tern reboot`:
/// TERN_VIRQ_SHUTDOWN, docs/abi.md "Domain control"). The runtime listens
/// from the start (start.asm calls tern_guest_runtime_start before
/// tern_guest_main) and acts when the request's event is collected: at
/// the guest's next upcall or event wait. By default the guest shuts down
/// as asked, its console flushed (SDK guests hold nothing else worth
/// saving); a guest with work to finish first sets `handler`, which gets
/// the request (TERN_SHUTDOWN_REQUEST_*) and shuts down when it is ready.
/// A guest that never takes an upcall nor waits for an event never hears
/// it: `tern destroy` stops it.
public enum ShutdownRequest {
    // SAFETY (both): one vCPU; set before tern_guest_main runs, read where
    // events are collected (interrupts off).
    nonisolated(unsafe) static var port: UInt32 = 0
    nonisolated(unsafe) public static var handler: ((UInt32) -> Void)?

    /// Binds TERN_VIRQ_SHUTDOWN (no port: the guest cannot be asked, and
    /// `tern shutdown` says so).
    static func listen() {
        guard StartInfo.current.shared.event_page_gpa != 0 else { return }
        port = (try? Events.bindVirq(TERN_VIRQ_SHUTDOWN)) ?? 0
    }

    /// After events were collected: a request that arrived is acted on.
    static func actIfAsked() {
        guard port != 0, let place = Events.place(port), Events.arrived[place.word] & place.bit != 0 else { return }
        Events.arrived[place.word] &= ~place.bit
        let request = current
        guard request != UInt32(TERN_SHUTDOWN_REQUEST_NONE) else { return }
        if let handler {
            handler(request)
            return
        }
        Tern.shutdown(request == UInt32(TERN_SHUTDOWN_REQUEST_REBOOT) ? TERN_SHUTDOWN_REBOOT : TERN_SHUTDOWN_POWEROFF)
    }

    /// What the toolstack asks of this domain now (TERN_SHUTDOWN_REQUEST_*).
    public static var current: UInt32 {
        var info = tern_domain_info()
        let status = withUnsafeMutablePointer(to: &info) {
            Tern.hypercall(TERN_HC_DOMAIN_INFO, UInt64(TERN_DOMID_SELF), UInt64(UInt(bitPattern: $0)))
        }
        return status == 0 ? info.shutdown_request : UInt32(TERN_SHUTDOWN_REQUEST_NONE)
    }
}

/// The runtime's own start, before tern_guest_main (start.asm).
@_cdecl("tern_guest_runtime_start")
func ternGuestRuntimeStart() {
    ShutdownRequest.listen()
}
