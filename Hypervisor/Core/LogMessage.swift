/// A log line built by string interpolation into a fixed inline buffer,
/// so logging never allocates (Embedded Swift's String would).
///
///     log.info("free frames: \(count), first at \(hex: address)")
///
/// Lines longer than `LogMessage.capacity` bytes are cut and end in "...".
public struct LogMessage: ExpressibleByStringInterpolation {
    public static let capacity = 192
    var bytes = InlineArray<192, UInt8>(repeating: 0)
    var count = 0
    var truncated = false

    public init(stringLiteral value: StaticString) {
        append(value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self = stringInterpolation.message
    }

    mutating func append(byte: UInt8) {
        guard count < LogMessage.capacity else {
            truncated = true
            return
        }
        bytes[count] = byte
        count += 1
    }

    mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { buffer in
            for byte in buffer { append(byte: byte) }
        }
    }

    mutating func append(bytes source: UnsafeRawBufferPointer) {
        for byte in source { append(byte: byte) }
    }

    mutating func appendUnsigned(_ value: UInt64, radix: UInt64, minDigits: Int = 1) {
        var digits = InlineArray<64, UInt8>(repeating: 0)
        var n = value
        var used = 0
        repeat {
            let digit = UInt8(truncatingIfNeeded: n % radix)
            digits[used] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
            used += 1
            n /= radix
        } while n != 0
        while used < minDigits && used < 64 {
            digits[used] = UInt8(ascii: "0")
            used += 1
        }
        while used > 0 {
            used -= 1
            append(byte: digits[used])
        }
    }

    /// The text, with "..." in place of what did not fit.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = bytes
        var length = count
        if truncated {
            for i in (LogMessage.capacity - 3)..<LogMessage.capacity { copy[i] = UInt8(ascii: ".") }
            length = LogMessage.capacity
        }
        return withUnsafeBytes(of: &copy) { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
        }
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var message = LogMessage(empty: ())

        public init(literalCapacity: Int, interpolationCount: Int) {}

        public mutating func appendLiteral(_ literal: StaticString) {
            message.append(literal)
        }
        public mutating func appendInterpolation(_ text: StaticString) {
            message.append(text)
        }
        public mutating func appendInterpolation<T: BinaryInteger>(_ value: T) {
            if value < 0 { message.append(byte: UInt8(ascii: "-")) }
            message.appendUnsigned(UInt64(truncatingIfNeeded: value.magnitude), radix: 10)
        }
        /// `\(hex: x)` prints 0x-prefixed hex; `digits` pads with zeros.
        public mutating func appendInterpolation<T: BinaryInteger>(hex value: T, digits: Int = 1) {
            message.append("0x")
            message.appendUnsigned(UInt64(truncatingIfNeeded: value), radix: 16, minDigits: digits)
        }
        /// Another message, inlined (for fatal and error wrappers).
        public mutating func appendInterpolation(_ other: LogMessage) {
            other.withBytes { message.append(bytes: $0) }
        }
        /// `\(bytes: b)` prints a size as KiB/MiB/GiB (rounded down) or bytes.
        public mutating func appendInterpolation(bytes value: UInt64) {
            if value >= 1 << 30 && value % (1 << 30) == 0 {
                message.appendUnsigned(value >> 30, radix: 10); message.append(" GiB")
            } else if value >= 1 << 20 {
                message.appendUnsigned(value >> 20, radix: 10); message.append(" MiB")
            } else if value >= 1 << 10 {
                message.appendUnsigned(value >> 10, radix: 10); message.append(" KiB")
            } else {
                message.appendUnsigned(value, radix: 10); message.append(" B")
            }
        }
        /// Raw text bytes (a command line, a module name), non-printables as '?'.
        public mutating func appendInterpolation(text: UnsafeRawBufferPointer) {
            for byte in text {
                message.append(byte: (byte >= 0x20 && byte < 0x7F) ? byte : UInt8(ascii: "?"))
            }
        }
        /// `\(name, width: n)` left-aligns a literal in `width` columns.
        public mutating func appendInterpolation(_ text: StaticString, width: Int) {
            message.append(text)
            for _ in 0..<max(0, width - text.utf8CodeUnitCount) { message.append(byte: UInt8(ascii: " ")) }
        }
        /// `\(x, width: n)` right-aligns a decimal in `width` columns.
        public mutating func appendInterpolation(_ value: UInt64, width: Int) {
            var digits = 1
            var n = value / 10
            while n != 0 { digits += 1; n /= 10 }
            for _ in 0..<max(0, width - digits) { message.append(byte: UInt8(ascii: " ")) }
            message.appendUnsigned(value, radix: 10)
        }
    }

    init(empty: ()) {}
}
