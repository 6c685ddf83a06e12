/// What ping and its backend do over the channel (ping's `mode=`, passed
/// to the backend in the setup words).
enum PingMode: UInt32 {
    /// `count` request/response pairs on the ring, each answer checked.
    case messages = 1
    /// Event-channel round trips: a send answered by a send.
    case evtchn
    /// 4 KiB payloads in pages granted once, which the backend maps once.
    case map
    /// The same payloads, which the backend copies with TERN_HC_GRANT_COPY.
    case copy
    /// A frontend a hostile backend attacks (Guests/hostile).
    case victim

    static let all: [PingMode] = [.messages, .evtchn, .map, .copy, .victim]

    var name: String {
        switch self {
        case .messages: "messages"
        case .evtchn: "evtchn"
        case .map: "map"
        case .copy: "copy"
        case .victim: "victim"
        }
    }

    /// The mode `mode=` names; messages when there is no `mode=`.
    init?(option: [UInt8]?) {
        guard let option else {
            self = .messages
            return
        }
        for mode in PingMode.all where Array(mode.name.utf8) == option {
            self = mode
            return
        }
        return nil
    }
}
