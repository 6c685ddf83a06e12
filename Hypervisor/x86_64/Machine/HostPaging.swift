import TernCore
import TernCPU

/// The hypervisor's own page tables, replacing the early identity map:
///  - the image at its physical address, W^X by section: text RX, rodata
///    R, data/bss RW+NX, stacks RW+NX with an unmapped guard page below
///    each (a stack overflow faults instead of corrupting its neighbour);
///  - the direct map: all RAM at Layout.directMapBase + phys, RW+NX, minus
///    the image, so the image has no writable or executable alias;
///  - fixed device mappings, uncached.
/// Tables are built in frames below 4 GiB, reached through the early
/// identity map while building.
enum HostPaging {

    enum SetupError {
        case noFrameForRoot
        case map(PageTable.MapError)
    }

    static func build(image: tern_image_symbols, lapicPhysical: UInt64, bitmapPhysical: UInt64) -> SetupError? {
        let memory = PhysicalWindow.early
        guard let rootFrame = Platform.allocateFrame(below: Layout.earlyIdentityMapEnd),
              let rootTable = memory.mutableBytes(at: rootFrame, count: Int(Layout.pageSize)) else {
            return .noFrameForRoot
        }
        // SAFETY: the frame just allocated below 4 GiB, reached through the
        // early identity map for its 4 KiB (mutableBytes checked).
        rootTable.initializeMemory(as: UInt8.self, repeating: 0)
        imageRange = PhysicalRange(start: image.image_start, end: image.image_end)

        func map(_ virtual: UInt64, _ physical: UInt64, _ size: UInt64, _ flags: PageFlags) throws(PageTable.MapError) {
            try PageTable.map(root: rootFrame, virtual: virtual, physical: physical, size: size, flags: flags,
                              memory: memory, allocateFrame: { Platform.allocateFrame(below: Layout.earlyIdentityMapEnd) })
        }
        func identity(_ start: UInt64, _ end: UInt64, _ flags: PageFlags) throws(PageTable.MapError) {
            try map(start, start, end - start, flags)
        }
        func directMap(_ piece: PhysicalRange) throws(PageTable.MapError) {
            // RAM beyond the direct map's 512 GiB stays unmapped (and unused).
            guard !piece.isEmpty, piece.end <= Layout.directMapSize else { return }
            try map(Layout.directMapBase + piece.start, piece.start, piece.length, .data)
            Platform.directMapEnd = max(Platform.directMapEnd, piece.end)
        }

        do throws(PageTable.MapError) {
            try identity(image.text_start, image.text_end, .text)
            try identity(image.rodata_start, image.rodata_end, .readOnlyData)
            try identity(image.data_start, image.data_end, .data)
            try identity(image.bss_start, image.stacks_start, .data)
            for slot in 0..<Layout.stackSlots {
                let stack = image.stacks_start + UInt64(slot) * Layout.stackSlotSize + Layout.pageSize
                try identity(stack, stack + Layout.stackSize, .data)
            }
            try identity(image.stacks_end, image.image_end, .data)

            for i in 0..<Platform.memoryMap.count {
                let region = Platform.memoryMap[i]
                guard isRAM(region.kind) else { continue }
                let ram = region.range.alignedInward(to: Layout.pageSize)
                let pieces = ram.subtracting(imageRange)
                try directMap(pieces.before)
                try directMap(pieces.after)
            }
            try map(Layout.lapicVirtual, lapicPhysical, Layout.pageSize, .device)
            try map(Layout.ioapicVirtual, Layout.ioapicPhysical, Layout.pageSize, .device)
        } catch {
            return .map(error)
        }
        root = rootFrame
        tern_write_cr3(rootFrame)
        // The identity map below 4 GiB is gone: the frame bitmap is now
        // reached through the direct map.
        // SAFETY: the bitmap is usable RAM, so the direct map covers it.
        let bitmap = PhysicalWindow.directMap.mutableBytes(at: bitmapPhysical, count: Platform.frames!.bitmapByteCount)!
        Platform.frames!.bitmapMoved(to: bitmap.baseAddress!.assumingMemoryBound(to: UInt64.self))
        return nil
    }

    static func isRAM(_ kind: MemoryKind) -> Bool {
        kind == .usable || kind == .acpiReclaimable || kind == .acpiNVS
    }

    /// Whether all of `range` is reachable through the direct map.
    static func isDirectMapped(_ range: PhysicalRange) -> Bool {
        guard !range.overlaps(imageRange), range.end <= Platform.directMapEnd else { return false }
        for i in 0..<Platform.memoryMap.count where isRAM(Platform.memoryMap[i].kind) {
            let ram = Platform.memoryMap[i].range.alignedInward(to: Layout.pageSize)
            if ram.start <= range.start && range.end <= ram.end { return true }
        }
        return false
    }

    /// Walks the live tables and counts mappings that are both writable
    /// and executable in the image and the direct map. Should be zero.
    static func countWritableExecutable(image: tern_image_symbols) -> Int {
        var bad = 0
        let memory = PhysicalWindow.directMap
        var address = image.image_start
        while address < image.image_end {
            if let t = PageTable.translate(root: root, virtual: address, memory: memory),
               t.flags.contains(.writable) && !t.flags.contains(.noExecute) {
                bad += 1
            }
            address += Layout.pageSize
        }
        var physical: UInt64 = 0
        while physical < Platform.directMapEnd {
            if let t = PageTable.translate(root: root, virtual: Layout.directMapBase + physical, memory: memory),
               !t.flags.contains(.noExecute) {
                bad += 1
            }
            physical += Layout.largePageSize
        }
        return bad
    }
}
