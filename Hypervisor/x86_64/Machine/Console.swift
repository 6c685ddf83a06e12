import TernCore
import TernABI
import TernCPU

/// Tern's console: what it prints (its log, the DomUs' console lines) goes
/// to the serial port and into the history Dom0 reads with
/// TERN_HC_LOG_READ (`xl dmesg`). Dom0's own console goes to the serial
/// port only (its kernel keeps its own log), byte by byte as it comes, so
/// that a shell prompt or a line being edited shows at once; each of its
/// lines starts with "(d0) ". A Tern line while Dom0 is mid-line first ends
/// Dom0's line; when Dom0 goes on, its line so far is written again after
/// a new prefix, so that every Dom0 line also appears whole (what scripts
/// reading the serial log match).
enum Console {
    static let dom0Prefix: StaticString = "(d0) "
    static let dom0LineLimit = 512

    /// Writes text ("\n" becomes "\r\n" on the wire, "\n" in the history).
    static func write(_ bytes: UnsafeRawBufferPointer) {
        if dom0MidLine {
            Serial.write(byte: UInt8(ascii: "\r"))
            Serial.write(byte: UInt8(ascii: "\n"))
            dom0MidLine = false
            dom0LineCut = true
        }
        Serial.write(bytes)
        history.append(bytes)
        // Dom0's log reader (`tern dmesg -f`) is told there is more.
        if let control = Domains.controlDomain { EventDelivery.raise(virq: TERN_VIRQ_CONSOLE, in: control) }
    }

    /// A byte Dom0 wrote to its console (the virtual UART). Passed through
    /// as is (Dom0 is trusted with the terminal: line editing needs
    /// backspace and escape sequences), except that lines get the prefix
    /// and carriage returns are dropped (a "\r" would put the cursor back
    /// over the prefix; "\n" is sent as "\r\n").
    static func dom0Output(_ byte: UInt8) {
        if byte == UInt8(ascii: "\r") { return }
        if !dom0MidLine {
            // SAFETY: a StaticString's bytes live in the image for its lifetime.
            Serial.write(UnsafeRawBufferPointer(start: dom0Prefix.utf8Start, count: dom0Prefix.utf8CodeUnitCount))
            dom0MidLine = true
            if dom0LineCut { dom0Line.withUnsafeBytes { Serial.write($0) } }
            dom0LineCut = false
        }
        if byte == UInt8(ascii: "\n") {
            Serial.write(byte: UInt8(ascii: "\r"))
            dom0MidLine = false
            dom0Line.removeAll(keepingCapacity: true)
        } else if dom0Line.count < dom0LineLimit {
            dom0Line.append(byte)
        }
        Serial.write(byte: byte)
    }

    /// The log sink (Core/Log.swift).
    static let logSink: LogSink = { pointer, count in
        guard let pointer, count > 0 else { return }
        // SAFETY: Log passes a pointer and length from a live buffer.
        Console.write(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
