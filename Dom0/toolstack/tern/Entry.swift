import ArgumentParser
import Glibc
import TernToolstack

/// `tern`'s own entry, instead of swift-argument-parser's: every error is
/// one line "tern: ..." on stderr with exit status 1, usage errors too
/// (the parser would print its usage screen); help (`--help`, `help CMD`)
/// is the parser's full text on stdout, status 0.
extension Tern {
    static func main() {
        let arguments = CommandWords.valuesNotOptions(Array(CommandLine.arguments.dropFirst()))
        if arguments.prefix(while: { $0 != CommandWords.endOfOptions }).contains(Tern.versionFlag) { Glibc.exit(Tern.printVersion()) }
        let commands = Tern.commandNames
        if let word = CommandWords.unknownCommand(arguments, known: commands + [Tern.helpCommand]) {
            Glibc.exit(Tern.usageError("unknown command '\(word)' (commands: \(commands.joined(separator: ", ")))"))
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)   // `fail` printed its line already
        } catch {
            guard Tern.exitCode(for: error) != .success else { Tern.exit(withError: error) }   // help
            let word = arguments.first.flatMap { commands.contains($0) ? $0 : nil }
            Glibc.exit(Tern.usageError(CommandWords.oneLine(Tern.message(for: error), command: word)))
        }
        Glibc.exit(0)
    }

    static let helpCommand = "help"

    /// The subcommands' names, as typed.
    static var commandNames: [String] { configuration.subcommands.map { $0._commandName } }

    static func usageError(_ message: String) -> Int32 {
        Output.err("tern: \(message)\n")
        return 1
    }
}
