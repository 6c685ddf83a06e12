/// Log levels, most severe first, as set by `loglvl=` on the command line.
public enum LogLevel: UInt8, Comparable, Sendable {
    case error = 0
    case warning = 1
    case info = 2
    case debug = 3

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    /// The short tag printed after the `(tern)` prefix, or nothing for info.
    var tag: StaticString {
        switch self {
        case .error: return "ERROR: "
        case .warning: return "WARNING: "
        case .info: return ""
        case .debug: return "debug: "
        }
    }
}
