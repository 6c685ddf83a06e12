import TernABI

/// `tern --version`. The toolstack's version is that of the ABI headers it
/// is built from (TERN_ABI_VERSION): it speaks that ABI, so its number
/// says which Tern it fits; Tern's own comes from TERN_HC_SYSTEM_INFO.
public enum ToolstackVersion {
    public static let abiVersion = UInt32(TERN_ABI_VERSION)
    public static var text: String { ABIVersion.text(abiVersion) }

    /// The line: with Tern's ABI version if it could be asked, else why not.
    public static func line(ternABI: UInt32?, unavailable: String? = nil) -> String {
        var line = "tern \(text) (toolstack)"
        guard let ternABI else { return line + "; Tern's ABI unknown: \(unavailable ?? "no /dev/tern")" }
        line += ", Tern ABI \(ABIVersion.text(ternABI))"
        if ternABI >> 16 != abiVersion >> 16 { line += " (another major version: creates and other calls may fail)" }
        else if ternABI != abiVersion { line += " (another minor version)" }
        return line
    }
}
