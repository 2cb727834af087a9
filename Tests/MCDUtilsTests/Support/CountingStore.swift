import Memcached
import Synchronization

@testable import MCDUtils

/// A store that counts the calls made to the store it wraps, by operation name, and records the
/// expiration of every write that carries one.
///
/// `perform` lends a counting view of the store the inner `perform` lends, sharing this store's
/// record, so calls made through `perform` (every async operation) are counted too.
final class CountingStore: MemCacheStore {
  /// What has been called so far, shared with the views `perform` lends.
  final class Record: Sendable {
    let counts = Mutex([String: Int]())
    let expirations = Mutex([MemcachedExpiration]())
  }

  /// The operations that write: set, add, replace, cas, delete, touch, append, prepend, counters.
  static let writeOperations = [
    "set", "add", "replace", "cas", "delete", "touch", "append", "prepend", "counter",
  ]

  let inner: any MemCacheStore
  let record: Record

  init(_ inner: any MemCacheStore = InProcessStore(), record: Record = Record()) {
    self.inner = inner
    self.record = record
  }

  /// The calls made so far, by operation (operations never called are absent).
  var counts: [String: Int] { record.counts.withLock { $0 } }
  /// The number of calls made so far to `operation`.
  func count(_ operation: String) -> Int { record.counts.withLock { $0[operation] ?? 0 } }
  /// The number of calls made so far, of every operation.
  var total: Int { counts.values.reduce(0, +) }
  /// The number of writes made so far (see ``writeOperations``).
  var writes: Int {
    let counts = self.counts
    return Self.writeOperations.reduce(0) { $0 + (counts[$1] ?? 0) }
  }
  /// The expiration of every write that carries one (set, add, replace, cas, touch), in order.
  var expirations: [MemcachedExpiration] { record.expirations.withLock { $0 } }
  /// Forgets every call made so far.
  func reset() {
    record.counts.withLock { $0.removeAll() }
    record.expirations.withLock { $0.removeAll() }
  }

  private func note(_ operation: String, _ expiration: MemcachedExpiration? = nil) {
    record.counts.withLock { $0[operation, default: 0] += 1 }
    if let expiration { record.expirations.withLock { $0.append(expiration) } }
  }

  var storeDescription: String { inner.storeDescription }
  var isPersistent: Bool { inner.isPersistent }
  func get(_ key: String) throws -> MemcachedItem? {
    note("get")
    return try inner.get(key)
  }
  func getMulti(_ keys: [String]) throws -> [String: MemcachedItem] {
    note("getMulti")
    return try inner.getMulti(keys)
  }
  func set(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws {
    note("set", expiration)
    try inner.set(key, value: value, flags: flags, expiration: expiration)
  }
  func add(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws
    -> Bool
  {
    note("add", expiration)
    return try inner.add(key, value: value, flags: flags, expiration: expiration)
  }
  func replace(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration)
    throws -> Bool
  {
    note("replace", expiration)
    return try inner.replace(key, value: value, flags: flags, expiration: expiration)
  }
  func append(_ key: String, value: [UInt8]) throws -> Bool {
    note("append")
    return try inner.append(key, value: value)
  }
  func prepend(_ key: String, value: [UInt8]) throws -> Bool {
    note("prepend")
    return try inner.prepend(key, value: value)
  }
  func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32, expiration: MemcachedExpiration
  ) throws -> MemcachedCASResult {
    note("cas", expiration)
    return try inner.cas(key, value: value, cas: cas, flags: flags, expiration: expiration)
  }
  func delete(_ key: String) throws -> Bool {
    note("delete")
    return try inner.delete(key)
  }
  func counter(
    _ key: String, delta: UInt64, up: Bool, initial: UInt64?, expiration: MemcachedExpiration
  ) throws -> UInt64? {
    note("counter")
    return try inner.counter(key, delta: delta, up: up, initial: initial, expiration: expiration)
  }
  func touch(_ key: String, expiration: MemcachedExpiration) throws -> Bool {
    note("touch", expiration)
    return try inner.touch(key, expiration: expiration)
  }
  func flush() throws { try inner.flush() }
  func server(forKey key: String) throws -> MemcachedServer? { try inner.server(forKey: key) }
  func ping() throws -> [MemcachedPingResult] { try inner.ping() }
  func stats() throws -> [MemcachedServerStats] { try inner.stats() }
  func perform<R: Sendable>(_ body: @escaping @Sendable (any MemCacheStore) throws -> R)
    async throws -> R
  {
    let record = self.record
    return try await inner.perform { borrowed in
      try body(CountingStore(borrowed, record: record))
    }
  }
}
