import Dispatch
import Metrics

/// What clients report through swift-metrics, one per pool or standalone client (see README).
final class MemcachedMetrics: Sendable {
  /// The operations measured, each with a timer and two error counters.
  enum Operation: Int, CaseIterable {
    case get, getMulti, exists, set, add, replace, append, prepend, cas, delete, increment
    case decrement, touch, flush

    /// The operation's Swift name, as errors and metrics give it.
    var name: String {
      switch self {
      case .get: "get"
      case .getMulti: "getMulti"
      case .exists: "exists"
      case .set: "set"
      case .add: "add"
      case .replace: "replace"
      case .append: "append"
      case .prepend: "prepend"
      case .cas: "cas"
      case .delete: "delete"
      case .increment: "increment"
      case .decrement: "decrement"
      case .touch: "touch"
      case .flush: "flush"
      }
    }
  }

  private let durations: [Timer]
  private let unavailable: [Counter]
  private let failures: [Counter]
  /// `get` calls that found the item, and those that did not.
  let hits = Counter(label: "mcdutils_memcached_hits")
  let misses = Counter(label: "mcdutils_memcached_misses")

  init() {
    durations = Operation.allCases.map {
      Timer(label: "mcdutils_memcached_duration", dimensions: [("operation", $0.name)])
    }
    unavailable = Operation.allCases.map {
      Counter(
        label: "mcdutils_memcached_errors",
        dimensions: [("operation", $0.name), ("kind", "unavailable")])
    }
    failures = Operation.allCases.map {
      Counter(
        label: "mcdutils_memcached_errors",
        dimensions: [("operation", $0.name), ("kind", "failed")]
      )
    }
  }

  /// The clock reading an operation starts with.
  @inline(__always)
  static func start() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

  /// Records an operation that took since `start`, and its error if it failed.
  func record(_ operation: Operation, since start: UInt64, error: MemcachedError? = nil) {
    durations[operation.rawValue].recordNanoseconds(
      Int64(clamping: DispatchTime.now().uptimeNanoseconds &- start))
    guard let error else { return }
    (error.isUnavailable ? unavailable : failures)[operation.rawValue].increment()
  }
}
