// swift-tools-version: 6.0
// Host build of Tern: the hypervisor's pure-Swift logic as a library, so
// it is unit-tested with `swift test`. The bare-metal image is built by the
// Makefile (swiftc in Embedded mode + nasm + ld.lld), from the same files.
import PackageDescription

let package = Package(
    name: "Tern",
    targets: [
        // The public ABI headers (Hypervisor/ABI/include/tern/abi.h): one
        // definition for the hypervisor, guests, Dom0 and the toolstack.
        .systemLibrary(name: "TernABI", path: "Hypervisor/ABI/include"),
        // Arch-neutral core plus the pure (instruction-free) x86-64 model:
        // page-table encoding, descriptors, layout.
        .target(
            name: "TernCore",
            dependencies: ["TernABI"],
            path: "Hypervisor",
            exclude: ["x86_64/Machine", "x86_64/include", "Runtime", "ABI"],
            sources: ["Core", "x86_64/Model"]
        ),
        // Shared-memory I/O rings (io/ring.h semantics): for guests and
        // Dom0 user space; pure Swift over the ABI's ring.h.
        .target(
            name: "TernRing",
            dependencies: ["TernABI"],
            path: "Hypervisor/ABI/Ring"
        ),
        .testTarget(
            name: "TernCoreTests",
            dependencies: ["TernCore", "TernRing"],
            path: "Tests/TernCoreTests"
        ),
    ],
    swiftLanguageModes: [.v5]
)
