import Glibc
import TernABI
import TernBlock
import TernToolstack

/// The requests one connection took from the ring and has not answered,
/// in ring order (docs/blockback.md, "Data path"). Each is checked once
/// (TernBlock's validator, on the copy taken from the ring), its pages
/// mapped, and a write's data copied into the request's bounce buffer;
/// then the transfers of a batch go to the disk, adjacent ones (same
/// direction, each starting where the one before ends) as one operation,
/// as a disk's queue merges them: the 44 KiB requests a guest splits a
/// 1 MiB write into reach Dom0's disk as one 1 MiB write. A read's data
/// is copied into the guest's pages when the disk is done. Answers leave
/// in ring order (`takeAnswered`), so the responses written always answer
/// the oldest requests taken: a backend restarted mid-run takes the rest
/// again, none twice (docs/abi.md, "Reconnecting").
struct RequestsInFlight {
    struct Taken {
        let request: BlockRequestCopy
        /// nil while its operation is on the disk.
        var status: BlockStatus?
        var buffer: Int?
        var bytes = 0
        /// A read's destination: the guest's page ranges, in order.
        var destination: [iovec] = []
        /// Pages mapped for this request alone (GrantPages).
        var temporary: [UnsafeMutableRawPointer] = []
    }

    /// Requests done as one disk operation.
    struct Operation {
        let members: [UInt64]
        let kind: DiskQueue.Operation
        let startSector: UInt64
        /// A write to make durable (fdatasync) before it is answered.
        let durable: Bool
        var syncing = false
    }

    /// What a checked request needs from the disk.
    enum DiskWork {
        case transfer(TransferDirection, startSector: UInt64, sectors: UInt64, durable: Bool)
        case flush
    }

    let validator: RequestValidator
    let pages: GrantPages
    let buffers: BounceBuffers
    let queue: DiskQueue
    var taken: [Taken] = []
    /// taken[0]'s number (requests are numbered from 0 per connection).
    var firstSequence: UInt64 = 0
    var operations: [UInt64: Operation] = [:]
    var nextTag: UInt64 = 0
    /// Disk operations started (a write made durable counts twice).
    private(set) var operationsStarted: UInt64 = 0
    static let sectorBytes = Int(TERN_BLKIF_SECTOR_SIZE)

    init(validator: RequestValidator, pages: GrantPages, buffers: BounceBuffers, queue: DiskQueue) {
        self.validator = validator
        self.pages = pages
        self.buffers = buffers
        self.queue = queue
    }

    var isEmpty: Bool { taken.isEmpty }

    /// Takes a batch (in ring order) and starts what it asks of the disk.
    mutating func start(_ batch: [BlockRequestCopy], server: BlockServer) {
        var run: [UInt64] = []
        var runDirection = TransferDirection.read
        var runStart: UInt64 = 0, runEnd: UInt64 = 0
        func flushRun(_ me: inout RequestsInFlight) {
            if !run.isEmpty { me.submit(run, kind: runDirection == .read ? .read : .write, startSector: runStart, durable: false) }
            run.removeAll()
        }
        for request in batch {
            let sequence = firstSequence + UInt64(taken.count)
            taken.append(Taken(request: request))
            guard let work = prepare(taken.count - 1, server: server) else { continue }   // answered already
            switch work {
            case .transfer(let direction, let start, let sectors, let durable):
                if !run.isEmpty && (durable || direction != runDirection || start != runEnd) { flushRun(&self) }
                if durable {
                    submit([sequence], kind: .write, startSector: start, durable: true)
                } else {
                    if run.isEmpty { (runDirection, runStart) = (direction, start) }
                    run.append(sequence)
                    runEnd = start + sectors
                }
            case .flush:
                flushRun(&self)
                submit([sequence], kind: .sync, startSector: 0, durable: false)
            }
        }
        flushRun(&self)
        queue.commit()
    }

    /// Checks request `index`, maps its pages, fills its bounce buffer for
    /// a write; what the disk must do, or nil when it is answered already
    /// (refused, a discard done, ...).
    mutating func prepare(_ index: Int, server: BlockServer) -> DiskWork? {
        let request = taken[index].request
        let command: BlockCommand
        switch validator.validate(request) {
        case .success(let c): command = c
        case .failure(let rejection):
            server.offend("request \(request.id) refused: \(rejection)")
            taken[index].status = rejection.status
            return nil
        }
        switch command {
        case .transfer(let transfer):
            return prepare(index, transfer, server: server)
        case .flush:
            return .flush
        case .discard(let discard):
            let bytes = UInt64(RequestsInFlight.sectorBytes)
            taken[index].status = queue.image.discard(at: discard.startSector * bytes, length: discard.sectorCount * bytes)
                ? .okay : .error
            return nil
        case .indirect(let header):
            // Its segments: the indirect pages mapped, copied out once,
            // the copy checked (Xen's "read indirect descriptors once").
            var indirectPages: [UnsafeRawPointer] = []
            for ref in header.pageRefs {
                do throws(ControlDevice.Failure) {
                    indirectPages.append(UnsafeRawPointer(try pages.page(ref, backendWrites: false, temporary: &taken[index].temporary)))
                } catch {
                    return refuse(index, "request \(request.id): indirect page grant ref \(ref) cannot be mapped: \(error)",
                                  status: .error, server: server)
                }
            }
            guard let segments = IndirectSegments.copy(for: header, from: indirectPages) else {
                return refuse(index, "request \(request.id): indirect pages missing", status: .error, server: server)
            }
            switch validator.validate(header, segments: segments) {
            case .success(let transfer):
                return prepare(index, transfer, server: server)
            case .failure(let rejection):
                return refuse(index, "request \(request.id) refused: \(rejection)", status: rejection.status, server: server)
            }
        }
    }

