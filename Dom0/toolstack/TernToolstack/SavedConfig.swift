import Glibc

/// The config a guest was created with, as `tern create` saves it for
/// `tern logd` to restart the guest from (docs/toolstack.md, "Life
/// cycle"): /var/lib/tern/NAME.cfg, the file's keys with the command
/// line's settings applied, every key written out, the kernel's path
/// absolute (logd does not run where `tern create` ran).
public enum SavedConfig {
    public static let directory = "/var/lib/tern"
    static let parents = ["/var/lib"]

    public static func path(_ name: String, in directory: String = SavedConfig.directory) -> String { "\(directory)/\(name).cfg" }

    /// Saves `config` (its kernel made absolute against `cwd`); why not, if it failed.
    public static func save(_ config: GuestConfig, cwd: String, in directory: String = SavedConfig.directory) -> String? {
        var saved = config
        saved.kernel = absolute(config.kernel, in: cwd)
        saved.ramdisk = config.ramdisk.map { absolute($0, in: cwd) }
        if directory == SavedConfig.directory { for parent in parents { mkdir(parent, 0o755) } }
        mkdir(directory, 0o755)
        let file = path(config.name, in: directory)
        guard let problem = Files.replace(file, with: saved.savedText) else { return nil }
        return "\(file): cannot save the config: \(Files.errorText(problem))"
    }

    /// Changes `name`'s saved config (`tern block-attach`, `network-attach`
    /// and their detach, so a restart by `tern logd` keeps what was
    /// attached, as libxl keeps a domain's hot-plugged devices). Nil when
    /// done or when there is no saved config (a guest from before, or one
    /// Tern did not save); why not, if it failed.
    public static func change(of name: String, in directory: String = SavedConfig.directory,
                              _ change: (inout GuestConfig) -> Void) -> String? {
        let file = path(name, in: directory)
        guard case .success(let bytes) = Files.read(file) else { return nil }
        var config: GuestConfig
        do throws(ConfigError) { config = try GuestConfig.parse(String(decoding: bytes, as: UTF8.self), file: file) } catch {
            return "cannot update the saved config: \(error)"
        }
        change(&config)
        return save(config, cwd: "/", in: directory)
    }

    /// Changes the disks of `name`'s saved config (as `change`).
    public static func changeDisks(of name: String, in directory: String = SavedConfig.directory,
                                   _ change: (inout [DiskSpec]) -> Void) -> String? {
        self.change(of: name, in: directory) { change(&$0.disks) }
    }

    /// Changes the interfaces of `name`'s saved config (as `change`).
    /// Each one's MAC is written out first (a default one is derived from
    /// the interface's place in the list): one taken from the middle leaves
    /// the others their addresses, though a restart numbers them afresh,
    /// in order, as `tern create` does.
    public static func changeVifs(of name: String, in directory: String = SavedConfig.directory,
                                  _ change: (inout [VifSpec]) -> Void) -> String? {
        self.change(of: name, in: directory) { config in
            for index in config.vifs.indices where config.vifs[index].mac == nil {
                config.vifs[index].mac = VifSpec.defaultMAC(guest: config.name, index: index)
            }
            change(&config.vifs)
        }
    }

    /// `path` from `cwd` if it is relative.
    public static func absolute(_ path: String, in cwd: String) -> String {
        path.hasPrefix("/") ? path : (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
    }
}

extension GuestConfig {
    /// Every key of the key table, in its order, in the config syntax:
    /// parses back to this config.
    public var savedText: String {
        var values = ["name": quoted(name), "kernel": quoted(kernel), "ramdisk": quoted(ramdisk ?? ""),
                      "memory": "\(memoryMiB)", "vcpus": "\(vcpus)",
                      "cmdline": quoted(cmdline), "weight": "\(weight)", "devices": "[]",
                      "disk": "[" + disks.map { " " + quoted($0.text) }.joined(separator: ",") + (disks.isEmpty ? "]" : " ]"),
                      "vif": "[" + vifs.map { " " + quoted($0.text) }.joined(separator: ",") + (vifs.isEmpty ? "]" : " ]")]
        for end in GuestEnd.allCases { values[end.key] = quoted(action(end).rawValue) }
        let header = "# The config `tern create` started \(name) with; `tern logd` restarts it from here (docs/toolstack.md).\n"
        return header + GuestConfig.keys.map { "\($0.name) = \(values[$0.name]!)\n" }.joined()
    }

    /// In double quotes, or single ones if it holds a double quote (the
    /// parser takes no string with both).
    func quoted(_ text: String) -> String {
        text.contains("\"") ? "'\(text)'" : "\"\(text)\""
    }
}

extension Files {
    /// Replaces `path` with `text` (written to a new file, then renamed
    /// over it: a reader sees the old file or the new one); errno if it failed.
    public static func replace(_ path: String, with text: String) -> Int32? {
        let temporary = path + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return errno }
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            // SAFETY: write(2) reads the remaining bytes of `bytes`' storage.
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let problem = errno
                close(fd)
                unlink(temporary)
                return problem
            }
            done += n
        }
        guard close(fd) == 0, rename(temporary, path) == 0 else {
            let problem = errno
            unlink(temporary)
            return problem
        }
        return nil
    }
}
