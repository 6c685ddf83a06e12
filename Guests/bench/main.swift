import TernGuestC

/// `mode=hypercalls` (default): null-hypercall round trips (TERN_HC_VERSION)
/// timed with the TSC. `mode=loop`: VMMCALL forever, for Tern's
/// bench=exits empty-exit loop. `mode=ring`: the I/O ring library
/// (TernRing) in one guest, frontend and backend on one page of its own
/// memory: 100,000 request/response pairs with a checksum, timed.
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    if info.option("mode") == Array("loop".utf8) {
        while true { _ = tern_hypercall(UInt64(TERN_HC_VERSION), 0, 0, 0, 0, 0) }
    }
    if info.option("mode") == Array("ring".utf8) { return ringSelfTest() }
    let calls: UInt64 = 20_000
    let hz = Tern.timeInfo().tsc_hz
    let start = tern_guest_rdtsc()
    for _ in 0..<calls { _ = tern_hypercall(UInt64(TERN_HC_VERSION), 0, 0, 0, 0, 0) }
    let cycles = tern_guest_rdtsc() - start
    let ns = cycles / hz * 1_000_000_000 + cycles % hz * 1_000_000_000 / hz
    print("bench: \(calls) null hypercalls in \(ns / 1000) us: \(calls * 1_000_000_000 / max(ns, 1)) per second, \(ns / calls) ns each")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}

struct RingRequest { var sequence: UInt64; var value: UInt64 }
struct RingResponse { var sequence: UInt64; var sum: UInt64 }

/// Both ends of one ring in this guest: pushes batches of requests, the
/// backend answers each with a running sum, the frontend checks every
/// answer. A ring bug shows as a wrong sequence, a wrong sum or an error.
func ringSelfTest() -> Int64 {
    let pageSize = 4096
    let page = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: pageSize)
    defer { page.deallocate() }
    guard var front = FrontRing<RingRequest, RingResponse>(initializing: page, pageSize: pageSize),
          var back = BackRing<RingRequest, RingResponse>(attaching: page, pageSize: pageSize) else {
        print("ring: cannot lay out the ring")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    let total: UInt64 = 100_000
    var sent: UInt64 = 0, answered: UInt64 = 0, backSum: UInt64 = 0, frontSum: UInt64 = 0, notifications: UInt64 = 0
    let hz = Tern.timeInfo().tsc_hz
    let start = tern_guest_rdtsc()
    do throws(RingError) {
        while answered < total {
            while sent < total && front.freeSlots > 0 {
                try front.push(RingRequest(sequence: sent, value: sent &* 2654435761))
                sent += 1
            }
            if front.publish() { notifications += 1 }
            while let request = try back.takeRequest() {
                backSum &+= request.value
                try back.push(RingResponse(sequence: request.sequence, sum: backSum))
            }
            _ = try back.finalCheckForRequests()
            _ = back.publish()
            while let response = try front.takeResponse() {
                frontSum &+= answered &* 2654435761
                guard response.sequence == answered, response.sum == frontSum else {
                    print("ring: response \(answered) wrong: sequence \(response.sequence), sum \(response.sum) (expected \(frontSum))")
                    return Int64(TERN_SHUTDOWN_CRASH)
                }
                answered += 1
            }
        }
    } catch {
        print("ring: error after \(answered) responses")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    let cycles = tern_guest_rdtsc() - start
    let ns = cycles / hz * 1_000_000_000 + cycles % hz * 1_000_000_000 / hz
    print("ring: \(answered) requests and responses, \(front.layout.entries) slots, checksum \(frontSum), \(notifications) notifications, \(answered * 1_000_000_000 / max(ns, 1)) round trips per second")
    return Int64(TERN_SHUTDOWN_POWEROFF)
}
