import Glibc
import TernSyscalls

/// The disk operations of one connection, in flight together
/// (docs/blockback.md, "Data path"): direct I/O (the image opened again
/// with O_DIRECT: no page cache in Dom0, as the guest has its own) through
/// Linux native AIO, so that all the requests the ring holds are on the
/// disk at once; each completion adds to an eventfd the serving loop
/// polls beside the event channel. Where the file system has no direct
/// I/O (tmpfs), or the kernel refuses an operation (alignment, no AIO),
/// that operation is done at once with buffered pread/pwrite/fdatasync,
/// and its completion is ready at the next `reap`.
public final class DiskQueue {
    public enum Operation: Equatable {
        case read, write, sync
    }

    /// A finished operation: its tag, and whether every byte moved.
    public struct Completion: Equatable {
        public let tag: UInt64
        public let succeeded: Bool
        /// errno when it failed (0 for a short transfer).
        public let error: Int32
    }

    /// In flight on the disk: what is needed to do it again buffered.
    struct Submitted {
        let operation: Operation
        let pieces: [iovec]
        let offset: UInt64
        var bytes: Int { pieces.reduce(0) { $0 + $1.iov_len } }
    }

    let image: DiskImage
    /// The O_DIRECT descriptor, or nil (buffered, each operation at once).
    let direct: Int32?
    var context: UInt = 0
    /// Polled for completions (an eventfd), or nil without direct I/O.
    public let wakeFD: Int32?
    var inFlight: [UInt64: Submitted] = [:]
    var finishedAlready: [Completion] = []
    /// Where `reap` takes completions into (kept: it runs every pass).
    var events = [tern_aio_event](repeating: tern_aio_event(), count: Int(TERN_AIO_REAP_MAX))
    /// Operations redone buffered because direct I/O refused them.
    public private(set) var fallbacks = 0

    /// Why there is no direct I/O, when there is none.
    public let bufferedBecause: String?
    /// The memory the operations use, kept until the last one is done
    /// (deinit waits for them).
    let memory: AnyObject

    /// `depth`: the most operations on the disk at once. `keeping`: the
    /// owner of the memory operations read into and write from.
    public init(image: DiskImage, depth: Int, keeping memory: AnyObject) {
        self.image = image
        self.memory = memory
        let reopened = tern_open_direct(image.fd, image.readOnly ? 1 : 0)
        let wake = tern_eventfd()
        var context: UInt = 0
        let setUp = reopened >= 0 && wake >= 0 ? tern_aio_setup(UInt32(depth), &context) : -1
        if reopened >= 0 && wake >= 0 && setUp == 0 {
            direct = reopened
            wakeFD = wake
            self.context = context
            bufferedBecause = nil
            return
        }
        if reopened >= 0 { close(reopened) }
        if wake >= 0 { close(wake) }
        direct = nil
        wakeFD = nil
        let error = reopened < 0 ? -reopened : wake < 0 ? -wake : -setUp
        bufferedBecause = reopened < 0 ? "no direct I/O on this file: \(String(cString: strerror(error)))"
                                       : "no native AIO: \(String(cString: strerror(error)))"
    }

    deinit {
        if let direct {
            tern_aio_destroy(context)   // waits for what is still in flight
            close(direct)
        }
        if let wakeFD { close(wakeFD) }
    }

    public var isDirect: Bool { direct != nil }

    /// Queues `operation` on `pieces` (backend memory that stays valid and
    /// untouched until its completion) at byte `offset`; `commit` starts
    /// what is queued.
    public func submit(_ operation: Operation, pieces: [iovec], offset: UInt64, tag: UInt64) {
        let submitted = Submitted(operation: operation, pieces: pieces, offset: offset)
        guard direct != nil else { return finishedAlready.append(doBuffered(submitted, tag: tag)) }
        queued.append((tag, submitted))
    }
    var queued: [(tag: UInt64, operation: Submitted)] = []

