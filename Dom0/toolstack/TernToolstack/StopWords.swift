import TernABI

/// Tern's stop reasons and shutdown requests in words: the TERN_STOP_* and
/// TERN_SHUTDOWN_REQUEST_* names in lower case (`tern list -l`, `tern
/// info NAME`, `--json`, logd's lines), and what each means.
public enum StopWords {
    static let reasons: [(code: Int32, name: String, meaning: String)] = [
        (TERN_STOP_NONE, "none", "it has not stopped"),
        (TERN_STOP_POWEROFF, "poweroff", "it powered off, or was shut down by the toolstack"),
        (TERN_STOP_REBOOT, "reboot", "it asked to be rebooted"),
        (TERN_STOP_CRASH, "crash", "it reported a crash"),
        (TERN_STOP_TRIPLE_FAULT, "triple_fault", "a triple fault"),
        (TERN_STOP_BAD_ACCESS, "bad_access", "it touched memory outside its own"),
        (TERN_STOP_BAD_STATE, "bad_state", "VMRUN refused its state"),
        (TERN_STOP_BAD_EXIT, "bad_exit", "an exit Tern does not handle"),
    ]

    static let requests: [(code: Int32, name: String)] = [
        (TERN_SHUTDOWN_REQUEST_NONE, "none"),
        (TERN_SHUTDOWN_REQUEST_POWEROFF, "poweroff"),
        (TERN_SHUTDOWN_REQUEST_REBOOT, "reboot"),
    ]

    /// "bad_access"; "reason 9" for one this toolstack does not know.
    public static func reason(_ code: UInt32) -> String {
        reasons.first { UInt32($0.code) == code }?.name ?? "reason \(code)"
    }

    /// "it touched memory outside its own".
    public static func meaning(_ code: UInt32) -> String {
        reasons.first { UInt32($0.code) == code }?.meaning ?? "a reason this toolstack does not know"
    }

    /// "poweroff"; "request 9" for one this toolstack does not know.
    public static func request(_ code: UInt32) -> String {
        requests.first { UInt32($0.code) == code }?.name ?? "request \(code)"
    }
}
