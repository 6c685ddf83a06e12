/// Where log lines go: the serial console on bare metal, a capture buffer in
/// host tests. A C function pointer so that it needs no heap context.
public typealias LogSink = @convention(c) (UnsafeRawPointer?, Int) -> Void

/// Tern's log: `(tern) `-prefixed lines, filtered by `loglvl=`.
public enum Log {
    public static let prefix: StaticString = "(tern) "

    // SAFETY (both): set once early in boot (tern_main), before interrupts
    // are ever on, then only read; host tests set them from one thread.
    nonisolated(unsafe) public static var threshold: LogLevel = .info
    nonisolated(unsafe) public static var sink: LogSink?

    public static func error(_ message: LogMessage) { write(.error, message) }
    public static func warning(_ message: LogMessage) { write(.warning, message) }
    public static func info(_ message: LogMessage) { write(.info, message) }
    public static func debug(_ message: LogMessage) { write(.debug, message) }

    /// A line printed whatever the threshold, with the prefix only: for
    /// panic reports, which must always reach the console.
    public static func always(_ message: LogMessage) {
        guard let sink else { return }
        emit(sink, prefix)
        message.withBytes { sink($0.baseAddress, $0.count) }
        emit(sink, "\n")
    }

    public static func isEnabled(_ level: LogLevel) -> Bool { level <= threshold }

    public static func write(_ level: LogLevel, _ message: LogMessage) {
        guard isEnabled(level), let sink else { return }
        emit(sink, prefix)
        emit(sink, level.tag)
        message.withBytes { sink($0.baseAddress, $0.count) }
        emit(sink, "\n")
    }

    private static func emit(_ sink: LogSink, _ text: StaticString) {
        // SAFETY: a StaticString's bytes live in the image for its lifetime.
        sink(UnsafeRawPointer(text.utf8Start), text.utf8CodeUnitCount)
    }
}
