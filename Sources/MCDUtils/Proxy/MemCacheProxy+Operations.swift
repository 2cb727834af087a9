import Memcached

// The expanded client API. Each operation has a blocking and an async form; both share the
// encoding, the read cache and the error wrapping defined here.
extension MemCacheProxy {
  /// Encodes `value` for storage and checks its size.
  func encode(_ value: some Encodable) throws(MemCacheError) -> (bytes: [UInt8], flags: UInt32) {
    let encoded: (bytes: [UInt8], flags: UInt32)
    do {
      encoded = try ValueFormat.encode(value)
    } catch {
      throw MemCacheError.wrapping(error)
    }
    guard encoded.bytes.count <= maximumValueSize else {
      throw .sessionTooLarge(size: encoded.bytes.count, maximum: maximumValueSize)
    }
    return encoded
  }

  /// Decodes a stored item as `type`.
  func decode<T: Decodable>(_ item: MemcachedItem, as type: T.Type) throws(MemCacheError) -> T {
    do {
      return try ValueFormat.decode(type, from: item.value, flags: item.flags)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// Drops the current transaction's copy of `key`, which is being written.
  func dropCached(_ key: String, in transaction: Transaction? = Transaction.current) {
    readCache.cache(for: transaction, create: false)?.drop(key)
  }

  // MARK: Reads

  /// The raw item under `key` (bytes, flags, CAS value), or `nil` on a miss; served from the
  /// current transaction's read cache when this transaction read it before.
  ///
  /// Use it for items that are not in ``ValueFormat``, such as counters.
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func item(forKey key: String) throws(MemCacheError) -> MemcachedItem? {
    try item(forKey: key, cache: readCache.cache(for: Transaction.current, create: true))
  }

  /// The raw item under `key`, served from and kept in `cache` (the current transaction's read
  /// cache, already looked up by the caller).
  func item(forKey key: String, cache: TransactionReadCache?) throws(MemCacheError)
    -> MemcachedItem?
  {
    if let cached = cache?.item(key) { return cached }
    let item = try run { try $0.get(key) }
    cache?.store(item, forKey: key)
    return item
  }

  /// The raw item under `key`, asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func item(forKey key: String) async throws(MemCacheError) -> MemcachedItem? {
    try await item(forKey: key, cache: readCache.cache(for: Transaction.current, create: true))
  }

  /// The raw item under `key`, served from and kept in `cache`, asynchronously.
  func item(forKey key: String, cache: TransactionReadCache?) async throws(MemCacheError)
    -> MemcachedItem?
  {
    if let cached = cache?.item(key) { return cached }
    let item = try await run { try $0.get(key) }
    cache?.store(item, forKey: key)
    return item
  }

  /// The value under `key`, or `nil` on a miss: the original's `get`.
  ///
  /// - Throws: ``MemCacheError/undecodable(_:)`` for bytes that are not ours,
  ///   ``MemCacheError/decodingFailed(_:)`` when the value is not a `T`,
  ///   ``MemCacheError/storeFailed(_:)``.
  public func get<T: Decodable>(_ key: String, as type: T.Type = T.self) throws(MemCacheError)
    -> T?
  {
    guard let item = try item(forKey: key) else { return nil }
    return try decode(item, as: type)
  }

  /// The value under `key`, or `nil` on a miss, asynchronously.
  ///
  /// - Throws: as the blocking ``get(_:as:)``.
  public func get<T: Decodable>(_ key: String, as type: T.Type = T.self)
    async throws(MemCacheError) -> T?
  {
    guard let item = try await item(forKey: key) else { return nil }
    return try decode(item, as: type)
  }

  /// The value under `key` with its CAS value, for a later ``cas(_:_:cas:expiration:)``; `nil`
  /// on a miss. memcached's `gets`.
  ///
  /// - Throws: as ``get(_:as:)``.
  public func getWithCAS<T: Decodable>(_ key: String, as type: T.Type = T.self)
    throws(MemCacheError) -> (value: T, cas: UInt64)?
  {
    guard let item = try item(forKey: key) else { return nil }
    return (try decode(item, as: type), item.cas)
  }

  /// The value under `key` with its CAS value, asynchronously.
  ///
  /// - Throws: as ``get(_:as:)``.
  public func getWithCAS<T: Decodable>(_ key: String, as type: T.Type = T.self)
    async throws(MemCacheError) -> (value: T, cas: UInt64)?
  {
    guard let item = try await item(forKey: key) else { return nil }
    return (try decode(item, as: type), item.cas)
  }

  /// The values of the keys that exist, with one request per server: the original's
  /// `get_multi`. Keys the current transaction read before come from its read cache.
  ///
  /// - Throws: as ``get(_:as:)``.
  public func getMulti<T: Decodable>(_ keys: [String], as type: T.Type = T.self)
    throws(MemCacheError) -> [String: T]
  {
    let (cache, cached, missing) = cachedItems(keys)
    let fetched = missing.isEmpty ? [:] : try run { try $0.getMulti(missing) }
    return try decodeMulti(cache, cached, missing, fetched, as: type)
  }

  /// The values of the keys that exist, asynchronously.
  ///
  /// - Throws: as ``get(_:as:)``.
  public func getMulti<T: Decodable>(_ keys: [String], as type: T.Type = T.self)
    async throws(MemCacheError) -> [String: T]
  {
    let (cache, cached, missing) = cachedItems(keys)
    let fetched = missing.isEmpty ? [:] : try await run { try $0.getMulti(missing) }
    return try decodeMulti(cache, cached, missing, fetched, as: type)
  }

  private func cachedItems(_ keys: [String]) -> (
    TransactionReadCache?, [String: MemcachedItem?], [String]
  ) {
    let cache = readCache.cache(for: Transaction.current, create: true)
    var cached: [String: MemcachedItem?] = [:]
    var missing: [String] = []
    for key in keys {
      if let item = cache?.item(key) {
        cached[key] = .some(item)
      } else if !missing.contains(key) {
        missing.append(key)
      }
    }
    return (cache, cached, missing)
  }

  private func decodeMulti<T: Decodable>(
    _ cache: TransactionReadCache?, _ cached: [String: MemcachedItem?], _ missing: [String],
    _ fetched: [String: MemcachedItem], as type: T.Type
  ) throws(MemCacheError) -> [String: T] {
    var values: [String: T] = [:]
    for key in missing {
      cache?.store(fetched[key], forKey: key)
      if let item = fetched[key] { values[key] = try decode(item, as: type) }
    }
    for case (let key, let item?) in cached {
      values[key] = try decode(item, as: type)
    }
    return values
  }

  // MARK: Writes

  /// Stores `value` under `key`: the original's `set`.
  ///
  /// - Throws: ``MemCacheError/sessionTooLarge(size:maximum:)``,
  ///   ``MemCacheError/encodingFailed(_:)``, ``MemCacheError/storeFailed(_:)``.
  public func set(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    throws(MemCacheError)
  {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    try run { try $0.set(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` under `key` asynchronously.
  ///
  /// - Throws: as the blocking ``set(_:_:expiration:)``.
  public func set(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    async throws(MemCacheError)
  {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    try await run { try $0.set(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` only if `key` is absent; returns whether it did. The original's `add`.
  ///
  /// - Throws: as ``set(_:_:expiration:)``.
  @discardableResult
  public func add(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    throws(MemCacheError) -> Bool
  {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    return try run { try $0.add(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` only if `key` is absent, asynchronously.
  ///
  /// - Throws: as ``set(_:_:expiration:)``.
  @discardableResult
  public func add(_ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never)
    async throws(MemCacheError) -> Bool
  {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    return try await run { try $0.add(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` only if `key` exists; returns whether it did. The original's `replace`.
  ///
  /// - Throws: as ``set(_:_:expiration:)``.
  @discardableResult
  public func replace(
    _ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> Bool {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    return try run { try $0.replace(key, value: bytes, flags: flags, expiration: expiration) }
  }

  /// Stores `value` only if `key` exists, asynchronously.
  ///
  /// - Throws: as ``set(_:_:expiration:)``.
  @discardableResult
  public func replace(
    _ key: String, _ value: some Encodable, expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> Bool {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    return try await run {
      try $0.replace(key, value: bytes, flags: flags, expiration: expiration)
    }
  }

  /// Stores `value` only if nobody wrote `key` since `cas` was read (``getWithCAS(_:as:)``).
  ///
  /// - Returns: ``Memcached/MemcachedCASResult/stored``, or `conflict`/`notFound` when nothing
  ///   was written.
  /// - Throws: as ``set(_:_:expiration:)``.
  public func cas(
    _ key: String, _ value: some Encodable, cas: UInt64, expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> MemcachedCASResult {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    return try run {
      try $0.cas(key, value: bytes, cas: cas, flags: flags, expiration: expiration)
    }
  }

  /// Compare-and-swap asynchronously.
  ///
  /// - Throws: as ``set(_:_:expiration:)``.
  public func cas(
    _ key: String, _ value: some Encodable, cas: UInt64, expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> MemcachedCASResult {
    let (bytes, flags) = try encode(value)
    defer { dropCached(key) }
    return try await run {
      try $0.cas(key, value: bytes, cas: cas, flags: flags, expiration: expiration)
    }
  }

  /// Deletes `key`; returns whether it existed. The original's `delete`.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func delete(_ key: String) throws(MemCacheError) -> Bool {
    defer { dropCached(key) }
    return try run { try $0.delete(key) }
  }

  /// Deletes `key` asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func delete(_ key: String) async throws(MemCacheError) -> Bool {
    defer { dropCached(key) }
    return try await run { try $0.delete(key) }
  }

  /// Adds `delta` to the counter under `key` (decimal text, not ``ValueFormat``) and returns
  /// the new value; `nil` when the key is absent and no `initial` value is given.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``, also when the item is not a number.
  @discardableResult
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> UInt64? {
    defer { dropCached(key) }
    return try run {
      try $0.counter(key, delta: delta, up: true, initial: initial, expiration: expiration)
    }
  }

  /// Adds to a counter asynchronously.
  ///
  /// - Throws: as the blocking ``increment(_:by:initial:expiration:)``.
  @discardableResult
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> UInt64? {
    defer { dropCached(key) }
    return try await run {
      try $0.counter(key, delta: delta, up: true, initial: initial, expiration: expiration)
    }
  }

  /// Subtracts `delta` from the counter under `key`, stopping at 0, and returns the new value.
  ///
  /// - Throws: as ``increment(_:by:initial:expiration:)``.
  @discardableResult
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws(MemCacheError) -> UInt64? {
    defer { dropCached(key) }
    return try run {
      try $0.counter(key, delta: delta, up: false, initial: initial, expiration: expiration)
    }
  }

  /// Subtracts from a counter asynchronously.
  ///
  /// - Throws: as ``increment(_:by:initial:expiration:)``.
  @discardableResult
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) async throws(MemCacheError) -> UInt64? {
    defer { dropCached(key) }
    return try await run {
      try $0.counter(key, delta: delta, up: false, initial: initial, expiration: expiration)
    }
  }

  /// Gives `key` a new expiration without reading or rewriting it; returns whether it existed.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func touch(_ key: String, expiration: MemcachedExpiration) throws(MemCacheError) -> Bool {
    try run { try $0.touch(key, expiration: expiration) }
  }

  /// Gives `key` a new expiration asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func touch(_ key: String, expiration: MemcachedExpiration) async throws(MemCacheError)
    -> Bool
  {
    try await run { try $0.touch(key, expiration: expiration) }
  }

  /// Appends raw bytes to the item under `key`; returns whether it existed. The result is
  /// no longer a ``ValueFormat`` value unless the item holds raw bytes of your own.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func append(_ key: String, bytes: [UInt8]) throws(MemCacheError) -> Bool {
    defer { dropCached(key) }
    return try run { try $0.append(key, value: bytes) }
  }

  /// Appends raw bytes asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func append(_ key: String, bytes: [UInt8]) async throws(MemCacheError) -> Bool {
    defer { dropCached(key) }
    return try await run { try $0.append(key, value: bytes) }
  }

  /// Prepends raw bytes to the item under `key`; returns whether it existed.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func prepend(_ key: String, bytes: [UInt8]) throws(MemCacheError) -> Bool {
    defer { dropCached(key) }
    return try run { try $0.prepend(key, value: bytes) }
  }

  /// Prepends raw bytes asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  @discardableResult
  public func prepend(_ key: String, bytes: [UInt8]) async throws(MemCacheError) -> Bool {
    defer { dropCached(key) }
    return try await run { try $0.prepend(key, value: bytes) }
  }

  // MARK: Servers

  /// Invalidates every item on every server (and the current transaction's read cache).
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func flush() throws(MemCacheError) {
    defer { readCache.cache(for: Transaction.current, create: false)?.dropAll() }
    try run { try $0.flush() }
  }

  /// Invalidates every item asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func flush() async throws(MemCacheError) {
    defer { readCache.cache(for: Transaction.current, create: false)?.dropAll() }
    try await run { try $0.flush() }
  }

  /// Statistics per server; empty for an ``InProcessStore``.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func stats() throws(MemCacheError) -> [MemcachedServerStats] {
    try run { try $0.stats() }
  }

  /// Statistics per server, asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func stats() async throws(MemCacheError) -> [MemcachedServerStats] {
    try await run { try $0.stats() }
  }

  /// The server that holds `key` under the consistent hash; `nil` for an ``InProcessStore``.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func server(for key: String) throws(MemCacheError) -> MemcachedServer? {
    try run { try $0.server(forKey: key) }
  }

  /// The server that holds `key`, asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func server(for key: String) async throws(MemCacheError) -> MemcachedServer? {
    try await run { try $0.server(forKey: key) }
  }

  /// Times a round trip to every server; empty for an ``InProcessStore``.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func ping() throws(MemCacheError) -> [MemcachedPingResult] {
    try run { try $0.ping() }
  }

  /// Times a round trip to every server asynchronously.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)``.
  public func ping() async throws(MemCacheError) -> [MemcachedPingResult] {
    try await run { try $0.ping() }
  }
}