    /// Starts every queued operation, as few io_submit calls as it takes
    /// (one per TERN_AIO_SUBMIT_MAX): the disk sees them together.
    public func commit() {
        guard let direct, !queued.isEmpty else { return }
        var requests: [tern_aio_request] = []
        var pieces: [iovec] = []
        var next = 0
        while next < queued.count {
            let batch = queued[next..<min(queued.count, next + Int(TERN_AIO_SUBMIT_MAX))]
            requests.removeAll(keepingCapacity: true)
            pieces.removeAll(keepingCapacity: true)
            for (tag, operation) in batch {
                let code: Int32
                switch operation.operation {
                case .read: code = Int32(TERN_AIO_READ)
                case .write: code = Int32(TERN_AIO_WRITE)
                case .sync: code = Int32(TERN_AIO_FDSYNC)
                }
                requests.append(tern_aio_request(operation: code, first_piece: Int32(pieces.count),
                                                 piece_count: Int32(operation.pieces.count), offset: Int64(operation.offset), tag: tag))
                pieces.append(contentsOf: operation.pieces)
            }
            // SAFETY: both arrays are read during the call only (the kernel
            // copies iocbs and iovecs in io_submit); the memory the iovecs
            // name is the caller's, valid until each completion is reaped.
            let started = requests.withUnsafeBufferPointer { list in
                pieces.withUnsafeBufferPointer { tern_aio_submit(context, direct, list.baseAddress, Int32(list.count), $0.baseAddress, wakeFD!) }
            }
            let taken = max(0, Int(started))
            for (tag, operation) in batch.prefix(taken) { inFlight[tag] = operation }
            // What the kernel did not take is done at once, buffered.
            for (tag, operation) in batch.dropFirst(taken) {
                fallbacks += 1
                finishedAlready.append(doBuffered(operation, tag: tag))
            }
            next += batch.count
        }
        queued.removeAll(keepingCapacity: true)
    }

    /// Whether any operation is still on the disk.
    public var busy: Bool { !inFlight.isEmpty }

    /// What finished since the last call (never waits).
    public func reap() -> [Completion] {
        var done = finishedAlready
        finishedAlready.removeAll()
        if let wakeFD {
            // Cleared before looking, and always: a completion counted after
            // the last look (its event reaped then) must not leave the
            // eventfd readable, or the serving loop's poll would spin.
            var count: UInt64 = 0
            _ = read(wakeFD, &count, MemoryLayout<UInt64>.size)
        }
        guard direct != nil, !inFlight.isEmpty else { return done }
        while true {
            let got = events.withUnsafeMutableBufferPointer { tern_aio_reap(context, $0.baseAddress, Int32($0.count)) }
            guard got > 0 else { break }
            for event in events[0..<Int(got)] {
                guard let submitted = inFlight.removeValue(forKey: event.tag) else { continue }
                let expected = submitted.operation == .sync ? 0 : submitted.bytes
                if event.result == Int64(expected) {
                    done.append(Completion(tag: event.tag, succeeded: true, error: 0))
                } else if event.result == -Int64(EINVAL) || (event.result >= 0 && event.result < Int64(expected)) {
                    // Direct I/O refused it (alignment the file system needs) or
                    // moved less: the same operation, buffered.
                    fallbacks += 1
                    done.append(doBuffered(submitted, tag: event.tag))
                } else {
                    done.append(Completion(tag: event.tag, succeeded: false, error: Int32(truncatingIfNeeded: -event.result)))
                }
            }
            if got < TERN_AIO_REAP_MAX { break }
        }
        return done
    }

    func doBuffered(_ submitted: Submitted, tag: UInt64) -> Completion {
        let ok: Bool
        switch submitted.operation {
        case .read: ok = image.transfer(submitted.pieces, at: submitted.offset, write: false)
        case .write: ok = image.transfer(submitted.pieces, at: submitted.offset, write: true)
        case .sync: ok = image.sync()
        }
        return Completion(tag: tag, succeeded: ok, error: ok ? 0 : errno)
    }
}