    /// Request `index` fails alone: logged (BlockServer.offend), its pages
    /// mapped for it alone let go.
    mutating func refuse(_ index: Int, _ why: String, status: BlockStatus, server: BlockServer) -> DiskWork? {
        server.offend(why)
        pages.release(&taken[index].temporary)
        taken[index].status = status
        return nil
    }

    /// A checked read or write (direct or indirect): its pages found, a
    /// write's data copied into its bounce buffer.
    mutating func prepare(_ index: Int, _ transfer: BlockTransfer, server: BlockServer) -> DiskWork? {
        let request = taken[index].request
        var pieces: [iovec] = []
        pieces.reserveCapacity(transfer.segments.count)
        for segment in transfer.segments {
            let page: UnsafeMutableRawPointer
            do throws(ControlDevice.Failure) {
                page = try pages.page(segment.grantRef, backendWrites: transfer.direction == .read,
                                      temporary: &taken[index].temporary)
            } catch {
                return refuse(index, "request \(request.id): grant ref \(segment.grantRef) cannot be mapped: \(error)",
                              status: .error, server: server)
            }
            let first = Int(segment.firstSector) * RequestsInFlight.sectorBytes
            let length = (Int(segment.lastSector) - Int(segment.firstSector) + 1) * RequestsInFlight.sectorBytes
            // SAFETY: first + length <= one page (the validator checked
            // first <= last < sectors per page); the page stays mapped
            // until the request is answered.
            pieces.append(iovec(iov_base: page + first, iov_len: length))
        }
        let bytes = pieces.reduce(0) { $0 + $1.iov_len }
        // One buffer per ring slot, and never more requests taken than
        // slots; each holds the most data a request may carry.
        guard let buffer = buffers.take(), bytes <= buffers.bytesEach else {
            pages.release(&taken[index].temporary)
            taken[index].status = .error
            return nil
        }
        taken[index].buffer = buffer
        taken[index].bytes = bytes
        if transfer.direction == .write {
            var into = buffers.address(buffer)
            for piece in pieces {
                // SAFETY: the source is a mapped guest page range (above);
                // the destination stays inside the buffer (bytes <= bytesEach).
                memcpy(into, piece.iov_base, piece.iov_len)
                into += piece.iov_len
            }
            pages.release(&taken[index].temporary)   // the data is the backend's now
        } else {
            taken[index].destination = pieces
        }
        return .transfer(transfer.direction, startSector: transfer.startSector, sectors: transfer.sectorCount,
                         durable: transfer.durable)
    }

    /// Puts requests `members` (their buffers in order) on the disk as one operation.
    mutating func submit(_ members: [UInt64], kind: DiskQueue.Operation, startSector: UInt64, durable: Bool) {
        let tag = nextTag
        nextTag &+= 1
        var pieces: [iovec] = []
        if kind != .sync {
            pieces.reserveCapacity(members.count)
            for sequence in members {
                let request = taken[Int(sequence - firstSequence)]
                pieces.append(iovec(iov_base: buffers.address(request.buffer!), iov_len: request.bytes))
            }
        }
        operations[tag] = Operation(members: members, kind: kind, startSector: startSector, durable: durable)
        queue.submit(kind, pieces: pieces, offset: startSector * UInt64(RequestsInFlight.sectorBytes), tag: tag)
        operationsStarted &+= 1
    }

    /// Everything the disk finished: reads copied out, statuses set.
    mutating func reapAll(server: BlockServer) {
        while true {
            let done = queue.reap()
            if done.isEmpty { return }
            for completion in done { finish(completion, server: server) }
            queue.commit()   // the syncs of durable writes
        }
    }

    mutating func finish(_ completion: DiskQueue.Completion, server: BlockServer) {
        guard var operation = operations[completion.tag] else { return }
        if completion.succeeded && operation.durable && !operation.syncing {
            operation.syncing = true   // written: now made durable, then answered
            operations[completion.tag] = operation
            queue.submit(.sync, pieces: [], offset: 0, tag: completion.tag)
            operationsStarted &+= 1
            return
        }
        operations[completion.tag] = nil
        if !completion.succeeded {
            let what = operation.kind == .sync ? "flush" : "\(operation.kind == .read ? "read" : "write") at sector \(operation.startSector)"
            server.diskFailed(operation.syncing ? "sync after a write at sector \(operation.startSector)" : what, error: completion.error)
        }
        for sequence in operation.members {
            let index = Int(sequence - firstSequence)
            if completion.succeeded && operation.kind == .read, let buffer = taken[index].buffer {
                var from = UnsafeRawPointer(buffers.address(buffer))
                for piece in taken[index].destination {
                    // SAFETY: the destination ranges are mapped guest pages
                    // (prepare), the source inside the buffer (their sum is bytes).
                    memcpy(piece.iov_base, from, piece.iov_len)
                    from += piece.iov_len
                }
            }
            pages.release(&taken[index].temporary)
            taken[index].status = completion.succeeded ? .okay : .error
        }
    }

    /// The oldest request, once it is done: it leaves, with its status.
    mutating func takeAnswered() -> (BlockRequestCopy, BlockStatus)? {
        guard let first = taken.first, let status = first.status else { return nil }
        if let buffer = first.buffer { buffers.give(buffer) }
        taken.removeFirst()
        firstSequence &+= 1
        return (first.request, status)
    }

    /// The connection ended: pages mapped for requests not answered go,
    /// their buffers return to the pool (the next connection's queue starts
    /// once this one's operations are over: DiskQueue's deinit waits).
    mutating func abandon() {
        for index in taken.indices {
            pages.release(&taken[index].temporary)
            if let buffer = taken[index].buffer { buffers.give(buffer) }
        }
        taken.removeAll()
    }
}
