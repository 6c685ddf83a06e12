import TernToolstack

extension Tern {
    static let versionFlag = "--version"

    /// `tern --version`: the toolstack's version and, from /dev/tern when
    /// it is there, Tern's ABI version. Status 0 either way.
    static func printVersion() -> Int32 {
        var tern: UInt32? = nil
        var why: String? = nil
        do throws(ControlDevice.Failure) { tern = try ControlDevice().systemInfo().abi_version } catch { why = error.description }
        Output.out(ToolstackVersion.line(ternABI: tern, unavailable: why) + "\n")
        return 0
    }
}
