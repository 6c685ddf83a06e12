/// What `tern logd`'s life-cycle hook does with a stopped domain Tern
/// kept (docs/toolstack.md, "Life cycle"): what its saved config says for
/// that end (on_poweroff, on_reboot, on_crash), unless the guest has been
/// restarted too often lately (a crash loop): then it is left stopped.
public enum RestartDecision: Equatable {
    case nothing                      // not a kept stopped domain
    case preserve(GuestEnd)           // left as it is, until `tern destroy`
    case destroy(GuestEnd)            // its config says destroy (Tern kept it all the same)
    case restart(GuestEnd)
    case tooManyRestarts(GuestEnd)    // restart, but RestartHistory.limit were done within its window
    case noSavedConfig(String)        // why: left as it is

    /// The decision for `row` with its saved config (or why there is none)
    /// and how often its name was restarted within the window.
    public static func decide(_ row: DomainRow, saved: Result<GuestConfig, SavedConfigProblem>, recentRestarts: Int) -> RestartDecision {
        guard row.isKeptStopped, !row.privileged else { return .nothing }
        let config: GuestConfig
        switch saved {
        case .success(let c): config = c
        case .failure(let problem): return .noSavedConfig(problem.message)
        }
        let end = GuestEnd(stopReason: row.stopReason)
        switch config.action(end) {
        case .preserve: return .preserve(end)
        case .destroy: return .destroy(end)
        case .restart: return recentRestarts >= RestartHistory.limit ? .tooManyRestarts(end) : .restart(end)
        }
    }

    /// How the hook's action went.
    public enum Outcome: Equatable {
        case done
        case restarted(UInt32)   // the new domain's id
        case failed(String)
    }

    /// logd's one line about it: "d3 web: crashed (bad_access), on_crash=restart: restarted as d3".
    public func line(_ row: DomainRow, _ outcome: Outcome) -> String? {
        let stopped = "d\(row.id) \(row.name): \(row.stateName) (\(StopWords.reason(row.stopReason)))"
        let destroyHint = "`tern destroy \(row.name)` ends it"
        func head(_ end: GuestEnd, _ action: EndAction) -> String { "\(stopped), \(end.key)=\(action.rawValue)" }
        switch (self, outcome) {
        case (.nothing, _):
            return nil
        case (.preserve(let end), _):
            return "\(head(end, .preserve)): left \(row.stateName) (\(destroyHint))"
        case (.destroy(let end), .failed(let why)):
            return "\(head(end, .destroy)): could not destroy it: \(why)"
        case (.restart(let end), .failed(let why)):
            return "\(head(end, .restart)): could not restart it: \(why)"
        case (.destroy(let end), _):
            return "\(head(end, .destroy)): destroyed"
        case (.restart(let end), .restarted(let id)):
            return "\(head(end, .restart)): restarted as d\(id)"
        case (.restart(let end), .done):
            return "\(head(end, .restart)): restarted"
        case (.tooManyRestarts(let end), _):
            return "\(head(end, .restart)): restarted \(RestartHistory.limit) times in \(RestartHistory.windowSeconds) s already, "
                + "so left \(row.stateName) (\(destroyHint))"
        case (.noSavedConfig(let why), _):
            return "\(stopped): no saved config to act on (\(why)), so left \(row.stateName) (\(destroyHint))"
        }
    }
}

/// Why a saved config cannot be used.
public struct SavedConfigProblem: Error, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Restarts per guest name, for the crash-loop guard: at most `limit`
/// within `windowSeconds`.
public struct RestartHistory {
    public static let limit = 5
    public static let windowSeconds: UInt64 = 60
    static let windowMicroseconds = windowSeconds * 1_000_000
    var times: [String: [UInt64]] = [:]

    public init() {}

    /// Restarts of `name` within the window before `now` (microseconds).
    public func count(_ name: String, now: UInt64) -> Int {
        (times[name] ?? []).filter { $0 + RestartHistory.windowMicroseconds > now }.count
    }

    /// `name` was restarted at `now`; restarts older than the window are forgotten.
    public mutating func record(_ name: String, now: UInt64) {
        times[name] = (times[name] ?? []).filter { $0 + RestartHistory.windowMicroseconds > now } + [now]
    }
}
