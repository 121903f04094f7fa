/// Errors from the artifact store; each message says what to do.
public enum ArtifactStoreError: Error, Sendable, Equatable {
    case placeholderRemovedByImplementation
}
