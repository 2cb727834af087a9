import Memcached
import Synchronization

@testable import MCDUtils

/// A store that counts the calls that reach the network, around another store.
///
/// `perform` lends a counting view of the store the inner `perform` lends, so async calls are
/// counted too.
final class ZCacheCountingStore: MemCacheStore {
  /// The calls made so far, by operation, shared with the views `perform` lends.
  final class Calls: Sendable {
    let counts = Mutex([String: Int]())
  }

  let inner: any MemCacheStore
  let calls: Calls

  init(_ inner: any MemCacheStore, calls: Calls = Calls()) {
    self.inner = inner
    self.calls = calls
  }

  var counts: [String: Int] { calls.counts.withLock { $0 } }
  var total: Int { counts.values.reduce(0, +) }
  func reset() { calls.counts.withLock { $0 = [:] } }

  private func note(_ name: String) { calls.counts.withLock { $0[name, default: 0] += 1 } }

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
    note("set")
    try inner.set(key, value: value, flags: flags, expiration: expiration)
  }
  func add(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws
    -> Bool
  {
    note("add")
    return try inner.add(key, value: value, flags: flags, expiration: expiration)
  }
  func replace(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration)
    throws -> Bool
  {
    note("replace")
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
    note("cas")
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
    note("touch")
    return try inner.touch(key, expiration: expiration)
  }
  func flush() throws { try inner.flush() }
  func server(forKey key: String) throws -> MemcachedServer? { try inner.server(forKey: key) }
  func ping() throws -> [MemcachedPingResult] { try inner.ping() }
  func stats() throws -> [MemcachedServerStats] { try inner.stats() }
  func perform<R: Sendable>(_ body: @escaping @Sendable (any MemCacheStore) throws -> R)
    async throws -> R
  {
    let calls = self.calls
    return try await inner.perform { borrowed in
      try body(ZCacheCountingStore(borrowed, calls: calls))
    }
  }
}
