import SteeringCore

/// Log-likelihoods of chosen tokens with the head run only where they are predicted: what the
/// coherence judge reads, and the head loop the site-resumed loss shares.
extension TransformerRuntime {
    /// ``ModelBackend/tokenLogLikelihoods(sequences:positions:)``: the sequences run in batches through
    /// every block (each cut after its last scored position) and the head runs only on the rows that
    /// predict a scored token, 256 rows per product.
    public func tokenLogLikelihoods(sequences: [[Int32]], positions: [Range<Int>]) throws -> [[Double]] {
        try validate(sequences: sequences, interventions: [])
        try positions.validateScored(in: sequences)
        var out = positions.map { [Double](repeating: 0, count: $0.count) }
        let kept = sequences.indices.filter { !positions[$0].isEmpty }
        let cut = kept.map { Array(sequences[$0][0..<positions[$0].upperBound]) }
        let workspace = StepWorkspace()
        for batch in chunks(cut.map(\.count), budget: tokensPerStep(allLogits: false)) {
            let cache = KVCache(
                layerCount: shape.layerCount, width: shape.keyValueWidth, capacities: batch.map { cut[$0].count })
            let options = StepOptions(
                promptLengths: batch.map { cut[$0].count }, logits: .none, lastLayer: shape.layerCount - 1)
            let entries = batch.enumerated().map { StepEntry(sequence: $0.offset, tokens: cut[$0.element]) }
            let (layout, _) = runBlocks(entries, cache: cache, options: options, workspace: workspace, residual: nil)
            var rows = [Int](), targets = [Int](), owners = [(sequence: Int, slot: Int)]()
            for (e, local) in batch.enumerated() {
                let index = kept[local]
                for (slot, t) in positions[index].enumerated() {
                    rows.append(layout.rowStart[e] + t - 1)
                    targets.append(Int(cut[local][t]))
                    owners.append((index, slot))
                }
            }
            headCrossEntropy(rows: rows, targets: targets, layout: layout, workspace: workspace) { i, value in
                out[owners[i].sequence][owners[i].slot] = -value
            }
        }
        return out
    }

    /// The cross-entropy `−log p(target)` of each of `rows` (indices into the final residual of the
    /// step that made `layout`, left in the workspace), handed to `sink(i, value)` in order; the head
    /// runs on 256 rows per product (the logits of one product fill the workspace's logits buffer).
    func headCrossEntropy(
        rows: [Int], targets: [Int], layout: StepLayout, workspace: StepWorkspace, sink: (Int, Double) -> Void
    ) {
        let vocab = shape.vocabularySize
        let hidden = workspace.buffer(.residual, layout.rowCount * shape.hiddenSize)
        let group = max(Self.headGroupRows, 256)
        var start = 0
        while start < rows.count {
            let end = min(start + group, rows.count)
            let logits = workspace.buffer(.logits, (end - start) * vocab)
            model.logits(rows: Array(rows[start..<end]), hidden: hidden, workspace: workspace, into: logits)
            let values = CrossEntropy.rows(
                logits, count: end - start, width: vocab, targets: Array(targets[start..<end]))
            for (i, value) in values.enumerated() { sink(start + i, value) }
            start = end
        }
    }
}
