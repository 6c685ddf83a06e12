import TernABI

/// What the toolstack tells the user before asking Tern for something
/// about a domain that cannot be: it is not there, or not in a state for it.
extension DomainRow {
    /// `what` (as typed) names no domain.
    public static func notFound(_ what: String) -> String {
        if isID(what) || GuestConfig.isValidName(what) { return "\(what): no such domain" }
        return "\(what): no such domain (an id is digits, a name 1-\(GuestConfig.maxNameLength) of A-Z a-z 0-9 . _ -)"
    }

    /// Why Tern would refuse `operation` (TERN_DOMCTL_*) on this domain in
    /// its state, as Tern's DomainControl decides; nil if it would not.
    /// Pause and unpause by state; the shutdowns and weights of a stopped
    /// domain Tern kept; the rest is Tern's to judge.
    public func refusal(_ operation: Int32) -> String? {
        switch operation {
        case TERN_DOMCTL_SHUTDOWN, TERN_DOMCTL_REQUEST_POWEROFF, TERN_DOMCTL_REQUEST_REBOOT, TERN_DOMCTL_SET_WEIGHT:
            if isKeptStopped { return "has stopped (it is \(stateName); `tern destroy \(name)` ends it)" }
        case TERN_DOMCTL_PAUSE:
            if state == UInt32(TERN_DOMAIN_PAUSED) { return "already paused" }
            if state != UInt32(TERN_DOMAIN_RUNNING) && state != UInt32(TERN_DOMAIN_BLOCKED) { return "cannot be paused (it is \(stateName))" }
        case TERN_DOMCTL_UNPAUSE:
            if state != UInt32(TERN_DOMAIN_PAUSED) && state != UInt32(TERN_DOMAIN_CREATED) { return "is not paused (it is \(stateName))" }
        default:
            break
        }
        return nil
    }

    /// A domain id as typed: decimal digits only ("+3" and "-1" are not).
    static func isID(_ what: String) -> Bool {
        !what.isEmpty && what.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// `tern prepare`'s limits: Tern keeps at most TERN_DOMAINS_MAX shells in
/// all (its DomainPool), each of a guest's memory size.
public enum Shells {
    public static let max = UInt64(TERN_DOMAINS_MAX)

    /// What is wrong with asking for `count` shells of `memoryMiB`, if anything.
    public static func problem(count: UInt64, memoryMiB: UInt64) -> String? {
        guard count <= max else { return "\(count) shells: at most \(max) can be ready (of all sizes together)" }
        guard GuestConfig.isValidMemory(memoryMiB) else {
            return "--memory \(memoryMiB): an even number of MiB from \(GuestConfig.minMemoryMiB) to \(GuestConfig.maxMemoryMiB)"
        }
        return nil
    }
}
