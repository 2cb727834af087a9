extension MemCacheSessionDataContainer {
  /// What a session write does when another request wrote the same session since it was
  /// loaded (its CAS value no longer matches).
  public enum ConflictPolicy: Sendable, Hashable {
    /// Re-read the session, re-apply only the keys this transaction set or deleted, and write
    /// again with CAS, up to ``MemCacheSessionDataContainer/maximumWriteAttempts`` writes; then
    /// ``MemCacheError/conflict(attempts:)``. The default: two requests that change different
    /// keys both keep their changes; for a key both changed, the later commit wins.
    case merge
    /// Throw ``MemCacheError/conflict(attempts:)`` (ZODB's `ConflictError`), so the service
    /// can retry the request.
    case fail
    /// Write this transaction's whole session over the other one: the original's behaviour,
    /// where the last writer wins and the other request's changes are lost.
    case overwrite
  }
}
