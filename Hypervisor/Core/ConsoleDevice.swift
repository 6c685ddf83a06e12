import TernABI

/// The console device Tern serves for every DomU (tern/device.h): a
/// struct tern_console_ring in the guest's control page 0 and a port bound
/// to Tern. A send on that port makes Tern consume the `out` ring at once
/// and print it line by line, as TERN_HC_CONSOLE_WRITE does. Input goes
/// the other way: the toolstack's TERN_HC_CONSOLE_INPUT puts bytes in the
/// `in` ring, and Tern notifies the guest on the same port.
enum ConsoleDevice {
    // struct tern_console_ring's layout (device.h, fixed by its static
    // assert): in[], out[], then in_cons, in_prod, out_cons, out_prod.
    static let inSize = Int(TERN_CONSOLE_IN_SIZE)
    static let outSize = Int(TERN_CONSOLE_OUT_SIZE)
    static let outOffset = inSize
    static let inConsOffset = inSize + outSize
    static let inProdOffset = inConsOffset + MemoryLayout<UInt32>.size
    static let outConsOffset = inSize + outSize + 2 * MemoryLayout<UInt32>.size
    static let outProdOffset = outConsOffset + MemoryLayout<UInt32>.size
    static let ringSize = MemoryLayout<tern_console_ring>.size

    static func drain<Host: HypercallHost>(_ domain: Domain, host: Host) {
        let gpa = domain.devices.controlGPA(slot: DeviceList.consoleSlot)
        guard let ring = host.memory(of: domain).mutableBytes(at: gpa, count: ringSize) else { return }
        // SAFETY: `ring` covers the whole struct (mutableBytes checked it is
        // this guest's memory, in one page); the indices are 4-byte aligned
        // in it (a page-aligned control page). The guest is not running.
        let producer = ring.load(fromByteOffset: outProdOffset, as: UInt32.self)
        var consumer = ring.load(fromByteOffset: outConsOffset, as: UInt32.self)
        // The guest's producer index is not trusted: more than a ring's
        // worth outstanding is corruption; skip to its producer.
        if producer &- consumer > UInt32(outSize) {
            domain.name.withUnsafeBytes { Log.warning("d\(domain.id) \(text: $0): console ring indices corrupt (out_cons \(consumer), out_prod \(producer)): skipped") }
            consumer = producer
        }
        while consumer != producer {
            Hypercalls.consoleByte(ring[outOffset + Int(consumer & UInt32(outSize - 1))], domain: domain, host: host)
            consumer &+= 1
        }
        // SAFETY: out_cons, inside `ring` as above (the loop's reads are
        // masked by outSize - 1, inside out[]).
        ring.storeBytes(of: consumer, toByteOffset: outConsOffset, as: UInt32.self)
    }

    /// Puts as many of `bytes` as fit into the guest's `in` ring and
    /// notifies its console port; how many went in (0: the ring is full,
    /// or the guest corrupted in_cons, which is logged).
    static func input<Host: HypercallHost>(_ bytes: UnsafeRawBufferPointer, to domain: Domain, host: Host) -> Int {
        guard let entry = domain.devices.entries.first(where: { $0.type == UInt16(TERN_DEVICE_CONSOLE) }) else { return 0 }
        let gpa = domain.devices.controlGPA(slot: DeviceList.consoleSlot)
        guard let ring = host.memory(of: domain).mutableBytes(at: gpa, count: ringSize) else { return 0 }
        // SAFETY: as in drain: the whole struct, aligned indices.
        var producer = ring.load(fromByteOffset: inProdOffset, as: UInt32.self)
        let consumer = ring.load(fromByteOffset: inConsOffset, as: UInt32.self)
        let used = producer &- consumer
        guard used <= UInt32(inSize) else {
            domain.name.withUnsafeBytes { Log.warning("d\(domain.id) \(text: $0): console ring indices corrupt (in_cons \(consumer), in_prod \(producer)): input dropped") }
            return 0
        }
        let count = min(bytes.count, inSize - Int(used))
        for byte in bytes.prefix(count) {
            ring[Int(producer & UInt32(inSize - 1))] = byte
            producer &+= 1
        }
        // SAFETY: in_prod, inside `ring` as above (the loop's writes are
        // masked by inSize - 1, inside in[]).
        ring.storeBytes(of: producer, toByteOffset: inProdOffset, as: UInt32.self)
        if count > 0 { EventDelivery.notify(domain, port: entry.port) }
        return count
    }
}
