import Memcached

/// Where ``MemCacheProxy`` keeps its bytes: memcached through a ``MemcachedPool``, or
/// ``InProcessStore`` in this process.
///
/// Every operation has a blocking form, for data managers in a transaction's commit and for
/// threads of your own, and an `async` form for request handlers, which the store runs where
/// blocking is safe (for a pool, see ``MemcachedConfiguration/asyncExecution``). Semantics are memcached's: a miss is `nil`, `add` on an existing key is `false`, a
/// CAS conflict is a value.
public protocol MemCacheStore: Sendable {
  /// A description for logs and the CLI, such as the server list.
  var storeDescription: String { get }
  /// Whether what is stored outlives this process (false for ``InProcessStore``).
  var isPersistent: Bool { get }

  /// Reads one item. - Throws: ``Memcached/MemcachedError`` when the store fails.
  func get(_ key: String) throws -> MemcachedItem?
  /// Reads several items; returns the hits.
  func getMulti(_ keys: [String]) throws -> [String: MemcachedItem]
  /// Stores an item.
  func set(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws
  /// Stores an item if the key is absent; returns whether it did.
  func add(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws
    -> Bool
  /// Stores an item if the key exists; returns whether it did.
  func replace(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration)
    throws -> Bool
  /// Appends bytes to an existing item; returns whether it existed.
  func append(_ key: String, value: [UInt8]) throws -> Bool
  /// Prepends bytes to an existing item; returns whether it existed.
  func prepend(_ key: String, value: [UInt8]) throws -> Bool
  /// Compare-and-swap.
  func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32, expiration: MemcachedExpiration
  ) throws -> MemcachedCASResult
  /// Deletes an item; returns whether it existed.
  func delete(_ key: String) throws -> Bool
  /// Adds to (or, with `up` false, subtracts from) a counter; `nil` when absent without initial.
  func counter(
    _ key: String, delta: UInt64, up: Bool, initial: UInt64?, expiration: MemcachedExpiration
  ) throws -> UInt64?
  /// Sets a new expiration; returns whether the item existed.
  func touch(_ key: String, expiration: MemcachedExpiration) throws -> Bool
  /// Invalidates every item.
  func flush() throws
  /// The server a key maps to, or `nil` for a store without servers.
  func server(forKey key: String) throws -> MemcachedServer?
  /// Times a round trip to every server (empty for a store without servers).
  func ping() throws -> [MemcachedPingResult]
  /// Statistics per server (empty for a store without servers).
  func stats() throws -> [MemcachedServerStats]

  /// Runs blocking store calls where async code may block and returns their result: for a pool,
  /// on the calling thread while ``MemcachedConfiguration/asyncExecution`` allows it, otherwise
  /// on a connection's dispatch queue, off Swift's cooperative thread pool.
  ///
  /// The async operations below are built on it, so a store only has to say where its blocking
  /// calls run.
  func perform<R: Sendable>(_ body: @escaping @Sendable (any MemCacheStore) throws -> R)
    async throws -> R

  /// Runs `body`, which may call this store's blocking operations, on the calling thread when
  /// the store lets async code block on it briefly now, and returns its result; returns `nil`
  /// without running `body` when the caller should leave the cooperative pool first (with
  /// ``perform(_:)``).
  ///
  /// Async commits use it to write a session without a thread hop. The default is `nil`.
  func runInline<R>(_ body: () throws -> R) throws -> R?
}

extension MemCacheStore {
  /// `nil`: by default a store's blocking calls leave the cooperative pool.
  public func runInline<R>(_ body: () throws -> R) throws -> R? { nil }
}

extension MemCacheStore {
  /// Reads one item asynchronously.
  public func get(_ key: String) async throws -> MemcachedItem? {
    try await perform { try $0.get(key) }
  }

  /// Reads several items asynchronously.
  public func getMulti(_ keys: [String]) async throws -> [String: MemcachedItem] {
    try await perform { try $0.getMulti(keys) }
  }

  /// Stores an item asynchronously.
  public func set(
    _ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration
  ) async throws {
    try await perform { try $0.set(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Stores an item if the key is absent, asynchronously.
  public func add(
    _ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration
  ) async throws -> Bool {
    try await perform { try $0.add(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Compare-and-swap asynchronously.
  public func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32, expiration: MemcachedExpiration
  ) async throws -> MemcachedCASResult {
    try await perform {
      try $0.cas(key, value: value, cas: cas, flags: flags, expiration: expiration)
    }
  }

  /// Deletes an item asynchronously.
  public func delete(_ key: String) async throws -> Bool {
    try await perform { try $0.delete(key) }
  }

  /// Sets a new expiration asynchronously.
  public func touch(_ key: String, expiration: MemcachedExpiration) async throws -> Bool {
    try await perform { try $0.touch(key, expiration: expiration) }
  }
}
