import ArgumentParser
import ArtifactStore
import SteeringCore

/// `steer store verify`: recompute every payload digest and check every header.
struct StoreVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every artifact's layout, key and payload digest; exit 1 if any is damaged.")

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    struct Report: Encodable {
        var checked: Int
        var problems: [[String: String]]
        var danglingAliases: [String: String]
        var clean: Bool
    }

    func run() async throws {
        let store = try options.open(readOnly: true)
        let report = try store.verify()
        if json {
            try StoreOutput.printJSON(
                Report(
                    checked: report.checked, problems: report.problems.map { ["key": $0.key, "problem": $0.problem] },
                    danglingAliases: report.danglingAliases.mapValues(\.hex), clean: report.isClean))
        } else {
            for problem in report.problems { print("DAMAGED \(problem.key): \(problem.problem)") }
            for (name, key) in report.danglingAliases.sorted(by: { $0.key < $1.key }) {
                print("warning: alias \(name) points at \(key.short), which is not in the store")
            }
            let summary = "Checked \(report.checked) artifact\(report.checked == 1 ? "" : "s") in \(store.path)"
            print(report.isClean ? "\(summary): all intact." : "\(summary): \(report.problems.count) damaged.")
        }
        if !report.isClean {
            if !json {
                print("Remove damaged artifacts and recompute them, or merge a healthy copy from another store.")
            }
            throw ExitCode.failure
        }
    }
}
