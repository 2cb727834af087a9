/// What a page cache has done since it was made or its statistics were reset (see
/// "Statistics" in <doc:PageCache>).
public struct MemCacheZCacheStatistics: Sendable, Hashable, CustomStringConvertible {
  /// Lookups that returned a fresh stored value.
  public var hits = 0
  /// Lookups that found nothing usable (absent, invalidated, too old, unreadable).
  public var misses = 0
  /// `getOrCompute` calls that returned the stale copy while another caller computed.
  public var staleHits = 0
  /// Values stored.
  public var sets = 0
  /// Objects invalidated.
  public var invalidations = 0
  /// Store calls that failed (memcached down or unreachable).
  public var storeErrors = 0
  /// Times a `getOrCompute` caller waited for another caller's computation.
  public var waits = 0

  /// All zero.
  public init() {}

  /// `hits=… misses=… staleHits=… sets=… invalidations=… storeErrors=… waits=…`.
  public var description: String {
    "hits=\(hits) misses=\(misses) staleHits=\(staleHits) sets=\(sets) "
      + "invalidations=\(invalidations) storeErrors=\(storeErrors) waits=\(waits)"
  }
}
