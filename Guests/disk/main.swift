import TernGuestC

/// A ported PV guest with a disk (BlockFrontend, docs/blockback.md): it
/// checks what it writes comes back, as `mode=` says:
///   pattern   `rounds=` (default 200) writes of random length (1 to 88
///             sectors, so crossing page and segment boundaries) at random
///             sectors of the first `span=` sectors (default 4096), each
///             read back at once; then a flush, and every sector written
///             read again and checked. `seed=` (default 1) picks them.
///   verify    what `pattern` with the same seed, rounds and span left on
///             the disk is still there (after the guest was destroyed and
///             created again)
///   readonly  a write is refused and a read works
///   badrequests, ringindex, storm, vanish: a hostile frontend
///             (BlockAttacks.swift)
@_cdecl("tern_guest_main")
func guestMain(_ startInfo: UnsafeMutableRawPointer) -> Int64 {
    let info = StartInfo(startInfo)
    guard info.isValid else { return Int64(TERN_SHUTDOWN_CRASH) }
    let mode = info.option("mode") ?? Array("pattern".utf8)
    var disk: BlockFrontend
    do throws(TernError) { disk = try BlockFrontend.open(devid: 0) } catch {
        print("disk: cannot open xvda: \(error.code)")
        return Int64(TERN_SHUTDOWN_CRASH)
    }
    print("disk: xvda connected: \(disk.sectors) sectors of \(disk.sectorSize) bytes, \(disk.readOnly ? "read-only" : "read-write"), features \(disk.backendFeatures)")
    let check = PatternCheck(seed: info.number("seed") ?? 1, rounds: Int(info.number("rounds") ?? 200),
                             span: min(info.number("span") ?? 4096, disk.sectors))
    let ok: Bool
    if mode == Array("pattern".utf8) {
        ok = check.write(&disk)
    } else if mode == Array("verify".utf8) {
        ok = check.verify(&disk, replaying: true)
    } else if mode == Array("readonly".utf8) {
        ok = readOnlyRefusesWrites(&disk)
    } else if let attacked = BlockAttacks.run(mode, &disk, info) {
        ok = attacked
    } else {
        print("disk: unknown mode; use mode=pattern|verify|readonly|badrequests|ringindex|storm|vanish")
        ok = false
    }
    print("disk: \(ok ? "passed" : "FAILED")")
    return Int64(ok ? TERN_SHUTDOWN_POWEROFF : TERN_SHUTDOWN_CRASH)
}

func readOnlyRefusesWrites(_ disk: inout BlockFrontend) -> Bool {
    let sectors = 8
    let bytes = sectors * BlockFrontend.sectorBytes
    let before = Page.allocate(count: 1)
    do throws(TernError) { try disk.read(sector: 0, count: sectors) } catch {
        print("disk: read failed: \(error.code)")
        return false
    }
    // SAFETY: `before` and the disk's buffer (11 pages) each hold `bytes` (8 sectors).
    before.copyMemory(from: disk.buffer, byteCount: bytes)
    disk.buffer.initializeMemory(as: UInt8.self, repeating: 0x5A, count: bytes)
    do throws(TernError) {
        try disk.write(sector: 0, count: sectors)
        print("disk: a write to a read-only disk was accepted")
        return false
    } catch {
        print("disk: write refused: \(error.code)")
    }
    do throws(TernError) { try disk.read(sector: 0, count: sectors) } catch { return false }
    // SAFETY: both hold `bytes` bytes (a page each, more than 8 sectors).
    let same = UnsafeRawBufferPointer(start: before, count: bytes).elementsEqual(UnsafeRawBufferPointer(start: disk.buffer, count: bytes))
    print("disk: read-only disk unchanged: \(same)")
    return same
}

/// The writes `pattern` makes, again from the seed: which sectors, and
/// which round wrote each one last (its bytes are a function of both).
struct PatternCheck {
    let seed: UInt64
    let rounds: Int
    let span: UInt64
    /// Per sector of the span: the round that wrote it last (0: none).
    let lastWriter: UnsafeMutablePointer<UInt32>

    init(seed: UInt64, rounds: Int, span: UInt64) {
        self.seed = seed
        self.rounds = rounds
        self.span = span
        let bytes = Int(span) * MemoryLayout<UInt32>.stride
        // SAFETY: fresh zeroed pages of this guest, enough for `span` u32s.
        lastWriter = Page.allocate(count: (bytes + Page.size - 1) / Page.size).bindMemory(to: UInt32.self, capacity: Int(span))
    }

