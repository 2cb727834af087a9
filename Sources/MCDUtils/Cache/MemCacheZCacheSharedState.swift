import Logging
import Metrics
import Synchronization

/// Something a page cache did: counted in its statistics and reported as a swift-metrics
/// counter (`mcdutils_cache_hits`, …).
enum CacheEvent: CaseIterable {
  case hit, miss, staleHit, set, invalidation, storeError, wait

  var field: WritableKeyPath<MemCacheZCacheStatistics, Int> {
    switch self {
    case .hit: \.hits
    case .miss: \.misses
    case .staleHit: \.staleHits
    case .set: \.sets
    case .invalidation: \.invalidations
    case .storeError: \.storeErrors
    case .wait: \.waits
    }
  }

  var metricLabel: String {
    switch self {
    case .hit: "mcdutils_cache_hits"
    case .miss: "mcdutils_cache_misses"
    case .staleHit: "mcdutils_cache_stale_hits"
    case .set: "mcdutils_cache_sets"
    case .invalidation: "mcdutils_cache_invalidations"
    case .storeError: "mcdutils_cache_store_errors"
    case .wait: "mcdutils_cache_waits"
    }
  }
}

/// What the caches made by one manager share: statistics and recently seen generations.
final class MemCacheZCacheSharedState: Sendable {
  private struct RememberedGeneration {
    var value: UInt64
    var expires: ContinuousClock.Instant
  }

  /// The most generations remembered; beyond it the memo is cleared.
  private static let capacity = 10_000

  /// The counters behind ``MemCacheZCache/statistics``.
  let statistics = Mutex(MemCacheZCacheStatistics())
  /// The last store failure, until the store answers again.
  let lastStoreError = Mutex<MemCacheError?>(nil)
  private let generations = Mutex([String: RememberedGeneration]())
  private let clock = ContinuousClock()

  private let counters: [CacheEvent: Counter]

  /// The state of the caches named `name` (the `cache` dimension of their metrics).
  init(name: String) {
    counters = Dictionary(
      uniqueKeysWithValues: CacheEvent.allCases.map {
        ($0, Counter(label: $0.metricLabel, dimensions: [("cache", name)]))
      })
  }

  /// Counts an event in the statistics and the metrics.
  func record(_ event: CacheEvent) {
    statistics.withLock { $0[keyPath: event.field] += 1 }
    counters[event]?.increment()
  }

  /// Counts a store failure, and logs it when it starts an episode of failures.
  func noteFailure(_ error: MemCacheError, logger: Logger) {
    record(.storeError)
    let first = lastStoreError.withLock { last in
      defer { last = error }
      return last == nil
    }
    if first {
      logger.warning(
        "the page cache's store fails; lookups are misses until it answers",
        metadata: ["error": "\(error)"])
    }
  }

  /// Ends an episode of store failures, logging that it ended.
  func noteSuccess(logger: Logger) {
    guard lastStoreError.withLock({ $0 }) != nil else { return }
    let ended = lastStoreError.withLock { last in
      defer { last = nil }
      return last != nil
    }
    if ended { logger.info("the page cache's store answers again") }
  }

  /// Remembers that the object's generation counter held `generation`.
  func remember(_ generation: UInt64, for key: String, lifetime: Duration) {
    // Generations only grow, so the larger of two recent values is kept: an answer that was on
    // the wire while an invalidation went through never takes the memo back.
    let now = clock.now
    generations.withLock { memo in
      if let known = memo[key], known.expires > now, known.value >= generation { return }
      if memo.count >= Self.capacity {
        memo = memo.filter { $0.value.expires > now }
        if memo.count >= Self.capacity { memo.removeAll() }
      }
      memo[key] = RememberedGeneration(value: generation, expires: now.advanced(by: lifetime))
    }
  }

  /// The generation seen recently for the object's counter, if any.
  func recentGeneration(for key: String) -> UInt64? {
    let now = clock.now
    return generations.withLock { memo in
      guard let known = memo[key], known.expires > now else { return nil }
      return known.value
    }
  }
}
