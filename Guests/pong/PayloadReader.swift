import TernGuestC

/// mode=map: maps ping's payload pages once (read-only) and answers each
/// request {sequence, page} with the checksum of that page, read in place.
func readPayloadsByMap(_ channel: ChannelBackend, setup: PingSetup) {
    var mappings: [GrantMapping] = []
    for index in 0..<setup.payloadPages {
        do throws(TernError) {
            mappings.append(try GrantWindow.map(setup[payloadRef: index], of: channel.frontend, readOnly: true))
        } catch {
            print("pong: cannot map payload page \(index): error \(error.code)")
            break
        }
    }
    if mappings.count == setup.payloadPages {
        servePayloads(channel, pages: mappings.count, name: "map") { requests, sums in
            for request in requests {
                // ServePayloads checked request.value < pages == mappings.count.
                sums.append(Payload.checksum(mappings[Int(request.value)].address))
            }
            return true
        }
    }
    for mapping in mappings { GrantWindow.unmap(mapping) }
}

/// mode=copy: answers each request {sequence, page} with the checksum of
/// that page, copied into a buffer of its own with TERN_HC_GRANT_COPY: the
/// requests waiting are copied together (GrantCopy batches them,
/// TERN_GRANT_COPY_MAX per hypercall).
func readPayloadsByCopy(_ channel: ChannelBackend, setup: PingSetup) {
    let pages = setup.payloadPages
    guard pages > 0 else {
        print("pong: no payload pages")
        return
    }
    var refs: [UInt32] = []
    for index in 0..<pages { refs.append(setup[payloadRef: index]) }
    let buffers = Page.allocate(count: pages)
    let ops = UnsafeMutableBufferPointer<tern_grant_copy>.allocate(capacity: pages)
    servePayloads(channel, pages: pages, name: "copy") { requests, sums in
        for (i, request) in requests.enumerated() {
            let page = Int(request.value)
            // SAFETY: page < pages (checked by servePayloads): one of `buffers`.
            ops[i] = GrantCopy.fromGrant(refs[page], of: channel.frontend, into: buffers + page * Page.size,
                                         length: UInt16(Page.size))
        }
        // SAFETY: the first requests.count ops (<= pages, the capacity), set just above.
        let batch = UnsafeMutableBufferPointer(rebasing: ops[0..<requests.count])
        let result = GrantCopy.perform(batch)
        for (i, request) in requests.enumerated() {
            guard result == 0, ops[i].status == 0 else {
                print("pong: copying payload page \(request.value) failed: \(result == 0 ? Int64(ops[i].status) : result)")
                return false
            }
            // SAFETY: as above, the page's buffer, just filled.
            sums.append(Payload.checksum(buffers + Int(request.value) * Page.size))
        }
        return true
    }
    ops.deallocate()
}

/// The ring side of both payload modes: takes the requests waiting, has
/// `checksums` read their pages (appending one checksum per request; false:
/// stop), answers them, until ping sets CLOSED. Requests naming a page
/// beyond `pages` end it (a frontend may lie).
func servePayloads(_ channel: ChannelBackend, pages: Int, name: String,
                   _ checksums: ([PingRequest], inout [UInt64]) -> Bool) {
    guard let page = channel.ringPage,
          var ring = BackRing<PingRequest, PingResponse>(attaching: page, pageSize: Page.size) else {
        print("pong: cannot lay out the ring")
        return
    }
    var served: UInt64 = 0, checksum: UInt64 = 0
    var requests: [PingRequest] = []
    var sums: [UInt64] = []
    requests.reserveCapacity(pages)
    sums.reserveCapacity(pages)
    var watch = PeerWatch(port: channel.port)
    do throws(RingError) {
        serving: while true {
            requests.removeAll(keepingCapacity: true)
            sums.removeAll(keepingCapacity: true)
            while requests.count < pages, let request = try ring.takeRequest() {
                guard request.value < UInt64(pages) else {
                    print("pong: request \(request.sequence) names page \(request.value) of \(pages)")
                    break serving
                }
                requests.append(request)
            }
            if !requests.isEmpty {
                guard checksums(requests, &sums), sums.count == requests.count else { break serving }
                for (request, sum) in zip(requests, sums) {
                    try ring.push(PingResponse(sequence: request.sequence, sum: sum))
                    checksum &+= sum
                }
                served += UInt64(requests.count)
                if ring.publish() { watch.notify() }
                continue
            }
            if channel.frontendClosed { break }
            if try ring.finalCheckForRequests() { continue }
            guard watch.wait() else {
                print("pong: the frontend left")
                break
            }
        }
    } catch {
        print("pong: ring error after \(served) payloads; disconnecting")
    }
    print("pong: read \(served) payloads by \(name), checksum \(checksum)")
}
