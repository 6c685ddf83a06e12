import TernCore

/// Who gets what is typed on the serial console: Dom0 (when it exists) or
/// Tern. Ctrl-A three times in a row switches, as in Xen. (Under QEMU's
/// `-serial mon:stdio`, Ctrl-A is QEMU's own escape: type Ctrl-A Ctrl-A to
/// send one Ctrl-A, so six presses in all.) Polled at each timer tick.
enum ConsoleInput {
    static let switchByte: UInt8 = 0x01      // Ctrl-A
    static let switchPresses = 3

    /// Reads only while Dom0's receive FIFO has room: what is not read yet
    /// waits in the UART (and in whatever feeds it), so typing ahead or
    /// pasting loses nothing.
    static func poll() {
        while !(toDom0 && target.map { !SerialPortEmulation.canReceive($0) } ?? false), let byte = Serial.readByte() {
            if byte == switchByte {
                presses += 1
                if presses == switchPresses {
                    presses = 0
                    toDom0.toggle()
                    let who: StaticString = toDom0 ? "Dom0" : "Tern"
                    Log.info("console input now goes to \(who) (Ctrl-A three times switches)")
                }
                continue
            }
            // Fewer than three Ctrl-A: they were meant for the target.
            for _ in 0..<presses { deliver(switchByte) }
            presses = 0
            deliver(byte)
        }
    }

    /// Dom0, if it has a UART and runs: the domain that owns the
    /// hardware owns the terminal too.
    static var target: Domain? {
        guard let dom0 = Domains.deviceOwner, dom0.emulation.contains(.serialPort), !dom0.state.isStopped else { return nil }
        return dom0
    }

    static func deliver(_ byte: UInt8) {
        guard toDom0, let dom0 = target else { return }
        SerialPortEmulation.input(byte, domain: dom0)
    }
}
