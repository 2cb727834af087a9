extension MemcachedPool {
  /// Reads one item; `nil` on a miss. See ``MemcachedClient/get(_:)``.
  public func get(_ key: String) async throws -> MemcachedItem? {
    try await withClient { try $0.get(key) }
  }

  /// Reads many items with one request per server. See ``MemcachedClient/getMulti(_:)``.
  public func getMulti(_ keys: [String]) async throws -> [String: MemcachedItem] {
    try await withClient { try $0.getMulti(keys) }
  }

  /// Whether an item exists. See ``MemcachedClient/exists(_:)``.
  public func exists(_ key: String) async throws -> Bool {
    try await withClient { try $0.exists(key) }
  }

  /// Stores an item. See ``MemcachedClient/set(_:value:flags:expiration:)``.
  public func set(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) async throws {
    try await withClient { try $0.set(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Stores an item only if the key is absent. See ``MemcachedClient/add(_:value:flags:expiration:)``.
  @discardableResult
  public func add(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) async throws -> Bool {
    try await withClient { try $0.add(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Stores an item only if the key exists. See
  /// ``MemcachedClient/replace(_:value:flags:expiration:)``.
  @discardableResult
  public func replace(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) async throws -> Bool {
    try await withClient { try $0.replace(key, value: value, flags: flags, expiration: expiration) }
  }

  /// Appends bytes to an existing item. See ``MemcachedClient/append(_:value:)``.
  @discardableResult
  public func append(_ key: String, value: [UInt8]) async throws -> Bool {
    try await withClient { try $0.append(key, value: value) }
  }

  /// Prepends bytes to an existing item. See ``MemcachedClient/prepend(_:value:)``.
  @discardableResult
  public func prepend(_ key: String, value: [UInt8]) async throws -> Bool {
    try await withClient { try $0.prepend(key, value: value) }
  }

  /// Compare-and-swap. See ``MemcachedClient/cas(_:value:cas:flags:expiration:)``.
  public func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32 = 0,
    expiration: MemcachedExpiration = .never
  ) async throws -> MemcachedCASResult {
    try await withClient {
      try $0.cas(key, value: value, cas: cas, flags: flags, expiration: expiration)
    }
  }

  /// Deletes an item. See ``MemcachedClient/delete(_:)``.
  @discardableResult
  public func delete(_ key: String) async throws -> Bool {
    try await withClient { try $0.delete(key) }
  }

  /// Adds to a counter. See ``MemcachedClient/increment(_:by:initial:expiration:)``.
  @discardableResult
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws -> UInt64? {
    try await withClient {
      try $0.increment(key, by: delta, initial: initial, expiration: expiration)
    }
  }

  /// Subtracts from a counter. See ``MemcachedClient/decrement(_:by:initial:expiration:)``.
  @discardableResult
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws -> UInt64? {
    try await withClient {
      try $0.decrement(key, by: delta, initial: initial, expiration: expiration)
    }
  }

  /// Sets a new expiration. See ``MemcachedClient/touch(_:expiration:)``.
  @discardableResult
  public func touch(_ key: String, expiration: MemcachedExpiration) async throws -> Bool {
    try await withClient { try $0.touch(key, expiration: expiration) }
  }

  /// Invalidates every item. See ``MemcachedClient/flush(after:)``.
  public func flush(after delay: MemcachedExpiration = .never) async throws {
    try await withClient { try $0.flush(after: delay) }
  }

  /// The server a key maps to. See ``MemcachedClient/server(forKey:)``.
  public func server(forKey key: String) async throws -> MemcachedServer {
    try await withClient { try $0.server(forKey: key) }
  }

  /// Times a round trip to every server. See ``MemcachedClient/ping()``.
  public func ping() async throws -> [MemcachedPingResult] {
    try await withClient { $0.ping() }
  }

  /// The statistics of every server. See ``MemcachedClient/stats(_:)``.
  public func stats(_ group: String? = nil) async throws -> [MemcachedServerStats] {
    try await withClient { $0.stats(group) }
  }

  /// The version of every server. See ``MemcachedClient/version()``.
  public func version() async throws -> [MemcachedServerVersion] {
    try await withClient { $0.version() }
  }
}
