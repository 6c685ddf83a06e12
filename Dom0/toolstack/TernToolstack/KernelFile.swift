import Glibc
import TernABI

/// A guest's kernel file, read for `tern create`: only a regular file no
/// larger than the largest image Tern takes (TERN_IMAGE_FRAMES_MAX frames,
/// tern/control.h), told by fstat before anything is read, and never more
/// than that read (/dev/zero, a FIFO or a huge file cannot make the
/// toolstack allocate without end).
public enum KernelFile {
    public static let maxBytes = UInt64(TERN_IMAGE_FRAMES_MAX) * Frames.size
    static let chunkSize = 65536

    public enum Failure: Error, Equatable {
        case cannotOpen(Int32)
        case notRegular(String)       // what it is instead
        case tooLarge(UInt64)         // its size in bytes (at least)
        case cannotRead(Int32)
    }

    /// The file's bytes, or why not; `limit` is Tern's unless a test says.
    public static func read(_ path: String, limit: UInt64 = maxBytes) -> Result<[UInt8], Failure> {
        // O_NONBLOCK: opening a FIFO does not wait for a writer (it is
        // refused just after); a regular file's reads ignore the flag.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(.cannotOpen(errno)) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return .failure(.cannotRead(errno)) }
        let type = status.st_mode & S_IFMT
        guard type == S_IFREG else { return .failure(.notRegular(kind(type))) }
        guard UInt64(status.st_size) <= limit else { return .failure(.tooLarge(UInt64(status.st_size))) }
        // Up to a byte past the limit: a file that grew since fstat is
        // still refused, and never read further.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.st_size) + 1)
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while UInt64(bytes.count) <= limit {
            let want = min(chunk.count, Int(limit) + 1 - bytes.count)
            // SAFETY: read(2) writes at most `want` <= chunk.count bytes into chunk's storage.
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0 { if errno == EINTR { continue }; return .failure(.cannotRead(errno)) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        guard UInt64(bytes.count) <= limit else { return .failure(.tooLarge(UInt64(bytes.count))) }
        return .success(bytes)
    }

    static func kind(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }
}

extension KernelFile.Failure: CustomStringConvertible {
    /// What follows "PATH: " in `tern create`'s message.
    public var description: String {
        switch self {
        case .cannotOpen(let e): return "cannot open: \(Files.errorText(e))"
        case .cannotRead(let e): return "cannot read: \(Files.errorText(e))"
        case .notRegular(let what): return "not a regular file (\(what))"
        case .tooLarge(let size):
            return "\(Frames.text(size)): larger than the \(Frames.text(KernelFile.maxBytes)) a guest image may be (TERN_IMAGE_FRAMES_MAX)"
        }
    }
}
