import ArtifactStore
import Foundation
import SteeringCore
import SteeringTestSupport
import TensorFormats
import Testing

/// Runs `steer effects measure` as separate processes: determinism across processes, SIGKILL and
/// resume, and shards merged with `steer store merge`.
@Suite("steer effects measure: processes, kills and shards")
struct EffectJobCLITests {
    let vectors = "decoder-rows:" + PipelineFixtures.saePath + ":0-9"

    func measure(store: String, extra: [String] = []) -> [String] {
        [
            "effects", "measure", "--model", PipelineFixtures.modelPath, "--sae", PipelineFixtures.saePath, "--vectors",
            vectors,
            "--scale", "6", "--store", store, "--print-keys",
            // One probe per generation (8 rollout rows each), so a kill after two effects interrupts the job.
            "--batch-rows", "8",
        ] + PipelineFixtures.protocolFlags + extra
    }

    func steer() -> String? {
        BuiltProduct.steer()
    }

    func contents(_ path: String) throws -> [String: String] {
        try PipelineFixtures.contents(try ArtifactStore(path: path, readOnly: true))
    }

    @Test(
        "two processes produce identical stores; a SIGKILLed job resumes to the same content; 3 merged shards equal the whole"
    )
    func processes() throws {
        guard let steer = steer() else { return }
        let dir = try makeTemporaryDirectory("effect-jobs")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        let whole = try Subprocess.run(steer, measure(store: dir + "/whole"))
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect(whole.stdout.split(separator: "\n").count == 9)
        let reference = try contents(dir + "/whole")
        let second = try Subprocess.run(steer, measure(store: dir + "/second"))
        #expect(second.status == 0)
        #expect(try contents(dir + "/second") == reference, "another process writes identical keys and bytes")
        #expect(second.stdout == whole.stdout)

        // Kill after two committed effects, then resume.
        let running = try Subprocess.start(steer, measure(store: dir + "/killed"))
        _ = running.readLine()
        _ = running.readLine()
        running.kill(SIGKILL)
        _ = running.wait()
        let partial = try contents(dir + "/killed")
        #expect(partial.count < reference.count, "the job was interrupted before it finished")
        #expect(partial.allSatisfy { reference[$0.key] == $0.value }, "everything committed is correct")
        let resumed = try Subprocess.run(steer, measure(store: dir + "/killed"))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("already stored"))
        #expect(try contents(dir + "/killed") == reference)
        let verify = try Subprocess.run(steer, ["store", "verify", "--store", dir + "/killed"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        // Three shards, two chosen by flag and one by Slurm variables, merged into one store.
        for i in 0..<2 {
            let result = try Subprocess.run(steer, measure(store: dir + "/shard\(i)", extra: ["--shard", "\(i)/3"]))
            #expect(result.status == 0, "\(result.stderr)")
        }
        let slurm = try Subprocess.run(
            steer, measure(store: dir + "/shard2"),
            environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"])
        #expect(slurm.status == 0, "\(slurm.stderr)")
        #expect(slurm.stderr.contains("shard 2/3"))
        for i in 0..<3 {
            let merge = try Subprocess.run(steer, ["store", "merge", dir + "/shard\(i)", "--store", dir + "/merged"])
            #expect(merge.status == 0, "\(merge.stderr)")
        }
        #expect(try contents(dir + "/merged") == reference, "the union of the shards equals the unsharded run")
    }

    @Test("export, show, and bad input through the CLI")
    func exportAndShow() throws {
        guard let steer = steer() else { return }
        let dir = try makeTemporaryDirectory("effect-export")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Subprocess.run(steer, measure(store: dir + "/s"))
        #expect(run.status == 0, "\(run.stderr)")
        let export = try Subprocess.run(
            steer, ["effects", "export", "--store", dir + "/s", "--out", dir + "/d.safetensors"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stderr.contains("9 effects, features [9, 64], effects [9, 256]"))
        // Compact export: f16 payload, the probes' rows and scales, the set's baseline and protocol in the metadata.
        let half = try Subprocess.run(
            steer,
            ["effects", "export", "--store", dir + "/s", "--out", dir + "/h.safetensors", "--dtype", "f16"])
        #expect(half.status == 0, "\(half.stderr)")
        let full = try SafetensorsFile(path: dir + "/d.safetensors")
        let compact = try SafetensorsFile(path: dir + "/h.safetensors")
        #expect(try compact.info("effects").dtype == .f16 && compact.info("features").dtype == .f16)
        #expect(try compact.int32s("rows") == (0..<9).map(Int32.init) && full.int32s("rows") == compact.int32s("rows"))
        #expect(try compact.floats("scales") == [Float](repeating: 6, count: 9))
        for name in ["features", "effects"] {
            for (a, b) in zip(try full.floats(name), try compact.floats(name)) {
                #expect(abs(a - b) <= abs(a) * 0x1p-11 + 0x1p-24, "\(name): f16 rounding of \(a) gave \(b)")
            }
        }
        #expect(compact.metadata["baseline"]?.count == 64 && compact.metadata["protocol"]?.contains("rollouts") == true)
        let badType = try Subprocess.run(
            steer, ["effects", "export", "--store", dir + "/s", "--out", dir + "/x.safetensors", "--dtype", "f8"])
        #expect(badType.status != 0 && badType.stderr.contains("--dtype must be f32, f16 or bf16"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.safetensors"))
        let firstKey = String(run.stdout.split(separator: "\n")[0].split(separator: "\t")[2])
        let show = try Subprocess.run(
            steer, ["effects", "show", "--store", dir + "/s", "--vector", String(firstKey.prefix(12))])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("increased:") && show.stdout.contains("scale 6.0"))

        try NPY_writeWrongWidth(dir + "/wide.npy")
        let wide = try Subprocess.run(
            steer,
            [
                "effects", "measure", "--model", PipelineFixtures.modelPath, "--sae", PipelineFixtures.saePath,
                "--vectors", dir + "/wide.npy", "--scale", "1", "--store", dir + "/bad",
            ])
        #expect(wide.status != 0 && wide.stderr.contains("d_model is 64"), "\(wide.stderr)")
        try "".write(toFile: dir + "/empty.txt", atomically: true, encoding: .utf8)
        let empty = try Subprocess.run(
            steer,
            [
                "effects", "measure", "--model", PipelineFixtures.modelPath, "--sae", PipelineFixtures.saePath,
                "--vectors", vectors, "--calibration", dir + "/empty.txt", "--store", dir + "/bad",
            ])
        #expect(empty.status != 0 && empty.stderr.contains("is empty"), "\(empty.stderr)")
        // Probe directions from an SAE at another site than the measuring SAE.
        let other = dir + "/layer_2/width_256/average_l0_20"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: PipelineFixtures.saePath + "/params.npz", toPath: other + "/params.npz")
        let otherSite = try Subprocess.run(
            steer,
            [
                "effects", "measure", "--model", PipelineFixtures.modelPath, "--sae", PipelineFixtures.saePath,
                "--vectors", "decoder-rows:" + other + ":0-2", "--scale", "1", "--store", dir + "/bad",
            ], timeout: 30)
        #expect(otherSite.status != 0 && otherSite.stderr.contains("blocks.2.hook_resid_post"), "\(otherSite.stderr)")
        if ArtifactStore.exists(at: dir + "/bad") {
            #expect(try ArtifactStore(path: dir + "/bad").count == 0, "nothing partial is stored")
        }
    }
}

private func NPY_writeWrongWidth(_ path: String) throws {
    try NPY.write(NDArray(floats: [Float](repeating: 1, count: 20), shape: [2, 10]), to: path)
}
