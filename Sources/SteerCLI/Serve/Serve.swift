import ArgumentParser
import ArtifactStore
import Foundation
import SteeringCore
import SteeringPlugins
import SteeringServer

/// `steer serve`: the OpenAI-compatible server with per-request steering and continuous batching.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over an OpenAI-compatible HTTP API, with steering per request.",
        discussion: """
            Endpoints: POST /v1/completions, POST /v1/chat/completions (Gemma chat template), GET /v1/models, \
            GET /v1/steering/vectors. A request steers with an extra field, e.g. "steering": [{"vector": \
            "vector/london/sae-ts", "scale": 8}, {"feature": 1234, "scale": 4}, {"values": [...], "scale": 2, \
            "layer": 6}]. Concurrent requests are decoded together, one batched step per token. See Docs/Serving.md.
            """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Artifact store to read vectors from, read-only (default: $STEER_STORE when set).")
    var store: String?

    @Option(
        help:
            "Feature dictionary for {\"feature\": N} steering: Gemma Scope params.npz (or folder) or SAELens directory."
    )
    var sae: String?

    @Option(help: "Layer whose residual stream the SAE reads, when its files do not say.")
    var saeLayer: Int?

    @Option(help: "Address to bind. Anything but loopback needs --api-key-env.")
    var host = "127.0.0.1"

    @Option(help: "Port (0 picks a free one; the bound port is printed).")
    var port = 8080

    @Option(help: "Environment variable holding the API key clients must send as 'Authorization: Bearer KEY'.")
    var apiKeyEnv: String?

    @Option(help: "Most requests' rows decoded together in one step.")
    var maxBatch = 64

    @Option(help: "Largest request body in bytes (larger ones get 413).")
    var maxBody = 1 << 20

    @Option(help: "Model id reported by /v1/models (default: the checkpoint directory's name).")
    var modelId: String?

    @Option(help: "Seconds in-flight requests get to finish after SIGTERM or SIGINT before they are cancelled.")
    var drainSeconds = 30.0

    @Flag(help: "No per-request log lines.")
    var quiet = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535, got \(port).") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1.") }
        guard maxBody >= 1024 else { throw ValidationError("--max-body must be at least 1024 bytes.") }
        guard drainSeconds >= 0, drainSeconds.isFinite else { throw ValidationError("--drain-seconds must be ≥ 0.") }
        if !ServerConfiguration.isLoopback(host), apiKeyEnv == nil {
            throw ValidationError(
                "Binding to \(host) exposes the server beyond this machine; give --api-key-env NAME (a variable "
                    + "holding the key clients must send), or bind to 127.0.0.1.")
        }
    }

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxBatchRows = maxBatch
        configuration.maxBodyBytes = maxBody
        configuration.modelID = modelId
        configuration.logRequests = !quiet
        configuration.drainSeconds = drainSeconds
        if let apiKeyEnv {
            guard let key = ProcessInfo.processInfo.environment[apiKeyEnv], !key.isEmpty else {
                throw ValidationError("--api-key-env \(apiKeyEnv): that environment variable is unset or empty.")
            }
            configuration.apiKey = key
        }
        let loaded = try model.load()
        guard let backend = loaded as? any IncrementalDecoding else {
            throw ValidationError(
                "The \(loaded.descriptor.backend) backend cannot decode incrementally (IncrementalDecoding), so it "
                    + "cannot serve; use a backend that can (gemma2, gemma3).")
        }
        let storePath =
            store
            ?? ProcessInfo.processInfo.environment[StoreOptions.environmentVariable].flatMap {
                $0.isEmpty ? nil : $0
            }
        let artifacts = try storePath.map { try ArtifactStore(path: $0, readOnly: true) }
        let dictionary = try sae.map { path in
            try Steer.registry.dictionary(
                "jumprelu", PluginOptions(path: path, values: saeLayer.map { ["layer": String($0)] } ?? [:]))
        }
        let application = try ServerApplication(
            backend: backend, store: artifacts, dictionary: dictionary, configuration: configuration)
        let server = HTTPServer(application: application)
        let d = backend.descriptor
        let host = self.host
        // Serves until SIGTERM / SIGINT: then stops accepting, finishes what is in flight, exits 0.
        try await server.run { port in
            let line =
                "steer serve: \(d.name) (\(d.backend), \(d.layerCount) layers, d_model \(d.hiddenSize)) on "
                + "http://\(host):\(port)/v1\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        printError("[serve] stopped")
    }
}
