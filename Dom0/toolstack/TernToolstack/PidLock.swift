import Glibc

/// One process at a time (`tern logd`): an exclusive flock(2) on a file
/// that then holds the holder's pid. The kernel drops the lock when the
/// holder exits, however it exits, so a stale file never blocks.
public final class PidLock {
    public static let logdPath = "/run/tern-logd.pid"

    public enum Refusal: Error, Equatable {
        /// Another process holds it (its pid, if it has written it yet).
        case held(by: Int32?)
        case cannotOpen(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .held(let pid): return "already running (pid \(pid.map { "\($0)" } ?? "unknown"))"
            case .cannotOpen(let path, let e): return "cannot lock \(path): \(Files.errorText(e))"
            }
        }
    }

    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Releases the lock.
    deinit { close(fd) }

    /// How long to wait for a holder that has the lock but has not written its pid yet.
    static let pidWaitRounds = 10, pidWaitMilliseconds: UInt32 = 10

    public static func acquire(_ path: String) -> Result<PidLock, Refusal> {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .failure(.cannotOpen(path: path, errno: errno)) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return .failure(.held(by: holder(path)))
        }
        ftruncate(fd, 0)
        Output.write(fd, "\(getpid())\n")
        return .success(PidLock(fd: fd))
    }

    /// The pid the holder wrote (it takes the lock, then writes it).
    static func holder(_ path: String) -> Int32? {
        for _ in 0..<pidWaitRounds {
            if case .success(let bytes) = Files.read(path),
               let pid = Int32(String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? "") { return pid }
            Clock.sleep(milliseconds: pidWaitMilliseconds)
        }
        return nil
    }
}
