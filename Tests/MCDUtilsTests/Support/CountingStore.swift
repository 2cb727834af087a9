import Memcached

@testable import MCDUtils

/// The operations an ``InProcessStore`` saw, for tests that count round trips and check the
/// lifetimes writes set.
extension InProcessStore {
  /// The operations that write.
  static let writeOperations = [
    "set", "add", "replace", "cas", "delete", "touch", "append", "prepend", "increment",
    "decrement",
  ]

  /// The calls made so far, by operation (operations never called are absent).
  var counts: [String: Int] { journal.withLock { $0.counts } }
  /// The number of calls made so far to `operation`.
  func count(_ operation: String) -> Int { counts[operation] ?? 0 }
  /// The number of calls made so far, of every operation.
  var total: Int { counts.values.reduce(0, +) }
  /// The number of writes made so far.
  var writes: Int { Self.writeOperations.reduce(0) { $0 + count($1) } }
  /// The expiration of every write that had one, in call order.
  var expirations: [MemcachedExpiration] { journal.withLock { $0.expirations } }
  /// Forgets what was counted.
  func reset() { journal.withLock { $0 = Journal() } }
}
