import ArgumentParser
import Glibc
import TernABI
import TernToolstack

struct Dmesg: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Tern's log (its own lines and the guests' consoles), like xl dmesg.")
    @Flag(help: "Keep printing new lines as they come.") var follow = false

    func run() throws {
        let device = try openDevice()
        let waiter = LogWaiter(device)
        var position: UInt64 = 0
        while true {
            do throws(ControlDevice.Failure) {
                let chunk = try device.readLog(from: position)
                if chunk.lost > 0 { Output.out("[\(chunk.lost) bytes lost]\n") }
                Output.out(String(decoding: chunk.bytes, as: UTF8.self))
                position = chunk.next
                if chunk.next >= chunk.end {
                    if !follow { return }
                    waiter.wait(milliseconds: 1000)
                }
            } catch {
                throw fail(error.description)
            }
        }
    }
}

/// Where `tern logd` keeps each domain's console output.
enum ConsoleLog {
    static let directory = "/var/log/tern"
    static func path(_ domid: UInt32, _ name: String) -> String { "\(directory)/d\(domid)-\(name).log" }
}

struct Logd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep every guest's console output in /var/log/tern/dN-NAME.log (run in the background).",
        discussion: "Dom0's init starts it. `tern console` reads these files, so a guest's output outlives the guest.")

    func run() throws {
        let device = try openDevice()
        mkdir(ConsoleLog.directory, 0o755)
        let waiter = LogWaiter(device)
        let lifecycle = Lifecycle(device)   // restarts guests that stopped (Lifecycle.swift)
        var names: [UInt32: String] = [:]
        var position: UInt64 = 0
        var partial = ""
        while true {
            lifecycle.wake()
            guard let chunk = try? device.readLog(from: position) else { Clock.sleep(milliseconds: 500); continue }
            position = chunk.next
            partial += String(decoding: chunk.bytes, as: UTF8.self)
            while let newline = partial.firstIndex(of: "\n") {
                let line = partial[..<newline]
                record(line, names: &names, device: device)
                partial = String(partial[partial.index(after: newline)...])
            }
            if chunk.next >= chunk.end { waiter.wait(milliseconds: 1000) }
        }
    }

    /// Tern's "dN NAME: created" lines name ids (ids are reused); guest
    /// lines go to their domain's file.
    func record(_ line: Substring, names: inout [UInt32: String], device: ControlDevice) {
        if line.hasPrefix("(tern) d"), let created = line.firstRange(of: ": created") {
            let words = line[line.index(line.startIndex, offsetBy: 7)..<created.lowerBound].split(separator: " ")
            if words.count == 2, let id = UInt32(words[0].dropFirst()) { names[id] = String(words[1]) }
            return
        }
        guard let (domid, text) = ConsoleLines.parse(line) else { return }
        if names[domid] == nil { names[domid] = (try? device.domains())?.first { $0.id == domid }?.name ?? "unknown" }
        Files.append(text + "\n", to: ConsoleLog.path(domid, names[domid]!))
    }
}
