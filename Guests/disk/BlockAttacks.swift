import TernGuestC

/// A hostile frontend (issue 17): what it sends must fail alone, never
/// hurt the backend, Dom0, Tern or another guest's disk. `mode=`:
///   badrequests  malformed requests (zero or 12 segments, sectors past the
///                disk or reversed or past the page, refs not granted or
///                granted read-only for a read, operations not offered;
///                INDIRECT ones with no segments or more than offered, an
///                indirect page not granted, a flush as indirect_op, a bad
///                segment inside the indirect page; a good INDIRECT read works),
///                each answered with an error status and a response whose
///                reserved bytes are zero; a good read works after each
///   ringindex    req_prod moved a thousand past the ring: the backend
///                closes this disk (RING_BROKEN) and nothing else
///   storm        `count=` (default 20000) notifications with no request
///                between, then a good read
///   vanish       publishes requests and crashes before their answers
///   doublefetch  `rounds=` (default 200) writes of 8 sectors at sector 0
///                that it keeps rewriting in the ring after publishing them
///                until the answer comes: the slot flips between the write
///                as sent and one past the disk's end with 11 segments of
///                ref 0, and the backend may copy it at any point, torn
///                included. Each answer must be whole, OK or ERROR; a
///                backend that checked one version and did another would
///                write past the end (the test sees the image grow)
enum BlockAttacks {
    static let unusedRef: UInt32 = 300   // never granted by this guest

    static func run(_ mode: [UInt8], _ disk: inout BlockFrontend, _ info: StartInfo) -> Bool? {
        if mode == Array("badrequests".utf8) { return badRequests(&disk) }
        if mode == Array("ringindex".utf8) { return ringIndex(&disk) }
        if mode == Array("storm".utf8) { return storm(&disk, count: Int(info.number("count") ?? 20000)) }
        if mode == Array("vanish".utf8) { vanish(&disk) }
        if mode == Array("doublefetch".utf8) { return doubleFetch(&disk, rounds: Int(info.number("rounds") ?? 200)) }
        return nil
    }

    static func request(_ disk: inout BlockFrontend, operation: Int32, sector: UInt64 = 0,
                        segments: [(UInt32, UInt8, UInt8)]) -> tern_blkif_request {
        var r = tern_blkif_request()
        r.operation = UInt8(operation)
        r.id = disk.takeID()
        r.sector_number = sector
        r.nr_segments = UInt8(truncatingIfNeeded: segments.count)
        withUnsafeMutableBytes(of: &r.seg) { raw in
            for (i, (ref, first, last)) in segments.prefix(Int(TERN_BLKIF_MAX_SEGMENTS)).enumerated() {
                // SAFETY: seg holds 11 segments; prefix keeps i < 11.
                raw.storeBytes(of: tern_blkif_segment(gref: ref, first_sect: first, last_sect: last, reserved: 0),
                               toByteOffset: i * MemoryLayout<tern_blkif_segment>.stride, as: tern_blkif_segment.self)
            }
        }
        return r
    }