    /// xorshift64*: the same numbers from the same seed.
    static func next(_ state: inout UInt64) -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Sector `sector`'s bytes as round `round` writes them, at `to`.
    static func fill(_ to: UnsafeMutableRawPointer, sector: UInt64, round: UInt32) {
        var state = (sector &+ 1) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(round)
        for i in stride(from: 0, to: BlockFrontend.sectorBytes, by: 8) {
            // SAFETY: within the sector's 512 bytes at `to`.
            to.storeBytes(of: next(&state), toByteOffset: i, as: UInt64.self)
        }
    }

    /// Whether `at` holds what `fill` writes.
    static func matches(_ at: UnsafeRawPointer, sector: UInt64, round: UInt32) -> Bool {
        var state = (sector &+ 1) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(round)
        for i in stride(from: 0, to: BlockFrontend.sectorBytes, by: 8) {
            // SAFETY: within the sector's 512 bytes at `at`.
            if at.loadUnaligned(fromByteOffset: i, as: UInt64.self) != next(&state) { return false }
        }
        return true
    }

    /// Round `round`'s range (1-based rounds): first sector, count. The
    /// state carries from round to round.
    func range(_ state: inout UInt64) -> (UInt64, Int) {
        let count = Int(PatternCheck.next(&state) % UInt64(BlockFrontend.maxSectorsPerRequest)) + 1
        let limit = span > UInt64(count) ? span - UInt64(count) : 0
        let start = limit == 0 ? 0 : PatternCheck.next(&state) % (limit + 1)
        return (start, min(count, Int(span - start)))
    }

    func write(_ disk: inout BlockFrontend) -> Bool {
        var written = 0
        var state = seed | 1
        for round in 1...UInt32(rounds) {
            let (start, count) = range(&state)
            for s in 0..<count { PatternCheck.fill(disk.buffer + s * BlockFrontend.sectorBytes, sector: start + UInt64(s), round: round) }
            do throws(TernError) {
                try disk.write(sector: start, count: count)
                // Scribble over the buffer: the read must bring it back.
                // SAFETY: count <= maxSectorsPerRequest: inside the buffer's 11 pages.
                disk.buffer.initializeMemory(as: UInt8.self, repeating: 0xEE, count: count * BlockFrontend.sectorBytes)
                try disk.read(sector: start, count: count)
            } catch {
                print("disk: round \(round): sectors \(start)+\(count): error \(error.code)")
                return false
            }
            for s in 0..<count where !PatternCheck.matches(disk.buffer + s * BlockFrontend.sectorBytes, sector: start + UInt64(s), round: round) {
                print("disk: round \(round): sector \(start + UInt64(s)) read back differently")
                return false
            }
            for s in 0..<count { lastWriter[Int(start) + s] = round }
            written += count
        }
        do throws(TernError) { try disk.flush() } catch {
            print("disk: flush failed: \(error.code)")
            return false
        }
        print("disk: \(rounds) writes of 1-\(BlockFrontend.maxSectorsPerRequest) sectors (\(written) in all) read back equal; flushed")
        return verify(&disk, replaying: false)
    }

    /// Reads back every sector the rounds wrote and compares it with the
    /// last round's bytes for it (`replaying`: works out which round that
    /// was from the seed first, for a disk written by an earlier guest).
    func verify(_ disk: inout BlockFrontend, replaying: Bool) -> Bool {
        if replaying {
            var state = seed | 1
            for round in 1...UInt32(rounds) {
                let (start, count) = range(&state)
                for s in 0..<count { lastWriter[Int(start) + s] = round }
            }
        }
        var checked = 0
        var sector: UInt64 = 0
        while sector < span {
            let count = min(BlockFrontend.maxSectorsPerRequest, Int(span - sector))
            do throws(TernError) { try disk.read(sector: sector, count: count) } catch {
                print("disk: reading sectors \(sector)+\(count): error \(error.code)")
                return false
            }
            for s in 0..<count {
                let round = lastWriter[Int(sector) + s]
                guard round != 0 else { continue }
                guard PatternCheck.matches(disk.buffer + s * BlockFrontend.sectorBytes, sector: sector + UInt64(s), round: round) else {
                    print("disk: sector \(sector + UInt64(s)) does not hold round \(round)'s bytes")
                    return false
                }
                checked += 1
            }
            sector += UInt64(count)
        }
        print("disk: \(checked) sectors hold what was written last")
        return true
    }
}
