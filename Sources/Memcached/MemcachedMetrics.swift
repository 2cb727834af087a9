import Dispatch
import Metrics

/// What clients report through swift-metrics, made once per pool (or standalone client) with
/// the metrics backend the application bootstrapped. The README lists the names and
/// dimensions.
final class MemcachedMetrics: Sendable {
  static let operations = [
    "get", "getMulti", "exists", "set", "add", "replace", "append", "prepend", "cas", "delete",
    "increment", "decrement", "touch", "flush",
  ]

  private let durations: [String: Timer]
  private let unavailable: [String: Counter]
  private let failures: [String: Counter]
  /// `get` calls that found the item, and those that did not.
  let hits = Counter(label: "mcdutils_memcached_hits")
  let misses = Counter(label: "mcdutils_memcached_misses")

  init() {
    var durations: [String: Timer] = [:]
    var unavailable: [String: Counter] = [:]
    var failures: [String: Counter] = [:]
    for operation in Self.operations {
      durations[operation] = Timer(
        label: "mcdutils_memcached_duration", dimensions: [("operation", operation)])
      unavailable[operation] = Counter(
        label: "mcdutils_memcached_errors",
        dimensions: [("operation", operation), ("kind", "unavailable")])
      failures[operation] = Counter(
        label: "mcdutils_memcached_errors",
        dimensions: [("operation", operation), ("kind", "failed")])
    }
    self.durations = durations
    self.unavailable = unavailable
    self.failures = failures
  }

  /// The clock reading an operation starts with.
  @inline(__always)
  static func start() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

  /// Records an operation that took since `start`, and its error if it failed.
  func record(_ operation: String, since start: UInt64, error: MemcachedError? = nil) {
    durations[operation]?.recordNanoseconds(
      Int64(clamping: DispatchTime.now().uptimeNanoseconds &- start))
    guard let error else { return }
    (error.isUnavailable ? unavailable : failures)[operation]?.increment()
  }
}
