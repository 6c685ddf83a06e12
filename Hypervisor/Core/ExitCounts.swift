/// How often a domain's vCPUs left guest mode, by what Tern did about it:
/// the figures behind a slow guest (`dN name: exits: ...`, logged with its
/// timing when it is destroyed; docs/results.md). Under QEMU's TCG every
/// #VMEXIT costs tens of microseconds, so their number is most of what a
/// guest pays for running under Tern.
public struct ExitCounts {
    public enum Reason: Int, CaseIterable {
        case hypercall        // VMMCALL
        case halt             // HLT
        case cpuid
        case msr
        case serialPort       // its 16550 (ports 0x3f8-0x3ff)
        case interruptController  // its 8259 pair
        case cmosClock        // ports 0x70/0x71
        case pit              // its 8254's counter 2 and port 0x61
        case refusedPort      // any other port: all ones, writes ignored
        case localAPIC        // its virtual LAPIC page
        case nestedFault      // any other nested page fault
        case hostInterrupt    // the host's interrupt (timer, devices) came
        case other

        /// The word in the log line.
        public var word: StaticString {
            switch self {
            case .hypercall: return "hypercall"
            case .halt: return "hlt"
            case .cpuid: return "cpuid"
            case .msr: return "msr"
            case .serialPort: return "uart"
            case .interruptController: return "pic"
            case .cmosClock: return "cmos"
            case .pit: return "pit"
            case .refusedPort: return "port"
            case .localAPIC: return "lapic"
            case .nestedFault: return "npf"
            case .hostInterrupt: return "intr"
            case .other: return "other"
            }
        }
    }

    public static let reasonCount = Reason.other.rawValue + 1
    private var counts = [UInt64](repeating: 0, count: ExitCounts.reasonCount)

    public init() {}

    public mutating func count(_ reason: Reason) { counts[reason.rawValue] &+= 1 }

    public subscript(reason: Reason) -> UInt64 { counts[reason.rawValue] }

    public var total: UInt64 { counts.reduce(0, &+) }

    /// The reasons that occurred, most frequent first (ties in declaration
    /// order): what the log line lists.
    public var ranked: [(reason: Reason, count: UInt64)] {
        var seen: [(reason: Reason, count: UInt64)] = []
        for reason in Reason.allCases where counts[reason.rawValue] != 0 {
            let count = counts[reason.rawValue]
            var at = seen.count
            while at > 0 && seen[at - 1].count < count { at -= 1 }
            seen.insert((reason, count), at: at)
        }
        return seen
    }

    /// "TOTAL (word N, word N, ...)": the `top` most frequent reasons, then
    /// "others N" for the rest; fits a log line.
    public func summary(top: Int = 6) -> [UInt8] {
        var text: [UInt8] = []
        ExitCounts.appendDecimal(total, to: &text)
        let reasons = ranked
        guard !reasons.isEmpty else { return text }
        text.append(UInt8(ascii: " "))
        text.append(UInt8(ascii: "("))
        var rest: UInt64 = 0
        for (index, entry) in reasons.enumerated() {
            guard index < top else {
                rest &+= entry.count
                continue
            }
            if index > 0 {
                text.append(UInt8(ascii: ","))
                text.append(UInt8(ascii: " "))
            }
            entry.reason.word.withUTF8Buffer { text.append(contentsOf: $0) }
            text.append(UInt8(ascii: " "))
            ExitCounts.appendDecimal(entry.count, to: &text)
        }
        if rest != 0 {
            let others: StaticString = ", others "
            others.withUTF8Buffer { text.append(contentsOf: $0) }
            ExitCounts.appendDecimal(rest, to: &text)
        }
        text.append(UInt8(ascii: ")"))
        return text
    }

    static func appendDecimal(_ value: UInt64, to text: inout [UInt8]) {
        var digits: [UInt8] = []
        var n = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n % 10))
            n /= 10
        } while n != 0
        text.append(contentsOf: digits.reversed())
    }
}
