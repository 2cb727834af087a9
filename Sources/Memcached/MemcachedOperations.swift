/// The blocking operations of one memcached connection, implemented by ``MemcachedClient`` and
/// by MCDUtils' in-memory `InProcessStore`.
public protocol MemcachedOperations {
  /// Reads one item; `nil` on a miss.
  func get(_ key: String) throws -> MemcachedItem?
  /// Reads many items with one request per server; returns the hits, by key.
  func getMulti(_ keys: [String]) throws -> [String: MemcachedItem]
  /// Whether an item exists, without reading its value.
  func exists(_ key: String) throws -> Bool
  /// Stores an item, whether or not it exists.
  func set(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws
  /// Stores an item only if the key does not exist; returns whether it was stored.
  func add(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration) throws
    -> Bool
  /// Stores an item only if the key exists; returns whether it was stored.
  func replace(_ key: String, value: [UInt8], flags: UInt32, expiration: MemcachedExpiration)
    throws -> Bool
  /// Appends bytes to an existing item; returns `false` when the key does not exist.
  func append(_ key: String, value: [UInt8]) throws -> Bool
  /// Prepends bytes to an existing item; returns `false` when the key does not exist.
  func prepend(_ key: String, value: [UInt8]) throws -> Bool
  /// Stores an item only if nobody wrote it since `cas` was read.
  func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32, expiration: MemcachedExpiration
  ) throws -> MemcachedCASResult
  /// Deletes an item; returns whether it existed.
  func delete(_ key: String) throws -> Bool
  /// Adds to a counter and returns its new value; `nil` when the key does not exist and no
  /// initial value is given.
  func increment(
    _ key: String, by delta: UInt64, initial: UInt64?, expiration: MemcachedExpiration
  ) throws -> UInt64?
  /// Subtracts from a counter (stopping at 0) and returns its new value; `nil` when the key
  /// does not exist and no initial value is given.
  func decrement(
    _ key: String, by delta: UInt64, initial: UInt64?, expiration: MemcachedExpiration
  ) throws -> UInt64?
  /// Sets a new expiration on an item without reading it; returns whether it existed.
  func touch(_ key: String, expiration: MemcachedExpiration) throws -> Bool
  /// Invalidates every item on every server, now or after a delay.
  func flush(after delay: MemcachedExpiration) throws
  /// Times one real round trip to every server (empty for a store without servers).
  func ping() -> [MemcachedPingResult]
  /// The statistics of every server (empty for a store without servers).
  func stats(_ group: String?) -> [MemcachedServerStats]

  /// How many nodes items are spread over (1 for a store in this process).
  var nodeCount: Int { get }
  /// The nodes that hold the copies of `key`: its primary, then up to `replicas` other nodes.
  /// - Throws: ``MemcachedError`` for a bad key.
  func nodes(forKey key: String, replicas: Int) throws -> [Int]
  /// Runs `body` with every operation sent to node `node`, whatever the key.
  func onNode<R>(_ node: Int, _ body: (Self) throws -> R) rethrows -> R
  /// Whether node `node` is known to be down, and when it last came back.
  func nodeStatus(_ node: Int) -> MemcachedNodeStatus
}

/// Lends connections, one borrower at a time (``MemcachedPool``, MCDUtils' `InProcessStore`),
/// and offers async forms of every operation.
public protocol MemcachedConnectionSource: Sendable {
  /// The connection type lent.
  associatedtype Connection: MemcachedOperations

  /// Borrows a connection for the duration of `body`, on the calling thread.
  /// - Throws: ``MemcachedError`` when no connection can be had, or what `body` throws.
  func withConnection<R>(_ body: (Connection) throws -> R) throws -> R

  /// Borrows a connection and runs `body` with it where async code may block.
  /// - Throws: ``MemcachedError`` when no connection can be had, `CancellationError`, or `body`'s.
  func withConnection<R: Sendable>(_ body: @escaping @Sendable (Connection) throws -> R)
    async throws -> R
}

