import TernABI

/// Why a domain stopped (tern_domain_info.stop_reason, TERN_STOP_*): what
/// `tern list -l` shows and what the toolstack's on_poweroff, on_reboot and
/// on_crash act on.
public enum StopReason: UInt32, Equatable {
    case none = 0
    case poweroff = 1
    case reboot = 2
    case crash = 3
    case tripleFault = 4
    case badAccess = 5
    case badState = 6
    case badExit = 7

    /// TERN_HC_SHUTDOWN's reason (TERN_SHUTDOWN_*); an unknown code is a crash.
    public init(shutdownCode: UInt64) {
        switch shutdownCode {
        case UInt64(TERN_SHUTDOWN_POWEROFF): self = .poweroff
        case UInt64(TERN_SHUTDOWN_REBOOT): self = .reboot
        default: self = .crash
        }
    }

    /// As `tern list -l` and the log say it.
    public var name: StaticString {
        switch self {
        case .none: return "running"
        case .poweroff: return "poweroff"
        case .reboot: return "reboot"
        case .crash: return "crash reported by the guest"
        case .tripleFault: return "triple fault"
        case .badAccess: return "access outside its memory"
        case .badState: return "state refused by VMRUN"
        case .badExit: return "unexpected exit"
        }
    }

    /// The state a domain stopped this way is in.
    public var state: DomainState {
        switch self {
        case .none, .poweroff, .reboot: return .shutdown
        case .crash, .tripleFault, .badAccess, .badState, .badExit: return .crashed
        }
    }

    /// The end a creator may ask Tern to keep (KeepWhenStopped).
    public var kind: KeepWhenStopped {
        switch self {
        case .none, .poweroff: return .poweroff
        case .reboot: return .reboot
        case .crash, .tripleFault, .badAccess, .badState, .badExit: return .crash
        }
    }
}

/// Which ends a domain's creator wants kept (TERN_CREATE_KEEP_ON_*): the
/// stopped domain stays, memory and all, until the toolstack destroys it
/// (xl's "preserve", or the toolstack restarting it from its config).
public struct KeepWhenStopped: OptionSet, Equatable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let poweroff = KeepWhenStopped(rawValue: 1 << 0)
    public static let reboot = KeepWhenStopped(rawValue: 1 << 1)
    public static let crash = KeepWhenStopped(rawValue: 1 << 2)

    /// From TERN_CREATE_* flags.
    public init(createFlags flags: UInt32) {
        var keep: KeepWhenStopped = []
        if flags & TERN_CREATE_KEEP_ON_POWEROFF != 0 { keep.insert(.poweroff) }
        if flags & TERN_CREATE_KEEP_ON_REBOOT != 0 { keep.insert(.reboot) }
        if flags & TERN_CREATE_KEEP_ON_CRASH != 0 { keep.insert(.crash) }
        self = keep
    }
}
