import Memcached

// The expanded client API over `Codable` values, blocking and async: both forms are one line
// over the same steps (encode, run on a connection, keep the read cache right).
extension MemCacheProxy {
  // MARK: Reads

  /// The raw item under `key` (bytes, flags, CAS value), such as a counter, or `nil` on a miss.
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/storeFailed(_:)``.
  public func item(forKey key: String) throws(MemCacheError) -> MemcachedItem? {
    let cache = readCache.cache(for: Transaction.current, create: true)
    if let cached = cache?.item(key) { return cached }
    return remember(try run { try $0.get(key) }, key, in: cache)
  }

  /// The raw item under `key`, asynchronously.
  /// - Throws: as the blocking `item(forKey:)`.
  public func item(forKey key: String) async throws(MemCacheError) -> MemcachedItem? {
    let cache = readCache.cache(for: Transaction.current, create: true)
    if let cached = cache?.item(key) { return cached }
    return remember(try await run { try $0.get(key) }, key, in: cache)
  }

  private func remember(_ item: MemcachedItem?, _ key: String, in cache: TransactionReadCache?)
    -> MemcachedItem?
  {
    cache?.store(item, forKey: key)
    return item
  }

  /// The value under `key`, or `nil` on a miss: the original's `get`.
  /// - Throws: ``MemCacheError/undecodable(_:)`` for bytes that are not ours,
  ///   ``MemCacheError/decodingFailed(_:)`` for a value that is not a `T`, or a store error.
  public func get<T: Decodable>(_ key: String, as type: T.Type = T.self) throws(MemCacheError)
    -> T?
  {
    try item(forKey: key).map { item throws(MemCacheError) in try decode(item, as: type, key: key) }
  }

  /// The value under `key`, or `nil` on a miss, asynchronously.
  /// - Throws: as the blocking `get(_:as:)`.
  public func get<T: Decodable>(_ key: String, as type: T.Type = T.self)
    async throws(MemCacheError) -> T?
  {
    try await item(forKey: key).map { item throws(MemCacheError) in
      try decode(item, as: type, key: key)
    }
  }

  /// The value under `key` with its CAS value, for a later `cas(_:_:cas:expiration:)`, or `nil`.
  /// - Throws: as `get(_:as:)`.
  public func getWithCAS<T: Decodable>(_ key: String, as type: T.Type = T.self)
    throws(MemCacheError) -> (value: T, cas: UInt64)?
  {
    try item(forKey: key).map { item throws(MemCacheError) in
      (try decode(item, as: type, key: key), item.cas)
    }
  }

  /// The value under `key` with its CAS value, asynchronously.
  /// - Throws: as `get(_:as:)`.
  public func getWithCAS<T: Decodable>(_ key: String, as type: T.Type = T.self)
    async throws(MemCacheError) -> (value: T, cas: UInt64)?
  {
    try await item(forKey: key).map { item throws(MemCacheError) in
      (try decode(item, as: type, key: key), item.cas)
    }
  }

  /// The values of the keys that exist, one request per server: the original's `get_multi`.
  /// - Throws: as `get(_:as:)`.
  public func getMulti<T: Decodable>(_ keys: [String], as type: T.Type = T.self)
    throws(MemCacheError) -> [String: T]
  {
    let lookup = MultiLookup(keys, readCache.cache(for: Transaction.current, create: true))
    let fetched = lookup.missing.isEmpty ? [:] : try run { try $0.getMulti(lookup.missing) }
    return try lookup.values(fetched) { key, item throws(MemCacheError) in
      try decode(item, as: type, key: key)
    }
  }

  /// The values of the keys that exist, asynchronously.
  /// - Throws: as `get(_:as:)`.
  public func getMulti<T: Decodable>(_ keys: [String], as type: T.Type = T.self)
    async throws(MemCacheError) -> [String: T]
  {
    let lookup = MultiLookup(keys, readCache.cache(for: Transaction.current, create: true))
    let missing = lookup.missing
    let fetched = missing.isEmpty ? [:] : try await run { try $0.getMulti(missing) }
    return try lookup.values(fetched) { key, item throws(MemCacheError) in
      try decode(item, as: type, key: key)
    }
  }

  // MARK: Writes

