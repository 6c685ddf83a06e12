/// The channel demo's messages on the ring (Guests/ping is the frontend,
/// Guests/pong the backend): 16 bytes each, so 128 slots in a ring page.
/// In mode=messages a request carries PingPong.value(of: sequence) and
/// the response the backend's running sum of the values; in map and copy
/// modes `value` is the payload page and `sum` the payload's checksum.
struct PingRequest {
    var sequence: UInt64
    var value: UInt64
}

struct PingResponse {
    var sequence: UInt64
    var sum: UInt64
}

enum PingPong {
    /// Knuth's multiplicative hash constant: spreads each sequence number
    /// over the word, so a lost, repeated or reordered message changes the sum.
    static let valueMultiplier: UInt64 = 2_654_435_761

    static func value(of sequence: UInt64) -> UInt64 { sequence &* valueMultiplier }
}
