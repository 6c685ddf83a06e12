import XCTest
import TernABI
@testable import TernCore

/// Real domains for the inter-domain tests: built by DomainBuilder on a
/// fake host (nested tables, event page, grant table, device page and
/// console in place, as on bare metal), driven through the hypercall
/// dispatcher.
final class InterDomainHost: HypercallHost {
    let machine: FakeHostMachine
    var domains: [UInt16: Domain] = [:]
    var lines: [(domain: UInt16, text: String)] = []
    var released: [UInt16] = []
    var now: UInt64 = 1_000_000

    init(machine: FakeHostMachine) { self.machine = machine }

    func memory(of domain: Domain) -> GuestMemory<FakeHostMemory> { GuestMemory(of: domain, host: machine.memory) }
    func nowNanoseconds() -> UInt64 { now }
    func timeInfo() -> tern_time_info { tern_time_info(tsc_hz: 1_000_000_000, system_time_ns: now, tsc_stamp: 0, reserved: 0) }
    func domain(withID id: UInt16) -> Domain? { domains[id] }
    func firstDomain(atOrAfter id: UInt64) -> Domain? {
        domains.keys.sorted().first { UInt64($0) >= id }.flatMap { domains[$0] }
    }
    var consoleRing: ConsoleRing { fatalError("not used by these tests") }
    func consoleLine(from domain: Domain, _ line: UnsafeRawBufferPointer) {
        lines.append((domain.id, String(decoding: line, as: UTF8.self)))
    }
    func releaseDying(_ domain: Domain) {
        released.append(domain.id)
        DomainBuilder.release(domain, allocator: &machine.frames)
        domains[domain.id] = nil
    }

    // MARK: domain control, as the machine layer does it

    var pool = ShellPool()
    var shells: [DomainBuilder.Shell] { pool.shells }
    var operations: [(UInt16, DomainOperation)] = []

    /// The ramdisk the last create carried, as the host read it.
    var lastRamdisk: [UInt8]?

    func createDomain(_ request: DomainRequest) -> Result<CreatedDomain, DomainCreateFailure> {
        lastRamdisk = nil
        if let ramdisk = request.ramdisk {
            var bytes: [UInt8] = []
            for i in 0..<ramdisk.count {
                guard let frame = ramdisk.frame(i) else { return .failure(.hostMemoryUnreachable) }
                bytes += Array(machine.memory.bytes(at: frame, count: 4096)!)
            }
            lastRamdisk = Array(bytes.prefix(ramdisk.bytes))
        }
        var image: [UInt8] = []
        for i in 0..<request.image.count {
            guard let frame = request.image.frame(i) else { return .failure(.hostMemoryUnreachable) }
            image += Array(machine.memory.bytes(at: frame, count: 4096)!)
        }
        image = Array(image.prefix(request.image.bytes))
        guard let id = (1...UInt16(TERN_DOMAINS_MAX - 1)).first(where: { domains[$0] == nil }) else { return .failure(.noFreeID) }
        let domain = Domain(id: id, name: request.name, privileged: false, weight: request.weight)
        let shell = request.fromPool ? pool.take(memoryBytes: request.memoryBytes) : nil
        let ok: Bool = image.withUnsafeBytes { img in
            request.commandLine.withUnsafeBytes { line in
                do throws(DomainBuilder.Error) {
                    _ = try DomainBuilder.build(domain: domain, memoryBytes: request.memoryBytes, image: img, commandLine: line,
                                                host: machine.memory, frames: &machine.frames, shell: shell)
                    return true
                } catch {
                    return false
                }
            }
        }
        guard ok else { return .failure(.badImage) }
        domain.addVCPU(VCPU(domainID: id, index: 0))
        domain.state = request.start ? .running : .paused
        domain.keepWhenStopped = request.keepWhenStopped
        domains[id] = domain
        return .success(CreatedDomain(id: id, buildNanoseconds: 1, fromPool: shell != nil))
    }

    func control(_ domain: Domain, _ operation: DomainOperation) {
        operations.append((domain.id, operation))
        switch operation {
        case .pause: domain.pause()
        case .unpause: domain.unpause()
        case .shutdown, .destroy:
            domain.markStopped(.shutdown)
            DomainTeardown.disconnect(domain, host: self)
            if domain.grants.mappedByOthers == 0 { releaseDying(domain) } else { domain.state = .dying }
        }
    }

    /// A UART guest's typed bytes, as the machine layer takes them (the
    /// model's receive FIFO, as far as it has room).
    func uartInput(_ bytes: UnsafeRawBufferPointer, to domain: Domain) -> Int {
        var taken = 0
        for byte in bytes where !(domain.context.uart?.receiveFull ?? true) {
            domain.context.uart!.receive(byte)
            taken += 1
        }
        return taken
    }

    func prepareShells(memoryBytes: UInt64, count: Int) -> Int? {
        pool.setTarget(memoryBytes: memoryBytes, count: count, host: machine.memory, frames: &machine.frames)
    }