extension MemcachedConnectionSource {
  /// Reads one item; `nil` on a miss. See ``MemcachedOperations/get(_:)``.
  /// - Throws: ``MemcachedError``.
  public func get(_ key: String) async throws -> MemcachedItem? {
    try await withConnection { try $0.get(key) }
  }

  /// Reads many items. See ``MemcachedOperations/getMulti(_:)``.
  /// - Throws: ``MemcachedError``.
  public func getMulti(_ keys: [String]) async throws -> [String: MemcachedItem] {
    try await withConnection { try $0.getMulti(keys) }
  }

  /// Whether an item exists. See ``MemcachedOperations/exists(_:)``.
  /// - Throws: ``MemcachedError``.
  public func exists(_ key: String) async throws -> Bool {
    try await withConnection { try $0.exists(key) }
  }

  /// Stores an item. See ``MemcachedOperations/set(_:value:flags:expiration:)``.
  /// - Throws: ``MemcachedError``.
  public func set(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) async throws {
    try await withConnection { try $0.set(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Stores an item if absent; see ``MemcachedOperations/add(_:value:flags:expiration:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func add(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) async throws -> Bool {
    try await withConnection { try $0.add(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Replaces an item; see ``MemcachedOperations/replace(_:value:flags:expiration:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func replace(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) async throws -> Bool {
    try await withConnection {
      try $0.replace(key, value: value, flags: flags, expiration: expiration)
    }
  }

  /// Appends bytes to an existing item. See ``MemcachedOperations/append(_:value:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func append(_ key: String, value: [UInt8]) async throws -> Bool {
    try await withConnection { try $0.append(key, value: value) }
  }

  /// Prepends bytes to an existing item. See ``MemcachedOperations/prepend(_:value:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func prepend(_ key: String, value: [UInt8]) async throws -> Bool {
    try await withConnection { try $0.prepend(key, value: value) }
  }

  /// Compare-and-swap. See ``MemcachedOperations/cas(_:value:cas:flags:expiration:)``.
  /// - Throws: ``MemcachedError``.
  public func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32 = 0,
    expiration: MemcachedExpiration = .never
  ) async throws -> MemcachedCASResult {
    try await withConnection {
      try $0.cas(key, value: value, cas: cas, flags: flags, expiration: expiration)
    }
  }

  /// Deletes an item. See ``MemcachedOperations/delete(_:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func delete(_ key: String) async throws -> Bool {
    try await withConnection { try $0.delete(key) }
  }

  /// Adds to a counter. See ``MemcachedOperations/increment(_:by:initial:expiration:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws -> UInt64? {
    try await withConnection {
      try $0.increment(key, by: delta, initial: initial, expiration: expiration)
    }
  }

  /// Subtracts from a counter. See ``MemcachedOperations/decrement(_:by:initial:expiration:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws -> UInt64? {
    try await withConnection {
      try $0.decrement(key, by: delta, initial: initial, expiration: expiration)
    }
  }

  /// Sets a new expiration. See ``MemcachedOperations/touch(_:expiration:)``.
  /// - Throws: ``MemcachedError``.
  @discardableResult
  public func touch(_ key: String, expiration: MemcachedExpiration) async throws -> Bool {
    try await withConnection { try $0.touch(key, expiration: expiration) }
  }

  /// Invalidates every item. See ``MemcachedOperations/flush(after:)``.
  /// - Throws: ``MemcachedError``.
  public func flush(after delay: MemcachedExpiration = .never) async throws {
    try await withConnection { try $0.flush(after: delay) }
  }

  /// Times a round trip to every server. See ``MemcachedOperations/ping()``.
  /// - Throws: ``MemcachedError`` when no connection can be had.
  public func ping() async throws -> [MemcachedPingResult] {
    try await withConnection { $0.ping() }
  }

  /// The statistics of every server. See ``MemcachedOperations/stats(_:)``.
  /// - Throws: ``MemcachedError`` when no connection can be had.
  public func stats(_ group: String? = nil) async throws -> [MemcachedServerStats] {
    try await withConnection { $0.stats(group) }
  }
}
