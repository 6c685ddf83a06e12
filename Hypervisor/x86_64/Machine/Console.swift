import TernCore
import TernABI
import TernCPU

/// Tern's console: what it prints (its log, the DomUs' console lines) goes
/// to the serial port and into the history Dom0 reads with
/// TERN_HC_LOG_READ (`xl dmesg`). What a domain writes to its virtual UART
/// (Dom0's console) goes to the serial port only (its kernel keeps its own
/// log), byte by byte as it comes, so that a shell prompt or a line being
/// edited shows at once; each of its lines starts with "(dN) ". Another
/// line while one is unfinished first ends it on the wire; when its domain
/// goes on, its line so far is written again after a new prefix, so that
/// every line also appears whole (what scripts reading the serial log
/// match).
enum Console {
    /// Writes text ("\n" becomes "\r\n" on the wire, "\n" in the
    /// history); to the history only if not `toSerial`.
    static func write(_ bytes: UnsafeRawBufferPointer, toSerial: Bool = true) {
        if toSerial {
            cutUARTLine()
            Serial.write(bytes)
        }
        history.append(bytes)
        // Dom0's log reader (`tern dmesg -f`) is told there is more.
        if let control = Domains.controlDomain { EventDelivery.raise(virq: TERN_VIRQ_CONSOLE, in: control) }
    }

    /// A byte a domain wrote to its UART. Passed through as is (the
    /// domain given a UART is trusted with the terminal: line editing needs
    /// backspace and escape sequences), except that lines get the prefix
    /// and carriage returns are dropped (a "\r" would put the cursor back
    /// over the prefix; "\n" is sent as "\r\n").
    static func uartOutput(_ byte: UInt8, from domain: Domain) {
        if byte == UInt8(ascii: "\r") { return }
        // A guest created without TERN_CREATE_CONSOLE_TO_SERIAL: its lines
        // go only into Tern's log, as its PV console's would.
        if !domain.consoleToSerial && !domain.emulation.contains(.hardware) {
            if byte == UInt8(ascii: "\n") {
                domain.context.uartLine.withUnsafeBytes { GuestHypercallHost.logLine(from: domain, $0, toSerial: false) }
                domain.context.uartLine.removeAll(keepingCapacity: true)
            } else if domain.context.uartLine.count < DomainContext.uartLineLimit {
                domain.context.uartLine.append(byte)
            }
            return
        }
        if uartLineOwner != domain.id {
            cutUARTLine()
            writePrefix(domain.id)
            uartLineOwner = domain.id
            if domain.context.uartLineCut { domain.context.uartLine.withUnsafeBytes { Serial.write($0) } }
            domain.context.uartLineCut = false
        }
        if byte == UInt8(ascii: "\n") {
            Serial.write(byte: UInt8(ascii: "\r"))
            uartLineOwner = nil
            // A guest's UART is its console: its lines go into Tern's log
            // too (tern console, tern dmesg, logd), as its PV console's do.
            // The hardware owner's (Dom0's) is the terminal itself.
            if !domain.emulation.contains(.hardware) {
                domain.context.uartLine.withUnsafeBytes { GuestHypercallHost.logLine(from: domain, $0, toSerial: false) }
            }
            domain.context.uartLine.removeAll(keepingCapacity: true)
        } else if domain.context.uartLine.count < DomainContext.uartLineLimit {
            domain.context.uartLine.append(byte)
        }
        Serial.write(byte: byte)
    }

    /// Ends the unfinished UART line on the wire; its domain writes it
    /// again, whole, when it goes on.
    static func cutUARTLine() {
        guard let owner = uartLineOwner else { return }
        Serial.write(byte: UInt8(ascii: "\r"))
        Serial.write(byte: UInt8(ascii: "\n"))
        uartLineOwner = nil
        Domains.domain(owner)?.context.uartLineCut = true
    }

    /// "(dN) " for domain `id`, with no allocation (any log path may call it).
    static func writePrefix(_ id: UInt16) {
        Serial.write(byte: UInt8(ascii: "("))
        Serial.write(byte: UInt8(ascii: "d"))
        var divisor: UInt16 = 1
        while id / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            Serial.write(byte: UInt8(ascii: "0") + UInt8(id / divisor % 10))
            divisor /= 10
        }
        Serial.write(byte: UInt8(ascii: ")"))
        Serial.write(byte: UInt8(ascii: " "))
    }

    /// The log sink (Core/Log.swift).
    static let logSink: LogSink = { pointer, count in
        guard let pointer, count > 0 else { return }
        // SAFETY: Log passes a pointer and length from a live buffer.
        Console.write(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
