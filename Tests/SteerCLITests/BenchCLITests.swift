import Foundation
import SteeringCore
import SteeringTestSupport
import Testing

/// `steer-bench` on small shapes: every figure runs and reports its numbers; bad options fail clearly.
/// (Only that the figures exist and are positive is checked: timings are never asserted.)
@Suite("steer bench")
struct BenchCLITests {
    let model = fixturePath("gemma2/tiny-f32")

    func bench(_ arguments: [String]) throws -> SubprocessResult? {
        try BuiltProduct.run("steer-bench", arguments, timeout: 300)
    }

    @Test("a random model from --config reports every figure as JSON, in f32 and f16", arguments: ["f32", "f16"])
    func randomModel(weights: String) throws {
        guard
            let result = try bench([
                "--config", model + "/config.json", "--weights", weights, "--repeats", "1", "--layer", "1",
                "--reencode-sequences", "4", "--sae-width", "64", "--json",
            ])
        else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect(json["weights"] as? String == weights)
        for key in [
            "a_prefill_8x64_last_logits_tokens_per_second", "a_prefill_8x64_all_logits_tokens_per_second",
            "b_generate_32x32_steered_tokens_per_second", "c_decode_batch1_64_tokens_per_second",
            "d_reencode_4x32_to_L1_sae64_tokens_per_second", "e_sgemm_gflops_m512", "e_kernel_gflops_m32",
            "e_memory_read_gbps", "a_prefill_8x64_all_logits_percent_of_sgemm", "c_decode_batch1_64_weight_gbps",
            "e_region_8x20us_pool_us", "e_region_8x20us_gcd_us", "peak_rss_bytes", "resident_weight_bytes",
        ] {
            let value = (json[key] as? NSNumber)?.doubleValue ?? -1
            #expect(value > 0, "\(key) = \(String(describing: json[key]))")
        }
        #if os(Linux)
            let huge = (json["weights_on_huge_pages_fraction"] as? NSNumber)?.doubleValue ?? -1
            #expect(huge >= 0 && huge <= 1, "weights_on_huge_pages_fraction = \(huge)")
        #endif
    }

    @Test("--model gives the time to first token; the table form prints every figure")
    func checkpoint() throws {
        guard let result = try bench(["--model", model, "--only", "a,c", "--repeats", "1", "--layer", "1"])
        else {
            return
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("first token after"))
        #expect(result.stdout.contains("a_prefill_8x64_all_logits"))
        #expect(result.stdout.contains("c_decode_batch1_64"))
        #expect(result.stdout.contains("peak RSS"))
    }

    @Test("bad options name the value and exit non-zero")
    func badOptions() throws {
        for (arguments, message) in [
            (["--weights", "f8"], "f8"), (["--only", "a,z"], "z"), (["--repeats", "0"], "repeats"),
            (["--model", model, "--layer", "7"], "layer"),
            (["--probe", "--execution", "twice"], "twice"), (["--probe", "--calibration", "2by64"], "2by64"),
            (["--probe", "--grid-points", "1"], "grid-points"),
        ] {
            guard let result = try bench(["--config", model + "/config.json"] + arguments) else { return }
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    @Test("STEER_KERNEL_LEVEL=avx2 runs bench at that level and says so; a misspelt level stops any command")
    func kernelLevel() throws {
        guard let executable = BuiltProduct.steer(), let bench = BuiltProduct.path("steer-bench") else {
            Issue.record("steer and steer-bench must be built")
            return
        }
        let forced = try Subprocess.run(
            bench,
            ["--config", model + "/config.json", "--only", "e", "--repeats", "1", "--layer", "1", "--json"],
            environment: ["STEER_KERNEL_LEVEL": "avx2"], timeout: 300)
        #expect(forced.status == 0, "\(forced.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(forced.stdout.utf8)) as! [String: Any]
        #expect(json["kernel_level_forced"] as? String == "avx2")
        let cpu = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        if cpu.contains(" avx2") && cpu.contains(" fma") {
            #expect(json["kernel_level"] as? String == "avx2")
            #expect(json["products_32_rows"] as? String == "packed AVX2")
            #expect(json["avx512_products"] as? Bool == false)
        }
        for value in ["avx3", "AVX2", "fast"] {
            let bad = try Subprocess.run(
                executable, ["forward", "--model", model, "--tokens", "2,5"], environment: ["STEER_KERNEL_LEVEL": value]
            )
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("STEER_KERNEL_LEVEL='\(value)'"), "\(bad.stderr)")
            #expect(bad.stdout.isEmpty)
        }
    }

    @Test("--probe times the effect protocol both ways and reports every part per probe")
    func probe() throws {
        guard
            let result = try bench([
                "--probe", "--config", model + "/config.json", "--layer", "1", "--probes", "3",
                "--rollouts", "2", "--length", "8", "--grid-points", "3", "--calibration", "1x4",
                "--baseline-multiplier", "1", "--sae-width", "64", "--json",
            ])
        else { return }
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        for key in [
            "probe_reencode_generation_seconds_per_probe", "probe_reencode_reencode_seconds_per_probe",
            "probe_reencode_sae_encoding_gflops", "probe_reencode_calibration_tokens_per_second",
            "probe_capture_generation_gflops", "probe_capture_calibration_seconds_per_probe",
            "probe_capture_seconds_per_probe", "probe_capture_over_reencode", "probe_capture_baseline_seconds",
            "probe_capture_calibration_site_seconds", "probe_capture_cpu_seconds_per_probe",
        ] {
            let value = (json[key] as? NSNumber)?.doubleValue ?? -1
            #expect(value > 0, "\(key) = \(String(describing: json[key]))")
        }
        // Capture reads the site while generating: no separate re-encode pass.
        #expect((json["probe_capture_reencode_seconds_per_probe"] as? NSNumber)?.doubleValue == 0)
    }

    @Test("model commands take --weights: bf16-resident forward runs, an unknown precision is refused")
    func residentWeights() throws {
        let args = ["forward", "--model", model, "--tokens", "2,5,7", "--out"]
        let dir = try makeTemporaryDirectory("cli-weights")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let ok = try BuiltProduct.runSteer(args + [dir + "/a.safetensors", "--weights", "bf16"]) else { return }
        #expect(ok.status == 0, "\(ok.stderr)")
        guard let bad = try BuiltProduct.runSteer(args + [dir + "/b.safetensors", "--weights", "int4"]) else { return }
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("int4"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/b.safetensors"))
    }
}
