import Foundation
import TensorFormats

/// A problem with a GGUF model file's configuration, turned into a backend's own error by the caller.
public enum GGUFConfigurationProblem: Sendable {
    /// A metadata key is missing or has the wrong type (the message names it).
    case metadata(String)
    /// `general.architecture` is one the backend does not run.
    case unsupportedArchitecture(String)
    /// A tensor the configuration is read from is missing or mis-shaped.
    case tensor(String)
}

/// Typed reads of a GGUF model's `<architecture>.*` hyper-parameters (as llama.cpp's converter writes
/// them), whose errors name the key; the backend maps each ``GGUFConfigurationProblem`` to its error.
public struct GGUFHyperparameters {
    /// The file read.
    public let file: GGUFFile
    /// `general.architecture`, also the prefix of the hyper-parameter keys.
    public let architecture: String
    private let report: (GGUFConfigurationProblem) -> any Error

    /// Reads `general.architecture` of `file` and checks that it is one of `supported`.
    public init(
        file: GGUFFile, supported: [String], report: @escaping (GGUFConfigurationProblem) -> any Error
    ) throws {
        self.file = file
        self.report = report
        do {
            architecture = try file.metadata.string("general.architecture")
        } catch {
            throw report(.metadata("\(error)"))
        }
        guard supported.contains(architecture) else {
            throw report(.unsupportedArchitecture("general.architecture = \(architecture)"))
        }
    }

    private func read<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw report(.metadata("\(error)")) }
    }

    /// `<architecture>.<key>` as an integer.
    public func int(_ key: String) throws -> Int { try read { try file.metadata.int(architecture + "." + key) } }

    /// `<architecture>.<key>` as an integer, nil when absent.
    public func optionalInt(_ key: String) throws -> Int? {
        file.metadata.contains(key: architecture + "." + key) ? try int(key) : nil
    }

    /// `<architecture>.<key>` as a number, nil when absent.
    public func optionalFloat(_ key: String) throws -> Double? {
        let full = architecture + "." + key
        return file.metadata.contains(key: full) ? Double(try read { try file.metadata.float(full) }) : nil
    }

    /// `<architecture>.<key>` as a string, nil when absent.
    public func optionalString(_ key: String) throws -> String? {
        let full = architecture + "." + key
        return file.metadata.contains(key: full) ? try read { try file.metadata.string(full) } : nil
    }

    /// A token id under its full key (`tokenizer.ggml.bos_token_id`), nil when absent.
    public func token(_ key: String) throws -> Int? {
        file.metadata.contains(key: key) ? try read { try file.metadata.int(key) } : nil
    }

    /// Rows of `token_embd.weight` (the vocabulary), checked to be `[vocab, hidden]`.
    public func vocabularySize(hidden: Int) throws -> Int {
        guard let embedding = try? file.info("token_embd.weight") else {
            throw report(.tensor("missing tensor 'token_embd.weight'"))
        }
        guard embedding.shape.count == 2, embedding.shape[1] == hidden else {
            throw report(
                .tensor("tensor 'token_embd.weight' has shape \(embedding.shape), expected [vocab, \(hidden)]"))
        }
        return embedding.shape[0]
    }
}
