import Memcached

extension MemcachedPool: MemCacheStore {
  /// The configured servers, comma-separated.
  public var storeDescription: String {
    configuration.servers.map(\.description).joined(separator: ",")
  }

  /// Always `true`: memcached keeps items beyond this process.
  public var isPersistent: Bool { true }

  /// Reads one item with a borrowed connection, blocking the calling thread.
  public func get(_ key: String) throws -> MemcachedItem? {
    try withClient { try $0.get(key) }
  }

  /// Reads several items with a borrowed connection, blocking the calling thread.
  public func getMulti(_ keys: [String]) throws -> [String: MemcachedItem] {
    try withClient { try $0.getMulti(keys) }
  }

  /// Stores an item, blocking the calling thread.
  public func set(
    _ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration
  ) throws {
    try withClient { try $0.set(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Stores an item if the key is absent, blocking the calling thread.
  public func add(
    _ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration
  ) throws -> Bool {
    try withClient { try $0.add(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Stores an item if the key exists, blocking the calling thread.
  public func replace(
    _ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration
  ) throws -> Bool {
    try withClient { try $0.replace(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Appends bytes, blocking the calling thread.
  public func append(_ key: String, value: [UInt8]) throws -> Bool {
    try withClient { try $0.append(key, value: value) }
  }

  /// Prepends bytes, blocking the calling thread.
  public func prepend(_ key: String, value: [UInt8]) throws -> Bool {
    try withClient { try $0.prepend(key, value: value) }
  }

  /// Compare-and-swap, blocking the calling thread.
  public func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32, expiration: MemcachedExpiration
  ) throws -> MemcachedCASResult {
    try withClient { try $0.cas(key, value: value, cas: cas, flags: flags, expiration: expiration) }
  }

  /// Deletes an item, blocking the calling thread.
  public func delete(_ key: String) throws -> Bool {
    try withClient { try $0.delete(key) }
  }

  /// Adds to or subtracts from a counter, blocking the calling thread.
  public func counter(
    _ key: String, delta: UInt64, up: Bool, initial: UInt64?, expiration: MemcachedExpiration
  ) throws -> UInt64? {
    try withClient {
      up
        ? try $0.increment(key, by: delta, initial: initial, expiration: expiration)
        : try $0.decrement(key, by: delta, initial: initial, expiration: expiration)
    }
  }

  /// Sets a new expiration, blocking the calling thread.
  public func touch(_ key: String, expiration: MemcachedExpiration) throws -> Bool {
    try withClient { try $0.touch(key, expiration: expiration) }
  }

  /// Invalidates every item on every server, blocking the calling thread.
  public func flush() throws {
    try withClient { try $0.flush() }
  }

  /// The server the distribution picks for a key.
  public func server(forKey key: String) throws -> MemcachedServer? {
    try withClient { try $0.server(forKey: key) }
  }

  /// Times a round trip to every server, blocking the calling thread.
  public func ping() throws -> [MemcachedPingResult] {
    try withClient { $0.ping() }
  }

  /// Statistics per server, blocking the calling thread.
  public func stats() throws -> [MemcachedServerStats] {
    try withClient { $0.stats() }
  }

  /// Runs `body` with one of the pool's connections, where the async `withClient(_:)` runs its
  /// body: on the calling thread while ``MemcachedConfiguration/asyncExecution`` allows it,
  /// otherwise on the connection's queue, off the cooperative pool.
  public func perform<R: Sendable>(_ body: @escaping @Sendable (any MemCacheStore) throws -> R)
    async throws -> R
  {
    try await withClient { client in
      try body(BorrowedClientStore(client: client, pool: self))
    }
  }
}

/// The store seen by a body run through ``MemcachedPool/perform(_:)``: it uses the connection
/// already borrowed instead of borrowing another, so a body cannot deadlock a small pool.
private struct BorrowedClientStore: MemCacheStore, @unchecked Sendable {
  // @unchecked: it lives only for the duration of `perform`'s body, on the connection's queue.
  let client: MemcachedClient
  let pool: MemcachedPool

  var storeDescription: String { pool.storeDescription }
  var isPersistent: Bool { true }

  func get(_ key: String) throws -> MemcachedItem? { try client.get(key) }
  func getMulti(_ keys: [String]) throws -> [String: MemcachedItem] { try client.getMulti(keys) }
  func set(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws {
    try client.set(key, value: value, flags: flags, expiration: expiration)
  }
  func add(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws
    -> Bool
  {
    try client.add(key, value: value, flags: flags, expiration: expiration)
  }
  func replace(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration)
    throws -> Bool
  {
    try client.replace(key, value: value, flags: flags, expiration: expiration)
  }
  func append(_ key: String, value: [UInt8]) throws -> Bool { try client.append(key, value: value) }
  func prepend(_ key: String, value: [UInt8]) throws -> Bool {
    try client.prepend(key, value: value)
  }
  func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32, expiration: MemcachedExpiration
  ) throws -> MemcachedCASResult {
    try client.cas(key, value: value, cas: cas, flags: flags, expiration: expiration)
  }
  func delete(_ key: String) throws -> Bool { try client.delete(key) }
  func counter(
    _ key: String, delta: UInt64, up: Bool, initial: UInt64?, expiration: MemcachedExpiration
  ) throws -> UInt64? {
    up
      ? try client.increment(key, by: delta, initial: initial, expiration: expiration)
      : try client.decrement(key, by: delta, initial: initial, expiration: expiration)
  }
  func touch(_ key: String, expiration: MemcachedExpiration) throws -> Bool {
    try client.touch(key, expiration: expiration)
  }
  func flush() throws { try client.flush() }
  func server(forKey key: String) throws -> MemcachedServer? { try client.server(forKey: key) }
  func ping() throws -> [MemcachedPingResult] { client.ping() }
  func stats() throws -> [MemcachedServerStats] { client.stats() }
  func perform<R: Sendable>(_ body: @escaping @Sendable (any MemCacheStore) throws -> R)
    async throws -> R
  {
    try body(self)
  }
}
