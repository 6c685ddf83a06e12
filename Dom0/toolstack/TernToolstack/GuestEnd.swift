import TernABI

/// How a guest can end, as the config's `on_poweroff`, `on_reboot` and
/// `on_crash` keys name it (xl.cfg's), from Tern's stop reason
/// (tern_domain_info.stop_reason, TERN_STOP_*).
public enum GuestEnd: CaseIterable, Equatable {
    case poweroff, reboot, crash

    /// The end a stop reason is: TERN_STOP_CRASH, the faults and any
    /// reason this toolstack does not know are crashes (as Tern counts them).
    public init(stopReason: UInt32) {
        switch stopReason {
        case UInt32(TERN_STOP_NONE), UInt32(TERN_STOP_POWEROFF): self = .poweroff
        case UInt32(TERN_STOP_REBOOT): self = .reboot
        default: self = .crash
        }
    }

    /// Its config key.
    public var key: String {
        switch self {
        case .poweroff: return "on_poweroff"
        case .reboot: return "on_reboot"
        case .crash: return "on_crash"
        }
    }

    /// The create flag that makes Tern keep a domain that ended this way
    /// (TERN_CREATE_KEEP_ON_*).
    var keepFlag: UInt32 {
        switch self {
        case .poweroff: return TERN_CREATE_KEEP_ON_POWEROFF
        case .reboot: return TERN_CREATE_KEEP_ON_REBOOT
        case .crash: return TERN_CREATE_KEEP_ON_CRASH
        }
    }

    /// "when it ..." for the help.
    var when: String {
        switch self {
        case .poweroff: return "powers off"
        case .reboot: return "reboots"
        case .crash: return "crashes"
        }
    }
}

/// What the toolstack does with a guest that ended (xl.cfg's meanings):
/// `destroy` it (Tern does at once: its memory returns), `restart` it
/// from the config it was created with (`tern logd` does, docs/toolstack.md
/// "Life cycle"), or `preserve` it, stopped, until `tern destroy`.
public enum EndAction: String, CaseIterable, Equatable {
    case destroy, restart, preserve

    /// Tern must keep the stopped domain (for the toolstack to restart it,
    /// or for people to look at it).
    public var keepsDomain: Bool { self != .destroy }

    /// "destroy, restart or preserve".
    static var choices: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

extension GuestConfig {
    /// What this guest's config says to do when it ends `end`.
    public func action(_ end: GuestEnd) -> EndAction {
        switch end {
        case .poweroff: return onPoweroff
        case .reboot: return onReboot
        case .crash: return onCrash
        }
    }

    mutating func setAction(_ action: EndAction, for end: GuestEnd) {
        switch end {
        case .poweroff: onPoweroff = action
        case .reboot: onReboot = action
        case .crash: onCrash = action
        }
    }

    /// TERN_CREATE_KEEP_ON_* for every end whose action needs the domain kept.
    public var keepFlags: UInt32 {
        GuestEnd.allCases.reduce(0) { flags, end in action(end).keepsDomain ? flags | end.keepFlag : flags }
    }
}
