import Glibc
import TernSyscalls

/// The file or block device a guest's disk is, open in Dom0 for the
/// backend (docs/blockback.md): locked so that no other guest's backend
/// writes it at the same time (flock: shared for a read-only disk,
/// exclusive for a writable one), its size in 512-byte sectors.
public final class DiskImage {
    public static let sectorSize: UInt64 = 512
    static let lockWaitMicroseconds: UInt32 = 2_000_000, lockPollMicroseconds: UInt32 = 20_000
    public let path: String
    public let fd: Int32
    public let readOnly: Bool
    public let bytes: UInt64
    /// A regular file: discard punches holes (fallocate).
    public let isRegularFile: Bool

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case cannotOpen(String, Int32)
        case inUse(String, readOnly: Bool)
        case notADisk(String, String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let error): return "\(path): \(String(cString: strerror(error)))"
            case .inUse(let path, let readOnly):
                return readOnly ? "\(path) is in use read-write by another guest's disk"
                                : "\(path) is in use by another guest's disk (read-write needs it alone)"
            case .notADisk(let path, let why): return "\(path): \(why)"
            }
        }
    }

    public init(path: String, readOnly: Bool) throws(Failure) {
        let fd = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path, errno) }
        // A guest just destroyed may still be letting go of it (its
        // backend ends when it learns the guest died): wait a little.
        var waited: UInt32 = 0
        while flock(fd, (readOnly ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
            let error = errno
            if error == EWOULDBLOCK && waited < DiskImage.lockWaitMicroseconds {
                usleep(DiskImage.lockPollMicroseconds)
                waited += DiskImage.lockPollMicroseconds
                continue
            }
            close(fd)
            if error == EWOULDBLOCK { throw .inUse(path, readOnly: readOnly) }
            throw .cannotOpen(path, error)
        }
        let measured: (bytes: UInt64, isRegularFile: Bool)
        do throws(Failure) { measured = try DiskImage.measure(fd, path: path) } catch {
            close(fd)
            throw error
        }
        let size = measured.bytes
        guard size >= DiskImage.sectorSize, size % DiskImage.sectorSize == 0 else {
            close(fd)
            throw .notADisk(path, "\(size) bytes: a disk is a whole number of 512-byte sectors, at least one")
        }
        self.path = path
        self.fd = fd
        self.readOnly = readOnly
        self.bytes = size
        self.isRegularFile = measured.isRegularFile
    }

    /// An image already open and locked (a worker inherits its supervisor's).
    public init(adopting fd: Int32, path: String, readOnly: Bool) throws(Failure) {
        let measured = try DiskImage.measure(fd, path: path)
        self.path = path
        self.fd = fd
        self.readOnly = readOnly
        self.bytes = measured.bytes
        self.isRegularFile = measured.isRegularFile
    }

    /// An open image's size in bytes, and whether it is a regular file (a
    /// block device's size is where its end is).
    static func measure(_ fd: Int32, path: String) throws(Failure) -> (bytes: UInt64, isRegularFile: Bool) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .cannotOpen(path, errno) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return (UInt64(info.st_size), true)
        case S_IFBLK:
            let end = lseek(fd, 0, SEEK_END)
            return (end > 0 ? UInt64(end) : 0, false)
        default: throw .notADisk(path, "not a regular file or a block device")
        }
    }

    deinit { close(fd) }

    public var sectors: UInt64 { bytes / DiskImage.sectorSize }

    /// Reads or writes every byte of `pieces` (in order) at `offset`; false
    /// on an I/O error or a short transfer (past the end).
    public func transfer(_ pieces: [iovec], at offset: UInt64, write: Bool) -> Bool {
        var remaining = pieces
        var position = off_t(offset)
        while !remaining.isEmpty {
            // SAFETY: each iovec names a mapped page range of the request
            // (GrantPages), alive until the request is answered.
            let done = remaining.withUnsafeBufferPointer { list in
                write ? pwritev(fd, list.baseAddress, Int32(list.count), position)
                      : preadv(fd, list.baseAddress, Int32(list.count), position)
            }
            if done < 0 && errno == EINTR { continue }
            guard done > 0 else { return false }
            position += off_t(done)
            var left = done
            while left > 0, let first = remaining.first {
                if left >= first.iov_len {
                    left -= first.iov_len
                    remaining.removeFirst()
                } else {
                    // SAFETY: advancing within the same iovec's range.
                    remaining[0] = iovec(iov_base: first.iov_base! + left, iov_len: first.iov_len - left)
                    left = 0
                }
            }
        }
        return true
    }

    public func sync() -> Bool { fdatasync(fd) == 0 }

    /// Gives back [offset, offset + length) (a hole in a regular file);
    /// false where it cannot.
    public func discard(at offset: UInt64, length: UInt64) -> Bool {
        guard isRegularFile, !readOnly else { return false }
        return tern_punch_hole(fd, Int64(offset), Int64(length)) == 0
    }
}
