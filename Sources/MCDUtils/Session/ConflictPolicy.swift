extension MemCacheSessionDataContainer {
  /// What a session write does when another request wrote the session since it was loaded.
  public enum ConflictPolicy: Sendable, Hashable {
    /// Re-read the session, re-apply only the keys this transaction set or deleted, and write
    /// again. The default.
    case merge
    /// Throw ``MemCacheError/conflict(attempts:)``, so the service can retry the request.
    case fail
    /// Write this transaction's whole session over the other one: the original's behaviour.
    case overwrite
  }
}
