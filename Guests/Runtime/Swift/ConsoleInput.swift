import TernGuestC

/// What is typed into this guest's console (`tern console` in Dom0; Tern
/// puts it in the console device's `in` ring and notifies the device's
/// port, tern/device.h).
public enum ConsoleInput {
    /// Bytes read from the ring and not yet returned as a line.
    // SAFETY: one vCPU; only readLine, in the guest's main flow, touches it
    // (the SDK's upcall entry does not).
    nonisolated(unsafe) static var pending: [UInt8] = []
    static let chunk = 256

    /// The next line typed, without its "\n"; waits for it. nil when this
    /// guest has no console device.
    public static func readLine() -> [UInt8]? {
        let port = tern_guest_console_port()
        guard port != 0 else { return nil }
        while true {
            if let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<end])
                pending.removeFirst(end + 1)
                return line
            }
            var buffer = [UInt8](repeating: 0, count: chunk)
            let n = buffer.withUnsafeMutableBufferPointer { tern_guest_console_read($0.baseAddress, chunk) }
            if n > 0 {
                pending += buffer[..<n]
                continue
            }
            // Empty: wait for Tern's notification (an input arriving after
            // the read above left the port pending, so none is missed).
            Events.wait(for: port)
        }
    }
}