    static func badRequests(_ disk: inout BlockFrontend) -> Bool {
        let good = disk.pageRefs[0]
        let readOnlyPage = Page.allocate()
        let readOnlyRef: UInt32
        do throws(TernError) { readOnlyRef = try Grants.grant(readOnlyPage, to: disk.device.backend, readOnly: true) } catch { return false }
        let past = disk.sectors
        let read = TERN_BLKIF_OP_READ, write = TERN_BLKIF_OP_WRITE
        var cases: [(String, tern_blkif_request, Int16)] = [
            ("zero segments", request(&disk, operation: read, segments: []), Int16(TERN_BLKIF_RSP_ERROR)),
            ("past the disk", request(&disk, operation: read, sector: past, segments: [(good, 0, 7)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("ending past the disk", request(&disk, operation: write, sector: past - 1, segments: [(good, 0, 7)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("sector wrapping", request(&disk, operation: read, sector: UInt64.max - 2, segments: [(good, 0, 7)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("reversed sectors", request(&disk, operation: read, segments: [(good, 5, 2)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("sector past the page", request(&disk, operation: read, segments: [(good, 0, 8)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("ref not granted", request(&disk, operation: read, segments: [(unusedRef, 0, 7)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("ref 0 (Tern's)", request(&disk, operation: write, segments: [(0, 0, 7)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("read into a read-only grant", request(&disk, operation: read, segments: [(readOnlyRef, 0, 7)]), Int16(TERN_BLKIF_RSP_ERROR)),
            ("unknown operation 99", request(&disk, operation: 99, segments: [(good, 0, 7)]), Int16(TERN_BLKIF_RSP_EOPNOTSUPP)),
            ("reserved operation 4", request(&disk, operation: TERN_BLKIF_OP_RESERVED_1, segments: [(good, 0, 7)]), Int16(TERN_BLKIF_RSP_EOPNOTSUPP)),
            ("write barrier", request(&disk, operation: TERN_BLKIF_OP_WRITE_BARRIER, segments: [(good, 0, 7)]), Int16(TERN_BLKIF_RSP_EOPNOTSUPP)),
        ]
        // INDIRECT: the segments in a page of this guest's, granted
        // read-only (the backend only reads it); one bad segment among good ones.
        let indirectPage = Page.allocate()
        let indirectRef: UInt32
        do throws(TernError) { indirectRef = try Grants.grant(indirectPage, to: disk.device.backend, readOnly: true) } catch { return false }
        // SAFETY: a whole page of this guest's, page-aligned: 512 segments of 8 bytes.
        let segments = indirectPage.bindMemory(to: tern_blkif_segment.self, capacity: Int(TERN_BLKIF_SEGMENTS_PER_INDIRECT_PAGE))
        for i in 0..<Int(TERN_BLKIF_SEGMENTS_PER_INDIRECT_PAGE) {
            // SAFETY: the page holds SEGMENTS_PER_INDIRECT_PAGE segments (8 bytes each, 4096 in all).
            segments[i] = tern_blkif_segment(gref: disk.pageRefs[i % disk.pageRefs.count], first_sect: 0, last_sect: 7, reserved: 0)
        }
        let reversedAt = 20
        // SAFETY: reversedAt < SEGMENTS_PER_INDIRECT_PAGE.
        segments[reversedAt] = tern_blkif_segment(gref: good, first_sect: 6, last_sect: 1, reserved: 0)
        cases += [
            ("indirect, no segments", indirect(&disk, op: read, segments: 0, page: indirectRef), Int16(TERN_BLKIF_RSP_ERROR)),
            ("indirect, more segments than offered",
             indirect(&disk, op: read, segments: UInt16(disk.maxIndirectSegments) + 1, page: indirectRef), Int16(TERN_BLKIF_RSP_ERROR)),
            ("indirect page not granted", indirect(&disk, op: read, segments: 12, page: unusedRef), Int16(TERN_BLKIF_RSP_ERROR)),
            ("indirect flush", indirect(&disk, op: TERN_BLKIF_OP_FLUSH_DISKCACHE, segments: 12, page: indirectRef), Int16(TERN_BLKIF_RSP_ERROR)),
            ("indirect, segment 20 reversed", indirect(&disk, op: read, segments: UInt16(reversedAt) + 1, page: indirectRef),
             Int16(TERN_BLKIF_RSP_ERROR)),
            ("indirect read of 20 pages (good)", indirect(&disk, op: read, segments: UInt16(reversedAt), page: indirectRef),
             Int16(TERN_BLKIF_RSP_OKAY)),
        ]
        var twelve = request(&disk, operation: read, segments: [(good, 0, 7)])
        twelve.nr_segments = UInt8(TERN_BLKIF_MAX_SEGMENTS) + 1
        cases.append(("12 segments", twelve, Int16(TERN_BLKIF_RSP_ERROR)))
        var allAsExpected = true
        for (name, bad, expected) in cases {
            do throws(TernError) {
                let response = try disk.submit(bad)
                // An INDIRECT request's response names its indirect_op (the
                // byte after the operation: nr_segments in this layout).
                let operation = bad.operation == UInt8(TERN_BLKIF_OP_INDIRECT) ? bad.nr_segments : bad.operation
                let clean = response.reserved0 == 0 && response.reserved1 == 0 && response.operation == operation
                if response.status != expected || !clean {
                    print("disk: \(name): status \(response.status), expected \(expected); padding zero: \(clean)")
                    allAsExpected = false
                }
                try disk.read(sector: 0, count: 8)   // the disk still works
            } catch {
                print("disk: \(name): error \(error.code)")
                return false
            }
        }
        print("disk: \(cases.count - 1) malformed requests refused one by one, each response whole; a good indirect read works; the disk still works")
        return allAsExpected
    }

    /// An INDIRECT request (its own layout in the slot's bytes): `segments`
    /// segments from the indirect page granted as `page`, at sector 0.
    static func indirect(_ disk: inout BlockFrontend, op: Int32, segments: UInt16, page: UInt32) -> tern_blkif_request {
        var i = tern_blkif_request_indirect()
        i.operation = UInt8(TERN_BLKIF_OP_INDIRECT)
        i.indirect_op = UInt8(op)
        i.nr_segments = segments
        i.id = disk.takeID()
        i.indirect_grefs.0 = page
        var r = tern_blkif_request()
        withUnsafeMutableBytes(of: &r) { slot in
            // SAFETY: the indirect layout (64 bytes) fits the request's 112,
            // as both share a ring slot (tern_blkif_slot).
            slot.storeBytes(of: i, toByteOffset: 0, as: tern_blkif_request_indirect.self)
        }
        return r
    }

    static func ringIndex(_ disk: inout BlockFrontend) -> Bool {
        // SAFETY: the ring page is this guest's own, page-aligned; its first 64 bytes are the header.
        let header = disk.ringPage.bindMemory(to: tern_ring_header.self, capacity: 1)
        // SAFETY: the ring's header, this guest's own page; one volatile write.
        tern_ring_store(&header.pointee.req_prod, tern_ring_load(&header.pointee.req_prod) &+ 1000)
        _ = Events.send(disk.device.port)
        let deadline = Tern.now() &+ 10_000_000_000
        while !disk.backendClosed && Tern.now() < deadline { _ = Events.wait(for: disk.device.port, until: deadline) }
        print("disk: ring index 1000 ahead: backend closed the disk: \(disk.backendClosed), error \(disk.backendError)")
        return disk.backendClosed && disk.backendError == UInt32(TERN_BLKIF_ERROR_RING_BROKEN)
    }

    static func storm(_ disk: inout BlockFrontend, count: Int) -> Bool {
        for _ in 0..<count { _ = Events.send(disk.device.port) }
        do throws(TernError) { try disk.read(sector: 0, count: 8) } catch {
            print("disk: read after the storm: error \(error.code)")
            return false
        }
        print("disk: \(count) notifications sent; a read after them works")
        return true
    }

    static func vanish(_ disk: inout BlockFrontend) -> Never {
        for i in 0..<8 {
            let r = request(&disk, operation: TERN_BLKIF_OP_WRITE, sector: UInt64(i) * 88,
                            segments: (0..<11).map { (disk.pageRefs[$0], 0, 7) })
            // Published without waiting: the guest is gone before the answers.
            do throws(RingError) { try disk.ring.push(r) } catch { break }
        }
        if disk.ring.publish() { _ = Events.send(disk.device.port) }
        print("disk: 8 writes published; crashing before their answers")
        Tern.shutdown(TERN_SHUTDOWN_CRASH)
    }

    static func doubleFetch(_ disk: inout BlockFrontend, rounds: Int) -> Bool {
        // SAFETY: the ring page is this guest's own, page-aligned; its first 64 bytes are the header.
        let header = disk.ringPage.bindMemory(to: tern_ring_header.self, capacity: 1)
        /// How long one round rewrites before it leaves the slot as sent
        /// and waits (the backend runs when this guest is preempted).
        let flipNanoseconds: UInt64 = 50_000_000
        var okay = 0, refused = 0, flips = 0, overwritten = 0
        for _ in 0..<rounds {
            let honest = request(&disk, operation: TERN_BLKIF_OP_WRITE, sector: 0, segments: [(disk.pageRefs[0], 0, 7)])
            var evil = honest
            evil.sector_number = disk.sectors
            evil.nr_segments = UInt8(TERN_BLKIF_MAX_SEGMENTS)
            let slot = disk.ringPage + disk.ring.layout.offset(ofSlot: disk.ring.requestsProduced)
            // SAFETY: the ring's header, this guest's own page; volatile reads.
            let answeredBefore = tern_ring_load(&header.pointee.rsp_prod)
            do throws(RingError) { try disk.ring.push(honest) } catch { return false }
            if disk.ring.publish() { _ = Events.send(disk.device.port) }
            let until = Tern.now() &+ flipNanoseconds
            var evilNext = true
            // Rewrites stop once the answer is in the slot; the clock is read
            // first (it may exit to Tern, where Dom0 gets the CPU), so that
            // the look at rsp_prod and the store are a few instructions apart.
            while Tern.now() < until {
                // SAFETY: as above.
                if tern_ring_load(&header.pointee.rsp_prod) != answeredBefore { break }
                // SAFETY: the request's slot in this guest's ring page (offset
                // masked into the page by RingLayout); a plain, tearable store.
                slot.storeBytes(of: evilNext ? evil : honest, as: tern_blkif_request.self)
                evilNext.toggle()
                flips += 1
            }
            if tern_ring_load(&header.pointee.rsp_prod) == answeredBefore {
                // SAFETY: as above: left as sent while it waits.
                slot.storeBytes(of: honest, as: tern_blkif_request.self)
            }
            var response: tern_blkif_response?
            while response == nil {
                do throws(RingError) {
                    response = try disk.ring.takeResponse()
                    var more = response != nil
                    if !more { more = try disk.ring.finalCheckForResponses() }
                    if !more {
                        if disk.backendClosed { print("disk: double fetch: the backend closed the disk"); return false }
                        Events.wait(for: disk.device.port)
                    }
                } catch {
                    print("disk: double fetch: bad response index")
                    return false
                }
            }
            let r = response!
            // This guest can be preempted between its look at rsp_prod and
            // its store: the backend's answer then lies under the request it
            // stored (a response's id is where a request's first 8 bytes go).
            if r.id != honest.id && (r.id == firstWord(honest) || r.id == firstWord(evil)) {
                overwritten += 1
                continue
            }
            let whole = r.id == honest.id && r.operation == UInt8(TERN_BLKIF_OP_WRITE) && r.reserved0 == 0 && r.reserved1 == 0
            if whole && r.status == Int16(TERN_BLKIF_RSP_OKAY) {
                okay += 1
            } else if whole && r.status == Int16(TERN_BLKIF_RSP_ERROR) {
                refused += 1
            } else {
                print("disk: double fetch: answer id \(r.id) (sent \(honest.id)), status \(r.status), padding zero: \(r.reserved0 == 0 && r.reserved1 == 0)")
                return false
            }
        }
        do throws(TernError) { try disk.read(sector: 0, count: 8) } catch {
            print("disk: double fetch: a read after it: error \(error.code)")
            return false
        }
        // (Short: Tern cuts a console line at 160 bytes.)
        print("disk: double fetch: \(rounds) writes rewritten after publishing (\(flips) rewrites): \(okay) as sent, " +
              "\(refused) refused, \(overwritten) under a late rewrite; a read works")
        return okay + refused + overwritten == rounds && okay + refused > 0
    }

    /// A request's first 8 bytes, as a response's id would read them.
    static func firstWord(_ request: tern_blkif_request) -> UInt64 {
        // SAFETY: a request is 112 bytes; any 8 of them are a UInt64.
        withUnsafeBytes(of: request) { $0.loadUnaligned(as: UInt64.self) }
    }
}
