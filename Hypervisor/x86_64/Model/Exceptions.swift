/// Names of the architectural exception vectors (AMD APM vol. 2, 8.2).
public enum Exceptions {
    public static let doubleFault = 8
    public static let pageFault = 14
    public static let nmi = 2
    public static let machineCheck = 18

    public static func mnemonic(_ vector: Int) -> StaticString {
        switch vector {
        case 0: return "#DE"
        case 1: return "#DB"
        case 2: return "NMI"
        case 3: return "#BP"
        case 4: return "#OF"
        case 5: return "#BR"
        case 6: return "#UD"
        case 7: return "#NM"
        case 8: return "#DF"
        case 10: return "#TS"
        case 11: return "#NP"
        case 12: return "#SS"
        case 13: return "#GP"
        case 14: return "#PF"
        case 16: return "#MF"
        case 17: return "#AC"
        case 18: return "#MC"
        case 19: return "#XF"
        case 21: return "#CP"
        case 28: return "#HV"
        case 29: return "#VC"
        case 30: return "#SX"
        default: return "#??"
        }
    }

    public static func name(_ vector: Int) -> StaticString {
        switch vector {
        case 0: return "Divide-by-zero error"
        case 1: return "Debug"
        case 2: return "Non-maskable interrupt"
        case 3: return "Breakpoint"
        case 4: return "Overflow"
        case 5: return "Bound range"
        case 6: return "Invalid opcode"
        case 7: return "Device not available"
        case 8: return "Double fault"
        case 10: return "Invalid TSS"
        case 11: return "Segment not present"
        case 12: return "Stack fault"
        case 13: return "General protection fault"
        case 14: return "Page fault"
        case 16: return "x87 floating-point exception"
        case 17: return "Alignment check"
        case 18: return "Machine check"
        case 19: return "SIMD floating-point exception"
        case 21: return "Control protection"
        case 28: return "Hypervisor injection"
        case 29: return "VMM communication"
        case 30: return "Security exception"
        default: return "Reserved exception"
        }
    }

    /// Page-fault error code bits (APM vol. 2, 8.4.2).
    public struct PageFaultCode: OptionSet {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let present = PageFaultCode(rawValue: 1 << 0)
        public static let write = PageFaultCode(rawValue: 1 << 1)
        public static let user = PageFaultCode(rawValue: 1 << 2)
        public static let reservedBit = PageFaultCode(rawValue: 1 << 3)
        public static let instructionFetch = PageFaultCode(rawValue: 1 << 4)
    }
}
