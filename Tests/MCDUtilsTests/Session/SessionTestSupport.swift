import Memcached
import Synchronization

@testable import MCDUtils

/// A store that counts the calls made to the store it wraps, by operation name.
final class SessionCountingStore: MemCacheStore {
  let inner: any MemCacheStore
  private let counts = Mutex([String: Int]())
  private let recordedExpirations = Mutex([MemcachedExpiration]())

  init(_ inner: any MemCacheStore = InProcessStore()) {
    self.inner = inner
  }

  func count(_ operation: String) -> Int { counts.withLock { $0[operation] ?? 0 } }
  /// Every write: set, add, replace, cas, delete, touch, append, prepend, counters.
  var writes: Int {
    counts.withLock { counts in
      ["set", "add", "replace", "cas", "delete", "touch", "append", "prepend", "counter"]
        .reduce(0) { $0 + (counts[$1] ?? 0) }
    }
  }
  /// The expiration of every write that carries one (set, add, replace, cas, touch), in order.
  var expirations: [MemcachedExpiration] { recordedExpirations.withLock { $0 } }
  func reset() {
    counts.withLock { $0.removeAll() }
    recordedExpirations.withLock { $0.removeAll() }
  }
  private func note(_ operation: String, _ expiration: MemcachedExpiration? = nil) {
    counts.withLock { $0[operation, default: 0] += 1 }
    if let expiration { recordedExpirations.withLock { $0.append(expiration) } }
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
    try await inner.perform { _ in try body(self) }
  }
}

/// A container over a counting in-process store.
func makeUnitContainer(
  timeout: Duration = MemCacheSessionDataContainer.defaultTimeout,
  resolution: Duration = MemCacheSessionDataContainer.defaultResolution,
  policy: MemCacheSessionDataContainer.ConflictPolicy = .merge
) -> (MemCacheSessionDataContainer, SessionCountingStore) {
  let store = SessionCountingStore()
  let container = MemCacheSessionDataContainer(
    proxy: MemCacheProxy(store: store), timeout: timeout, resolution: resolution,
    conflictPolicy: policy)
  return (container, store)
}

/// A pool for `servers` with its own key prefix.
func makePool(_ servers: [MemcachedServer], prefix: String) throws -> MemcachedPool {
  var configuration = MemcachedConfiguration(servers: servers)
  configuration.keyPrefix = prefix
  return try MemcachedPool(configuration: configuration)
}

extension MemCacheError {
  /// The name of the case, for tests that only care which case was thrown.
  var caseName: String {
    switch self {
    case .noProxy: "noProxy"
    case .invalidBrowserId: "invalidBrowserId"
    case .conflict: "conflict"
    case .sessionTooLarge: "sessionTooLarge"
    case .storeFailed: "storeFailed"
    case .undecodable: "undecodable"
    case .notASession: "notASession"
    case .encodingFailed: "encodingFailed"
    case .decodingFailed: "decodingFailed"
    case .unexpected: "unexpected"
    }
  }
}

/// The ``MemCacheError`` that `body` throws, or `nil` when it throws nothing or another error.
func memCacheError(_ body: () throws -> Void) -> MemCacheError? {
  do {
    try body()
    return nil
  } catch let error as MemCacheError {
    return error
  } catch {
    return nil
  }
}

/// The async form of ``memCacheError(_:)``.
func asyncMemCacheError(_ body: () async throws -> Void) async -> MemCacheError? {
  do {
    try await body()
    return nil
  } catch let error as MemCacheError {
    return error
  } catch {
    return nil
  }
}