  /// Stores `value` under `key`: the original's `set`.
  /// - Throws: ``MemCacheError/valueTooLarge(size:maximum:)``,
  ///   ``MemCacheError/nestingTooDeep(limit:)``, ``MemCacheError/encodingFailed(_:)``, or what
  ///   `item(forKey:)` throws.
  public func set(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    throws(MemCacheError)
  {
    let (bytes, flags) = try encode(value, key: key)
    try write(key) { try $0.set(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` under `key` asynchronously.
  /// - Throws: as the blocking `set(_:_:expiration:)`.
  public func set(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    async throws(MemCacheError)
  {
    let (bytes, flags) = try encode(value, key: key)
    try await write(key) { try $0.set(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` only if `key` is absent; returns whether it did. The original's `add`.
  /// - Throws: as `set(_:_:expiration:)`.
  @discardableResult
  public func add(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    throws(MemCacheError) -> Bool
  {
    let (bytes, flags) = try encode(value, key: key)
    return try write(key) { try $0.add(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` only if `key` is absent, asynchronously.
  /// - Throws: as `set(_:_:expiration:)`.
  @discardableResult
  public func add(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    async throws(MemCacheError) -> Bool
  {
    let (bytes, flags) = try encode(value, key: key)
    return try await write(key) {
      try $0.add(key, value: bytes, flags: flags, expiration: expiration)
    }
  }

  /// Stores `value` only if `key` exists; returns whether it did. The original's `replace`.
  /// - Throws: as `set(_:_:expiration:)`.
  @discardableResult
  public func replace(
    _ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> Bool {
    let (bytes, flags) = try encode(value, key: key)
    return try write(key) {
      try $0.replace(key, value: bytes, flags: flags, expiration: expiration)
    }
  }

  /// Stores `value` only if `key` exists, asynchronously.
  /// - Throws: as `set(_:_:expiration:)`.
  @discardableResult
  public func replace(
    _ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> Bool {
    let (bytes, flags) = try encode(value, key: key)
    return try await write(key) {
      try $0.replace(key, value: bytes, flags: flags, expiration: expiration)
    }
  }

  /// Stores `value` only if nobody wrote `key` since `cas` was read (`getWithCAS(_:as:)`).
  /// - Throws: as `set(_:_:expiration:)`.
  public func cas(
    _ key: String, _ value: some Encodable, cas: UInt64, expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> MemcachedCASResult {
    let (bytes, flags) = try encode(value, key: key)
    return try write(key) {
      try $0.cas(key, value: bytes, cas: cas, flags: flags, expiration: expiration)
    }
  }

  /// Compare-and-swap asynchronously.
  /// - Throws: as `set(_:_:expiration:)`.
  public func cas(
    _ key: String, _ value: some Encodable, cas: UInt64, expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> MemcachedCASResult {
    let (bytes, flags) = try encode(value, key: key)
    return try await write(key) {
      try $0.cas(key, value: bytes, cas: cas, flags: flags, expiration: expiration)
    }
  }

  /// Deletes `key`; returns whether it existed. The original's `delete`.
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func delete(_ key: String) throws(MemCacheError) -> Bool {
    try write(key) { try $0.delete(key) }
  }

  /// Deletes `key` asynchronously.
  /// - Throws: as the blocking ``delete(_:)``.
  @discardableResult
  public func delete(_ key: String) async throws(MemCacheError) -> Bool {
    try await write(key) { try $0.delete(key) }
  }

  /// Adds `delta` to the counter under `key` and returns the new value, or `nil` if absent.
  /// - Throws: ``MemCacheError/storeFailed(_:)`` (also when the item is not a number) or
  ///   ``MemCacheError/unavailable(_:)``.
  @discardableResult
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> UInt64? {
    try write(key) { try $0.increment(key, by: delta, initial: initial, expiration: expiration) }
  }

  /// Adds to a counter asynchronously.
  /// - Throws: as the blocking `increment(_:by:initial:expiration:)`.
  @discardableResult
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> UInt64? {
    try await write(key) {
      try $0.increment(key, by: delta, initial: initial, expiration: expiration)
    }
  }

  /// Subtracts `delta` from the counter under `key`, stopping at 0, and returns the new value.
  /// - Throws: as `increment(_:by:initial:expiration:)`.
  @discardableResult
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> UInt64? {
    try write(key) { try $0.decrement(key, by: delta, initial: initial, expiration: expiration) }
  }

  /// Subtracts from a counter asynchronously.
  /// - Throws: as `increment(_:by:initial:expiration:)`.
  @discardableResult
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> UInt64? {
    try await write(key) {
      try $0.decrement(key, by: delta, initial: initial, expiration: expiration)
    }
  }

  /// Gives `key` a new expiration without reading or rewriting it; returns whether it existed.
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func touch(_ key: String, expiration: MemcachedExpiration) throws(MemCacheError) -> Bool {
    try run { try $0.touch(key, expiration: expiration) }
  }

  /// Gives `key` a new expiration asynchronously.
  /// - Throws: as the blocking ``touch(_:expiration:)``.
  @discardableResult
  public func touch(_ key: String, expiration: MemcachedExpiration) async throws(MemCacheError)
    -> Bool
  {
    try await run { try $0.touch(key, expiration: expiration) }
  }

  /// Appends raw bytes to the item under `key`; returns whether it existed.
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func append(_ key: String, bytes: [UInt8]) throws(MemCacheError) -> Bool {
    try write(key) { try $0.append(key, value: bytes) }
  }

  /// Appends raw bytes asynchronously.
  /// - Throws: as the blocking ``append(_:bytes:)``.
  @discardableResult
  public func append(_ key: String, bytes: [UInt8]) async throws(MemCacheError) -> Bool {
    try await write(key) { try $0.append(key, value: bytes) }
  }

  /// Prepends raw bytes to the item under `key`; returns whether it existed.
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func prepend(_ key: String, bytes: [UInt8]) throws(MemCacheError) -> Bool {
    try write(key) { try $0.prepend(key, value: bytes) }
  }

  /// Prepends raw bytes asynchronously.
  /// - Throws: as the blocking ``prepend(_:bytes:)``.
  @discardableResult
  public func prepend(_ key: String, bytes: [UInt8]) async throws(MemCacheError) -> Bool {
    try await write(key) { try $0.prepend(key, value: bytes) }
  }

  /// Runs a write of `key` and drops the current transaction's copy of it.
  private func write<R>(_ key: String, _ body: (any MemcachedOperations) throws -> R)
    throws(MemCacheError) -> R
  {
    defer { dropCached(key) }
    return try run(body)
  }

  /// Runs a write of `key` asynchronously and drops the current transaction's copy of it.
  private func write<R: Sendable>(
    _ key: String, _ body: @escaping @Sendable (any MemcachedOperations) throws -> R
  ) async throws(MemCacheError) -> R {
    let transaction = Transaction.current
    defer { dropCached(key, in: transaction) }
    return try await run(body)
  }

  // MARK: Servers

  /// Invalidates every item on every server (and the current transaction's read cache).
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/storeFailed(_:)``.
  public func flush() throws(MemCacheError) {
    defer { readCache.cache(for: Transaction.current, create: false)?.dropAll() }
    try run { try $0.flush(after: .never) }
  }

  /// Invalidates every item asynchronously.
  /// - Throws: as the blocking ``flush()``.
  public func flush() async throws(MemCacheError) {
    let transaction = Transaction.current
    defer { readCache.cache(for: transaction, create: false)?.dropAll() }
    try await run { try $0.flush(after: .never) }
  }

  /// Statistics per server; empty for an ``InProcessStore``.
  /// - Throws: ``MemCacheError/unavailable(_:)`` when no connection can be had.
  public func stats() async throws(MemCacheError) -> [MemcachedServerStats] {
    try await run { $0.stats(nil) }
  }

  /// Times a round trip to every server; empty for an ``InProcessStore``.
  /// - Throws: ``MemCacheError/unavailable(_:)`` when no connection can be had.
  public func ping() async throws(MemCacheError) -> [MemcachedPingResult] {
    try await run { $0.ping() }
  }

  /// The server that holds `key` now; `nil` for an ``InProcessStore``.
  /// - Throws: ``MemCacheError/storeFailed(_:)`` for a bad key.
  public func server(for key: String) throws(MemCacheError) -> MemcachedServer? {
    do {
      return try store.server(forKey: key)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }
}

/// A `getMulti`'s keys split into those the transaction's read cache holds and those to fetch.
private struct MultiLookup {
  let cache: TransactionReadCache?
  var cached: [String: MemcachedItem?] = [:]
  var missing: [String] = []

  init(_ keys: [String], _ cache: TransactionReadCache?) {
    self.cache = cache
    for key in keys {
      if let item = cache?.item(key) {
        cached[key] = .some(item)
      } else if !missing.contains(key) {
        missing.append(key)
      }
    }
  }

  /// The decoded hits, with what was fetched kept in the cache (misses too).
  func values<T>(
    _ fetched: [String: MemcachedItem],
    _ decode: (String, MemcachedItem) throws(MemCacheError) -> T
  ) throws(MemCacheError) -> [String: T] {
    var values: [String: T] = [:]
    for key in missing {
      cache?.store(fetched[key], forKey: key)
      if let item = fetched[key] { values[key] = try decode(key, item) }
    }
    for case (let key, let item?) in cached {
      values[key] = try decode(key, item)
    }
    return values
  }
}
