// swift-tools-version: 6.0
// Host build of Tern: the hypervisor's pure-Swift logic as a library, so
// it is unit-tested with `swift test`. The bare-metal image is built by the
// Makefile (swiftc in Embedded mode + nasm + ld.lld), from the same files.
// Also Dom0's toolstack: the `tern` CLI (built static for Dom0's initramfs
// by Dom0/toolstack/build.sh) and its host-tested library.
import PackageDescription

let package = Package(
    name: "Tern",
    products: [
        .executable(name: "tern", targets: ["tern"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The public ABI headers (Hypervisor/ABI/include/tern/*.h): one
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
        // Dom0's block backend: blkif request handling over ring memory,
        // pure (no I/O): copy once, validate the copy, complete responses.
        .target(
            name: "TernBlock",
            dependencies: ["TernABI", "TernRing"],
            path: "Dom0/blockback/TernBlock"
        ),
        // Dom0's network backend: netif tx/rx slot handling, pure (no
        // I/O): copy once, check the copy, complete responses.
        .target(
            name: "TernNet",
            dependencies: ["TernABI", "TernRing"],
            path: "Dom0/netback/TernNet"
        ),
        // Dom0's network backend process: the tap, the guest's pages, the
        // serving loop (`tern network-backend`, docs/netback.md).
        .target(
            name: "TernNetBackend",
            dependencies: ["TernABI", "TernNet", "TernToolstack", "TernSyscalls"],
            path: "Dom0/netback/TernNetBackend"
        ),
        // Dom0's block backend process: the disk image, the guest's pages,
        // the serving loop (`tern block-backend`, docs/blockback.md).
        .target(
            name: "TernBlockBackend",
            dependencies: ["TernABI", "TernRing", "TernBlock", "TernToolstack", "TernSyscalls"],
            path: "Dom0/blockback/TernBlockBackend"
        ),
        // Dom0 toolstack: C wrappers for ioctl(2) and termios, the library
        // (config, checks, formatting, /dev/tern), the CLI.
        .target(name: "TernSyscalls", path: "Dom0/toolstack/TernSyscalls"),
        .target(
            name: "TernToolstack",
            dependencies: ["TernABI", "TernSyscalls"],
            path: "Dom0/toolstack/TernToolstack"
        ),
        .executableTarget(
            name: "tern",
            dependencies: ["TernToolstack", "TernBlockBackend", "TernNetBackend",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Dom0/toolstack/tern"
        ),
        .testTarget(
            name: "TernCoreTests",
            dependencies: ["TernCore", "TernRing"],
            path: "Tests/TernCoreTests"
        ),
        .testTarget(
            name: "BlockBackendTests",
            dependencies: ["TernBlock"],
            path: "Tests/BlockBackendTests"
        ),
        .testTarget(
            name: "NetBackendTests",
            dependencies: ["TernNet"],
            path: "Tests/NetBackendTests"
        ),
        .testTarget(
            name: "ToolstackTests",
            dependencies: ["TernToolstack"],
            path: "Tests/ToolstackTests"
        ),
    ],
    swiftLanguageModes: [.v5]
)
