import Metrics

/// What session writes report through swift-metrics: writes retried after another request wrote
/// the session first, writes given up as conflicts, and commits refused because the session had
/// ended. Dimension `store`: `container` (``MemCacheSessionDataContainer``) or `typed`
/// (``SessionStore``).
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
