import Metrics

/// The swift-metrics counters of one kind of store's session writes.
final class SessionMetrics: Sendable {
  let retries: Counter
  let conflicts: Counter
  let ended: Counter

  init(store: String) {
    retries = Counter(label: "mcdutils_session_retries", dimensions: [("store", store)])
    conflicts = Counter(label: "mcdutils_session_conflicts", dimensions: [("store", store)])
    ended = Counter(label: "mcdutils_session_ended_writes", dimensions: [("store", store)])
  }

  /// Counts what a failed write threw, and passes it on.
  func counted(_ error: MemCacheError) -> MemCacheError {
    switch error {
    case .conflict: conflicts.increment()
    case .sessionEnded: ended.increment()
    default: break
    }
    return error
  }
}
