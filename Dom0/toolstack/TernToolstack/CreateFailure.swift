import TernABI

extension ControlDevice.Failure {
    /// A failed create, said in terms of the config that asked for it:
    /// hints name config keys (`memory`), not boot-module options (mem=).
    public func creating(_ config: GuestConfig) -> String {
        switch self {
        case .tern(let code) where code == -Int64(TERN_ENOEXEC):
            return "\(config.name): Tern cannot load \(config.kernel) into \(config.memoryMiB) MiB "
                + "(`tern dmesg` says why; if it does not fit, raise memory in the config)"
        case .tern(let code) where code == -Int64(TERN_ENOMEM):
            return "\(config.name): not enough memory for \(config.memoryMiB) MiB (`tern info` shows what is free; lower memory in the config)"
        default:
            return "\(config.name): \(description)"
        }
    }
}
