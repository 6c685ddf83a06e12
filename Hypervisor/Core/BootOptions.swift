/// Options Tern reads from its command line (`loglvl=info selftest=...`).
/// Tokens are separated by spaces; the first token is skipped when it has
/// no `=` (loaders put the image path there). Unknown or malformed tokens
/// are collected as problems and logged as warnings; they never stop boot.
public struct BootOptions {
    /// Deliberate faults for testing the panic path (boot tests).
    public enum Selftest: Equatable {
        case none
        case pageFault
    }

    public enum ProblemKind: Equatable {
        case unknownOption
        case badValue
    }

    /// A token that was not understood: its place in the command line.
    public struct Problem: Equatable {
        public var kind: ProblemKind
        public var offset: Int
        public var length: Int

        /// How the log names it: "unknown option" or "bad value in".
        public var what: StaticString { kind == .unknownOption ? "unknown option" : "bad value in" }

        /// The offending token in the line it was found in.
        public func token(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: line[offset..<(offset + length)])
        }
    }

    public var logLevel: LogLevel = .info
    public var selftest: Selftest = .none
    /// `bench=exits`: measure an empty VMRUN/#VMEXIT loop on the first
    /// guest before scheduling (make bench).
    public var benchEmptyExits = false
    /// `dom0_mem=`: Dom0's RAM (bytes; K/M/G suffixes), default 512 MiB.
    public var dom0Memory: UInt64 = 512 << 20
    public var problems: [Problem] = []

    public init() {}

    public init(parsing line: UnsafeRawBufferPointer) {
        var first = true
        forEachToken(in: line) { token, offset, _ in
            apply(token: token, offset: offset, isFirst: first)
            first = false
            return true
        }
    }

    private mutating func apply(token: UnsafeRawBufferPointer, offset: Int, isFirst: Bool) {
        guard let equals = token.firstIndex(of: UInt8(ascii: "=")) else {
            if !isFirst { problems.append(Problem(kind: .unknownOption, offset: offset, length: token.count)) }
            return
        }
        let key = UnsafeRawBufferPointer(rebasing: token[0..<equals])
        let value = UnsafeRawBufferPointer(rebasing: token[(equals + 1)...])
        var understood = true
        if key.equals("loglvl") {
            switch true {
            case value.equals("error") || value.equals("err"): logLevel = .error
            case value.equals("warning") || value.equals("warn"): logLevel = .warning
            case value.equals("info"): logLevel = .info
            case value.equals("debug") || value.equals("all"): logLevel = .debug
            default: understood = false
            }
        } else if key.equals("selftest") {
            switch true {
            case value.equals("pagefault"): selftest = .pageFault
            case value.equals("none"): selftest = .none
            default: understood = false
            }
        } else if key.equals("dom0_mem") {
            if let bytes = ModuleOptions.size(value), bytes % 4096 == 0 { dom0Memory = bytes } else { understood = false }
        } else if key.equals("bench") {
            switch true {
            case value.equals("exits"): benchEmptyExits = true
            case value.equals("none"): benchEmptyExits = false
            default: understood = false
            }
        } else {
            problems.append(Problem(kind: .unknownOption, offset: offset, length: token.count))
            return
        }
        if !understood {
            problems.append(Problem(kind: .badValue, offset: offset, length: token.count))
        }
    }
}
