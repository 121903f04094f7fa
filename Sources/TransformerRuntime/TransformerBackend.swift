public import SteeringCore
import SteeringNumerics

/// The sizes of a decoder-only transformer that cost models need (FLOP counts, memory).
public struct DecoderArchitecture: Sendable, Hashable {
    public var layerCount: Int
    public var hiddenSize: Int
    public var headCount: Int
    public var keyValueHeadCount: Int
    public var headDimension: Int
    public var intermediateSize: Int
    public var vocabularySize: Int
    /// Whether each layer attends within a sliding window.
    public var slidingLayers: [Bool]
    /// Window of the sliding layers.
    public var slidingWindow: Int?

    public init(
        layerCount: Int, hiddenSize: Int, headCount: Int, keyValueHeadCount: Int, headDimension: Int,
        intermediateSize: Int, vocabularySize: Int, slidingLayers: [Bool], slidingWindow: Int?
    ) {
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
        self.headDimension = headDimension
        self.intermediateSize = intermediateSize
        self.vocabularySize = vocabularySize
        self.slidingLayers = slidingLayers
        self.slidingWindow = slidingWindow
    }

    /// `(rows, columns)` of every weight matrix of one block: q, k, v, o, gate, up, down.
    public var blockMatrices: [(rows: Int, columns: Int)] {
        let d = hiddenSize, q = headCount * headDimension, kv = keyValueHeadCount * headDimension
        let f = intermediateSize
        return [(q, d), (kv, d), (kv, d), (d, q), (f, d), (f, d), (d, f)]
    }
}

/// A ``ModelBackend`` running on the ``TransformerRuntime``, whose weights and shape tools (benchmarks,
/// memory reports) may inspect.
public protocol TransformerBackend: ModelBackend {
    /// The model's sizes.
    var architecture: DecoderArchitecture { get }
    /// Every resident weight matrix, embedding first.
    var weightMatrices: [WeightMatrix] { get }
}

extension TransformerBackend {
    /// Bytes of the resident weight matrices (norm vectors excluded: they are tiny).
    public var residentWeightBytes: Int { weightMatrices.reduce(0) { $0 + $1.storage.byteCount } }

    /// Bytes a batch-1 decoding step reads per weight matrix: the quantised blocks where a matrix
    /// keeps them (and ``Kernels/usesQuantizedRows``), the resident matrix otherwise.
    public var decodeWeightBytes: Int {
        weightMatrices.reduce(0) { total, matrix in
            let quantized = Kernels.usesQuantizedRows ? matrix.quantized?.byteCount : nil
            return total + (quantized ?? matrix.storage.byteCount)
        }
    }

    /// Number of weight matrices that keep quantised GGUF blocks for decoding.
    public var quantizedWeightCount: Int { weightMatrices.filter { $0.quantized != nil }.count }

    /// Number of weight matrices used in place from a file mapping (no copy).
    public var zeroCopyWeightCount: Int { weightMatrices.filter { $0.storage.isBorrowed }.count }

    /// Precision of the resident embedding (all matrices share it unless the checkpoint mixes dtypes).
    public var residentWeightElement: WeightElement { weightMatrices[0].element }

    /// Fraction of the resident weight memory on 2 MiB pages (nil where the OS does not say).
    public var weightHugePageFraction: Double? {
        HugePages.coverage(
            of: weightMatrices.map { UnsafeRawBufferPointer(start: $0.storage.base, count: $0.storage.byteCount) })
    }
}
