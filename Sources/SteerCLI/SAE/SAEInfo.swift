import ArgumentParser
import Foundation
import SteeringCore

struct SAEInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print an SAE's shapes, site and (with --model and --text) quality diagnostics.")

    @OptionGroup var sae: SAEOptions

    @Option(help: "Checkpoint directory, to measure the SAE on real activations.")
    var model: String?

    @Option(help: "Text whose activations are used for diagnostics (BOS position excluded).")
    var text: String?

    func validate() throws {
        if (model == nil) != (text == nil) { throw ValidationError("--model and --text go together.") }
    }

    func run() async throws {
        let dictionary = try sae.load()
        let d = dictionary.descriptor
        print("name:        \(d.name)")
        print("kind:        \(d.kind)")
        print("site:        \(d.site?.transformerLensName ?? "unknown (pass --sae-layer)")")
        print("d_model:     \(d.inputWidth)")
        print("d_sae:       \(d.featureCount)")
        print("fingerprint: \(d.fingerprint.hex)")
        for (label, value) in dictionary.details {
            let title = (label + ":").padding(toLength: 12, withPad: " ", startingAt: 0)
            print("\(title) \(value)")
        }
        let sortedNorms = try dictionary.decoderRowNorms().sorted()
        print(
            String(
                format: "decoder row norms: min %.6f, median %.6f, max %.6f", sortedNorms.first ?? 0,
                sortedNorms[sortedNorms.count / 2], sortedNorms.last ?? 0))
        guard let model, let text else { return }
        let site = try SAEOptions.site(of: dictionary)
        let backend = try ModelOptions.load(model)
        try dictionary.checkCompatible(with: backend.descriptor)
        let tokens = backend.encode(text, addBOS: true)
        let activations = try backend.activations(at: site, sequences: [tokens])[0]
        let sample = activations.rows > 1 ? activations.rows(1..<activations.rows) : activations
        let report = try DictionaryDiagnostics.measure(dictionary, on: sample)
        print("diagnostics on \(report.positions) positions (BOS excluded):")
        print(String(format: "  mean L0:                        %.2f", report.meanL0))
        print(String(format: "  relative reconstruction error:  %.4f", report.relativeReconstructionError))
        print(String(format: "  fraction of variance explained: %.4f", report.fractionOfVarianceExplained))
        print("  dead features on this sample:   \(report.deadFeatures) of \(d.featureCount)")
    }
}
