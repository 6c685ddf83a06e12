import TernCore
import TernCPU

/// Swift ends of Hypervisor/Runtime/runtime.c: console output for print()
/// and the heap behind posix_memalign/free.

@_cdecl("tern_runtime_putchar")
func ternRuntimePutchar(_ c: Int32) {
    Serial.write(byte: UInt8(truncatingIfNeeded: c))
}

@_cdecl("tern_runtime_out_of_memory")
func ternRuntimeOutOfMemory(_ size: Int) -> Never {
    Panic.fatal("hypervisor heap exhausted: \(size) bytes requested, \(KernelHeap.heap?.bytesInUse ?? 0) in use")
}

enum KernelHeap {
}

@_cdecl("tern_heap_allocate")
func ternHeapAllocate(_ size: Int, _ alignment: Int) -> UnsafeMutableRawPointer? {
    if KernelHeap.heap == nil {
        KernelHeap.heap = Heap(base: tern_heap_area(), size: tern_heap_area_size(), startMap: tern_heap_start_map(), mapIsZeroed: true)
    }
    return KernelHeap.heap!.allocate(size: size, alignment: alignment)
}

@_cdecl("tern_heap_free")
func ternHeapFree(_ pointer: UnsafeMutableRawPointer) {
    do throws(Heap.FreeError) {
        try KernelHeap.heap?.free(pointer)
    } catch {
        switch error {
        case .notFromHeap(let p): Panic.fatal("free of \(hex: p), which is not heap memory")
        case .notABlock(let p): Panic.fatal("free of \(hex: p), which is not the start of a heap block")
        case .doubleFree(let p): Panic.fatal("double free of heap block \(hex: p)")
        }
    }
}
