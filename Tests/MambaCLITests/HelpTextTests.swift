// Every subcommand's help, read from ArgumentParser's own description of the tool (`--experimental-dump-help`, the
// JSON behind `--help`): each command and each option has a help text, and each option with a numeric default says
// its unit or a typical range. The trainers, evaluators and predictors are reached through the dispatchers with
// the arguments that select them.
import Foundation
import Testing
import _MambaTestSupport

@Suite struct HelpTextTests {
    /// The argument lists whose `--experimental-dump-help` describes one command (or the whole tree for []).
    static let entryPoints: [[String]] = [
        [], ["train", "--task", "lm"], ["train", "--task", "classify", "--data", "x.fa"],
        ["train", "--task", "classify"], ["train", "--task", "next-sample"], ["eval", "--model", "m"],
        ["eval", "--model", "m", "--data", "x.fa"], ["predict", "--model", "m"], ["predict", "--model", "m", "x.fa"],
    ]

    /// One command's description: (path, abstract, arguments).
    struct Command {
        var path: String
        var abstract: String
        var arguments: [[String: Any]]
    }

    func commands(_ arguments: [String]) throws -> [Command] {
        let run = try runTool(arguments + ["--experimental-dump-help"])
        #expect(run.status == 0, "\(arguments): \(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        var found: [Command] = []
        func walk(_ command: [String: Any], _ path: String) {
            let name = command["commandName"] as? String ?? "?"
            let here = path.isEmpty ? name : path + " " + name
            if name == "help" { return }
            found.append(Command(path: here, abstract: command["abstract"] as? String ?? "",
                                 arguments: command["arguments"] as? [[String: Any]] ?? []))
            for sub in command["subcommands"] as? [[String: Any]] ?? [] { walk(sub, here) }
        }
        walk(try #require(object["command"] as? [String: Any]), "")
        return found
    }

    @Test(arguments: entryPoints)
    func everyOptionIsExplained(_ arguments: [String]) throws {
        let unit = try Regex(#"(?i)\d|\b(ms|hz|khz|seconds?|steps?|bases|samples|tokens|clips|records|windows|bits|bytes|threads|layers|channels|sequences)\b"#)
        for command in try commands(arguments) {
            #expect(!command.abstract.isEmpty, "\(command.path): no abstract")
            for argument in command.arguments {
                let names = (argument["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                if names.contains("help") || names.contains("version") { continue }
                let text = argument["abstract"] as? String ?? ""
                let label = "\(command.path) \(names.first ?? (argument["valueName"] as? String ?? "?"))"
                #expect(!text.isEmpty, "\(label): no help text")
                if let value = argument["defaultValue"] as? String, Double(value) != nil {
                    #expect(text.contains(unit), "\(label): a numeric option's help should give a unit or a typical range, found '\(text)'")
                }
            }
        }
    }

    @Test func topLevelHelpDocumentsTheExitStatuses() throws {
        let run = try runTool(["--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("Exit status"))
        for name in ["demo", "inspect", "train", "eval", "predict", "embed", "generate", "synthetic", "debug", "bench"] {
            #expect(run.stdout.contains(name), "--help does not list \(name)")
        }
    }
}
