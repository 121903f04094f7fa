import Foundation
import SteeringTestSupport
import Testing

/// Drives `steer serve` on the demo model with the real `openai` Python client (Tests/Serve/serve_e2e.py):
/// completions and chat, streaming and not, steered and not, equality with `steer generate`, error
/// objects, a disconnecting client, 32 concurrent clients and SIGTERM. The script installs `openai`
/// into .cache/serve-venv; without network it exits 77 and the test is skipped (outside CI only).
@Suite("steer serve end to end (openai client)")
struct ServeEndToEndTests {
    @Test("the openai client against steer serve on 127.0.0.1")
    func openAIClient() throws {
        guard let steer = BuiltProduct.steer() else { return }
        let script = repositoryRoot.appendingPathComponent("Tests/Serve/serve_e2e.py").path
        let result = try Subprocess.run(
            "/usr/bin/env", ["python3", script, "--steer", steer, "--root", repositoryRoot.path], timeout: 900)
        if result.status == 77 && !result.signaled {
            print("skipped: \(result.stderr.suffix(300))")
            return
        }
        #expect(
            result.status == 0 && !result.signaled,
            "stdout: \(result.stdout.suffix(2000))\nstderr: \(result.stderr.suffix(4000))")
        #expect(result.stdout.contains("serve e2e: OK"))
    }
}
