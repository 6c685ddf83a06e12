import TernABI

/// `tern shutdown` and `tern reboot` ask the guest (TERN_DOMCTL_REQUEST_*:
/// TERN_VIRQ_SHUTDOWN in it); with -w they wait until it has stopped.
/// What they say.
public enum ShutdownRequests {
    /// Tern refused to ask `row`: -ENOTCONN is a guest that does not listen.
    public static func refused(_ row: DomainRow, _ failure: ControlDevice.Failure) -> String {
        if case .tern(let code) = failure, code == -Int64(TERN_ENOTCONN) {
            return "d\(row.id) \(row.name): does not listen for shutdown requests (it has not bound TERN_VIRQ_SHUTDOWN); "
                + "`tern destroy \(row.name)` stops it"
        }
        return "d\(row.id) \(row.name): \(failure.description)"
    }

    public enum Progress: Equatable {
        case running
        case stopped(DomainRow?)   // kept by Tern (or dying), or nil: gone
    }

    /// Whether the instance `asked` (its id and creation time) has stopped,
    /// by the domain list `rows`.
    public static func progress(_ asked: DomainRow, in rows: [DomainRow]) -> Progress {
        guard let now = rows.first(where: { $0.id == asked.id && $0.createdNanoseconds == asked.createdNanoseconds }) else { return .stopped(nil) }
        return now.state >= UInt32(TERN_DOMAIN_SHUTDOWN) ? .stopped(now) : .running
    }

    /// -w's line once it stopped: `now` is the stopped domain Tern kept, or nil when it is gone.
    public static func stopped(_ asked: DomainRow, now: DomainRow?) -> String {
        guard let now, now.isKeptStopped else { return "d\(asked.id) \(asked.name): stopped" }
        return "d\(asked.id) \(asked.name): stopped (\(StopWords.reason(now.stopReason))), kept \(now.stateName)"
    }

    /// -w gave up.
    public static func timedOut(_ row: DomainRow, seconds: UInt32) -> String {
        "d\(row.id) \(row.name): still running \(seconds) s after the request (it may not act on it); `tern destroy \(row.name)` stops it now"
    }
}
