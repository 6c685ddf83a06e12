/// An 8259 that exists only in Tern (Emulation.virtualPIC): the same
/// programming model as the watch on a real chip (LegacyPICWatch: ICW1-4,
/// the vector base, the mask), with no chip behind it. What the guest
/// reads back:
/// - the data port: the mask it wrote (OCW1). Linux's `probe_8259A` writes
///   a mask and reads it back; all ones (an empty bus) makes it use its
///   "NULL legacy PIC", and then ISA IRQ 4 (the UART's) has no irq chip.
/// - the command port: the IRR or ISR that OCW3 selected, always 0: Tern
///   hands a raised line to the LAPIC at once as ExtINT (no request stays
///   latched here) and an ExtINT vector is never in service (SDM 10.5.1).
extension LegacyPICWatch {
    public func virtualRead(commandPort: Bool) -> UInt8 { commandPort ? 0 : mask }
}
