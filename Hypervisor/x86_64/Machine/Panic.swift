import TernCore
import TernCPU

/// Fatal stops: a readable report on the console, then halt forever.
/// Boot tests treat "PANIC" and "FATAL" lines as failures (or, for the
/// fault selftest, check their contents).
enum Panic {
    static let maxBacktraceFrames = 16

    /// A software-detected fatal condition.
    static func fatal(_ message: LogMessage) -> Never {
        Log.always("FATAL: \(message)")
        haltForever()
    }

    /// An exception in the hypervisor itself.
    static func exception(_ f: tern_interrupt_frame) -> Never {
        let vector = Int(f.vector)
        let cr2 = tern_read_cr2()
        Log.always("****************************************************************")
        Log.always("PANIC: \(Exceptions.mnemonic(vector)) \(Exceptions.name(vector)) (vector \(vector)), error code \(hex: f.error_code)")
        if vector == Exceptions.pageFault {
            let code = Exceptions.PageFaultCode(rawValue: f.error_code)
            let access: StaticString = code.contains(.instructionFetch) ? "instruction fetch"
                : code.contains(.write) ? "write" : "read"
            let cause: StaticString = code.contains(.reservedBit) ? "reserved bit set"
                : code.contains(.present) ? "protection violation" : "page not present"
            Log.always("  page fault: \(access) at CR2=\(hex: cr2, digits: 16), \(cause)")
        }
        Log.always("  RIP: \(hex: f.rip, digits: 16)  CS: \(hex: f.cs, digits: 4)  RFLAGS: \(hex: f.rflags, digits: 8)")
        Log.always("  RSP: \(hex: f.rsp, digits: 16)  SS: \(hex: f.ss, digits: 4)")
        Log.always("  CR0: \(hex: tern_read_cr0(), digits: 16)  CR2: \(hex: cr2, digits: 16)")
        Log.always("  CR3: \(hex: tern_read_cr3(), digits: 16)  CR4: \(hex: tern_read_cr4(), digits: 16)")
        Log.always("  RAX: \(hex: f.rax, digits: 16)  RBX: \(hex: f.rbx, digits: 16)  RCX: \(hex: f.rcx, digits: 16)")
        Log.always("  RDX: \(hex: f.rdx, digits: 16)  RSI: \(hex: f.rsi, digits: 16)  RDI: \(hex: f.rdi, digits: 16)")
        Log.always("  RBP: \(hex: f.rbp, digits: 16)  R8:  \(hex: f.r8, digits: 16)  R9:  \(hex: f.r9, digits: 16)")
        Log.always("  R10: \(hex: f.r10, digits: 16)  R11: \(hex: f.r11, digits: 16)  R12: \(hex: f.r12, digits: 16)")
        Log.always("  R13: \(hex: f.r13, digits: 16)  R14: \(hex: f.r14, digits: 16)  R15: \(hex: f.r15, digits: 16)")
        backtrace(rip: f.rip, rbp: f.rbp)
        Log.always("Hypervisor halted. (addr2line -e build/tern.elf ADDRESS names a frame)")
        haltForever()
    }

    /// Frame-pointer walk: [rbp] = caller's rbp, [rbp+8] = return address.
    /// Only follows rbp inside the stack area, aligned, and strictly
    /// upwards, so a corrupt chain ends the walk instead of faulting.
    static func backtrace(rip: UInt64, rbp: UInt64) {
        let layout = tern_image_layout()
        Log.always("  Backtrace:")
        Log.always("    #0  \(hex: rip, digits: 16)")
        var frame = rbp
        var depth = 1
        while depth < maxBacktraceFrames, frame & 7 == 0,
              frame >= layout.stacks_start, frame + 16 <= layout.stacks_end,
              (frame - layout.stacks_start) % Layout.stackSlotSize >= Layout.pageSize,  // not a guard page
              (frame + 15 - layout.stacks_start) % Layout.stackSlotSize >= 16 {           // not across slots
            // SAFETY: frame lies inside the mapped stack area (checked above).
            let slots = UnsafePointer<UInt64>(bitPattern: UInt(frame))!
            let returnAddress = slots[1]
            guard returnAddress != 0 else { break }
            Log.always("    #\(depth)  \(hex: returnAddress, digits: 16)")
            let next = slots[0]
            guard next > frame else { break }
            frame = next
            depth += 1
        }
    }

    static func haltForever() -> Never {
        while true {
            tern_cli()
            tern_hlt()
        }
    }
}
