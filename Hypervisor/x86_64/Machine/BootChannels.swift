import TernCore

/// `channel=NAME` on boot modules: Tern connects them once every boot
/// module is a domain, as the toolstack would.
extension Domains {
    /// `channel=NAME` options seen while creating the boot modules.
    struct BootChannels {
        var frontend: UInt16
        var backends: [[UInt8]]
    }

    /// Once every boot module is a domain: Tern does the toolstack's part
    /// for each `channel=` and adds the device (Core/Devices.swift).
    static func connectBootChannels() {
        for request in bootChannels {
            guard let frontend = domain(request.frontend) else { continue }
            for (devid, name) in request.backends.enumerated() {
                let backend = table.first { $0 != nil && $0!.name == name } ?? nil
                frontend.name.withUnsafeBytes { front in
                    name.withUnsafeBytes { back in
                        guard let backend else {
                            Log.error("d\(frontend.id) \(text: front): channel=\(text: back): no domain of that name; not connected")
                            return
                        }
                        let status = Devices.addChannel(frontend: frontend, backend: backend, devid: UInt16(devid), host: GuestHypercallHost())
                        if status == 0 {
                            Log.info("d\(frontend.id) \(text: front): channel \(devid) to d\(backend.id) \(text: back) (device page entries, port and control page in place)")
                        } else {
                            Log.error("d\(frontend.id) \(text: front): channel=\(text: back): refused (\(status))")
                        }
                    }
                }
            }
        }
        bootChannels = []
    }
}
