import Glibc
import TernSyscalls
import TernToolstack

/// posix_spawn for Swift (TernSyscalls): argv[0] is the path.
enum Spawn {
    /// How long `tern create` or an attach waits for a backend's word.
    static let readyTimeoutMilliseconds: Int32 = 10_000

    /// Starts backend supervisor `arguments` (`tern block-backend ...`,
    /// `tern network-backend ...`), detached, with `--status-fd 3`, and
    /// waits for its "ready"; a problem starts with `naming` ("web: disk xvdb").
    static func backend(_ arguments: [String], naming: String) throws(GuestLoad.Problem) {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            throw GuestLoad.Problem("\(naming): cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        // (Only descriptor 3, the write end's copy, reaches the backend.)
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let pid = run(arguments + ["--status-fd", "3"], fds: [pipeEnds[1]], detach: true)
        close(pipeEnds[1])
        defer { close(pipeEnds[0]) }
        guard pid > 0 else {
            throw GuestLoad.Problem("\(naming): cannot start its backend: \(String(cString: strerror(-pid)))")
        }
        let line = Files.firstLine(from: pipeEnds[0], timeoutMilliseconds: readyTimeoutMilliseconds)
        guard line == "ready" else {
            let why = line.map { $0.hasPrefix("error: ") ? String($0.dropFirst("error: ".count)) : $0 } ?? "its backend did not start"
            throw GuestLoad.Problem("\(naming): \(why)")
        }
    }

    static func run(_ arguments: [String], fds: [Int32], detach: Bool) -> Int32 {
        var cStrings = arguments.map { strdup($0) }
        defer { for s in cStrings { free(s) } }
        cStrings.append(nil)
        return fds.withUnsafeBufferPointer { list in
            cStrings.withUnsafeBufferPointer { argv in
                // SAFETY: argv is NULL-terminated C strings alive for the
                // call; `list` holds fds.count descriptors.
                tern_spawn(argv.baseAddress, list.baseAddress, Int32(list.count), detach ? 1 : 0)
            }
        }
    }
}