    func systemInfo() -> tern_system_info {
        var info = tern_system_info()
        info.abi_version = UInt32(TERN_ABI_VERSION)
        info.domains = UInt32(domains.count)
        info.max_domains = UInt32(TERN_DOMAINS_MAX)
        info.pool_shells = UInt32(shells.count)
        info.free_frames = UInt64(machine.frames.freeFrames)
        info.tsc_hz = 1_000_000_000
        info.uptime_ns = now
        info.pool_bytes = UInt64(pool.heldFrames) * 4096
        return info
    }

    /// A running 2 MiB DomU with one vCPU, as Tern builds it.
    @discardableResult
    func build(id: UInt16, name: String = "guest", privileged: Bool = false, emulation: Emulation = []) -> Domain {
        let domain = Domain(id: id, name: Array(name.utf8), privileged: privileged)
        precondition(domain.chooseEmulation(emulation), "emulation set refused")
        let image = ELFTestBuilder.simple(payload: testPattern(64)).bytes()
        let built: Bool = image.withUnsafeBytes { img in
            do throws(DomainBuilder.Error) {
                _ = try DomainBuilder.build(domain: domain, memoryBytes: 2 << 20, image: img,
                                            commandLine: UnsafeRawBufferPointer(start: nil, count: 0),
                                            host: machine.memory, frames: &machine.frames)
                return true
            } catch {
                return false
            }
        }
        precondition(built, "test domain did not build")
        let vcpu = VCPU(domainID: id, index: 0)
        vcpu.state = .runnable
        domain.addVCPU(vcpu)
        domain.state = .running
        domains[id] = domain
        return domain
    }

    /// A hypercall from `domain`'s vCPU; the value it returns in RAX.
    @discardableResult
    func call(_ domain: Domain, _ number: Int32, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> Int64 {
        switch Hypercalls.dispatch(number: UInt64(number), arguments: (a0, a1, a2, a3, 0), vcpu: domain.vcpus[0],
                                   domain: domain, host: self) {
        case .resume(let value): return value
        case .yield: return 0   // RAX = 0, and the caller gives the CPU away
        default: XCTFail("hypercall \(number) did not resume"); return Int64.min
        }
    }

    // MARK: the guest's side of its shared pages

    func grant(_ granter: Domain, ref: UInt32, frameGPA: UInt64, to grantee: UInt16, flags: UInt32 = TERN_GRANT_ACCESS) {
        var entry = tern_grant_entry(flags: UInt16(flags), domid: grantee, frame: UInt32(frameGPA >> 12))
        let ok = withUnsafeBytes(of: &entry) { memory(of: granter).copyToGuest(at: granter.grants.gpa + UInt64(ref) * 8, from: $0) }
        precondition(ok)
    }

    func grantFlags(_ granter: Domain, ref: UInt32) -> UInt16 {
        var entry = tern_grant_entry()
        _ = withUnsafeMutableBytes(of: &entry) { memory(of: granter).copyFromGuest(at: granter.grants.gpa + UInt64(ref) * 8, into: $0) }
        return entry.flags
    }

    func isPending(_ domain: Domain, port: Int64) -> Bool { domain.events.page!.isPending(UInt32(port)) }
    func upcallFlag(_ domain: Domain) -> UInt8 { domain.events.page!.upcallPendingFlag.pointee }

    /// What the guest does with an event: clear the flag and the bit.
    func acknowledge(_ domain: Domain, port: Int64) {
        let page = domain.events.page!
        page.upcallPendingFlag.pointee = 0
        let word = Int(port / 64) * 8
        page.setWord(word, page.word(word) & ~(UInt64(1) << UInt64(port % 64)))
    }

    func status(_ domain: Domain, port: Int64) -> tern_evtchn_status {
        let out = domain.sharedLayout!.control_pages_gpa + 7 * 4096   // a spare control page as scratch
        XCTAssertEqual(call(domain, TERN_HC_EVTCHN_STATUS, UInt64(port), out), 0)
        var status = tern_evtchn_status()
        _ = withUnsafeMutableBytes(of: &status) { memory(of: domain).copyFromGuest(at: out, into: $0) }
        return status
    }

    func deviceEntries(_ domain: Domain) -> (version: UInt32, entries: [tern_device_entry]) {
        let page = domain.devices.page!
        let count = Int(page.load(fromByteOffset: 12, as: UInt32.self))
        let entries = (0..<count).map { page.load(fromByteOffset: 16 + $0 * 32, as: tern_device_entry.self) }
        return (page.load(fromByteOffset: 8, as: UInt32.self), entries)
    }

    /// The nested leaf for `gpa` of `domain`.
    func nestedLeaf(_ domain: Domain, _ gpa: UInt64) -> PageTable.Translation? {
        PageTable.translate(root: domain.nestedRoot, virtual: gpa, memory: machine.memory)
    }
}
