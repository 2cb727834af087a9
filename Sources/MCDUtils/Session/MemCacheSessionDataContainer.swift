import Foundation
import Memcached

/// Where sessions live: the original's `MemCacheSessionDataContainer`, a drop-in for Zope's
/// `Transience` session data container.
///
/// Each session is one memcached item whose key is the browser id (after the configuration's
/// key prefix, empty by default), so that other tools and languages can find it. Every write
/// sets ``timeout`` as the item's time to live, and a session that is only read is refreshed at
/// most once per ``resolution`` window, so it expires only when nobody uses it.
///
/// ```swift
/// let container = MemCacheSessionDataContainer(proxy: proxy, timeout: .seconds(1800))
/// try await withTransaction { _ in
///   let session = try await container.newOrExisting(browserId)
///   session["visits"] = .int((session["visits"]?.intValue ?? 0) + 1)
/// }
/// ```
public final class MemCacheSessionDataContainer: Sendable {
  /// What the container hands to every session it loads.
  struct Settings: Sendable {
    var timeout: Duration
    var resolution: Duration
    var conflictPolicy: ConflictPolicy
    var maximumWriteAttempts: Int
  }

  /// Zope's default session timeout: 20 minutes.
  public static let defaultTimeout: Duration = .seconds(20 * 60)
  /// The default resolution window: 1 minute.
  public static let defaultResolution: Duration = .seconds(60)
  /// The default bound on write attempts of one session commit under ``ConflictPolicy/merge``.
  public static let defaultMaximumWriteAttempts = 10

  /// The proxy sessions are read and written through; `nil` makes every method throw
  /// ``MemCacheError/noProxy`` ("No proxy defined"), as the original does without one.
  public let proxy: MemCacheProxy?
  let settings: Settings

  /// How long an unused session lives: the time to live of every session write.
  public var timeout: Duration { settings.timeout }
  /// How often a read-only access refreshes a session's expiration and last-accessed time, at
  /// most: once per window, measured from the stored last-accessed time.
  public var resolution: Duration { settings.resolution }
  /// What a session write does when another request wrote the session meanwhile.
  public var conflictPolicy: ConflictPolicy { settings.conflictPolicy }
  /// How many writes one session commit tries under ``ConflictPolicy/merge`` before it throws
  /// ``MemCacheError/conflict(attempts:)``.
  public var maximumWriteAttempts: Int { settings.maximumWriteAttempts }

  /// A container over `proxy`.
  ///
  /// - Parameters:
  ///   - proxy: the proxy; `nil` gives a container whose methods throw
  ///     ``MemCacheError/noProxy``.
  ///   - timeout: the time to live of every session write (whole seconds, rounded up).
  ///   - resolution: how often, at most, a read-only access refreshes a session.
  ///   - conflictPolicy: what a write does when another request wrote the session meanwhile.
  ///   - maximumWriteAttempts: the bound on writes per commit under ``ConflictPolicy/merge``.
  public init(
    proxy: MemCacheProxy?, timeout: Duration = defaultTimeout,
    resolution: Duration = defaultResolution, conflictPolicy: ConflictPolicy = .merge,
    maximumWriteAttempts: Int = defaultMaximumWriteAttempts
  ) {
    self.proxy = proxy
    self.settings = Settings(
      timeout: timeout, resolution: resolution, conflictPolicy: conflictPolicy,
      maximumWriteAttempts: max(1, maximumWriteAttempts))
  }

  /// The proxy and a checked memcached key for `browserId`.
  private func prepare(_ browserId: String) throws(MemCacheError) -> MemCacheProxy {
    guard let proxy else { throw .noProxy }
    do {
      try MemcachedKey.validate(browserId, prefixLength: proxy.keyPrefixLength)
    } catch {
      throw .invalidBrowserId(reason: (error as? MemcachedError)?.message ?? "\(error)")
    }
    return proxy
  }

  // MARK: Lookups

  /// Whether a session exists for `browserId`: the original's `has_key`.
  ///
  /// - Throws: ``MemCacheError/noProxy``, ``MemCacheError/invalidBrowserId(reason:)``,
  ///   ``MemCacheError/storeFailed(_:)``.
  public func hasKey(_ browserId: String) throws(MemCacheError) -> Bool {
    let proxy = try prepare(browserId)
    if proxy.readCache.cache(for: Transaction.current, create: false)?.session(browserId) != nil {
      return true
    }
    return try proxy.item(forKey: browserId) != nil
  }

  /// Whether a session exists, asynchronously.
  ///
  /// - Throws: as the blocking ``hasKey(_:)``.
  public func hasKey(_ browserId: String) async throws(MemCacheError) -> Bool {
    let proxy = try prepare(browserId)
    if proxy.readCache.cache(for: Transaction.current, create: false)?.session(browserId) != nil {
      return true
    }
    return try await proxy.item(forKey: browserId) != nil
  }

  /// The session of `browserId`, or `nil` when there is none: the original's `get`.
  ///
  /// Within one transaction the same browser id gives the same ``MemCacheMapping``.
  ///
  /// - Throws: ``MemCacheError/noProxy``, ``MemCacheError/invalidBrowserId(reason:)``,
  ///   ``MemCacheError/storeFailed(_:)``, and ``MemCacheError/undecodable(_:)`` or
  ///   ``MemCacheError/notASession(reason:)`` for bytes under the key that are not a session.
  public func get(_ browserId: String) throws(MemCacheError) -> MemCacheMapping? {
    let lookup = try self.lookup(browserId)
    if let session = lookup.session { return session }
    let item: MemcachedItem?
    if let cachedItem = lookup.cachedItem {
      item = cachedItem
    } else {
      item = try lookup.proxy.run { try $0.get(browserId) }
    }
    guard let (session, refresh) = try finish(lookup, item, browserId) else { return nil }
    if let refresh {
      do { try refresh(lookup.proxy.store) } catch { throw MemCacheError.wrapping(error) }
    }
    return session
  }

  /// The session of `browserId`, or `nil`, asynchronously.
  ///
  /// - Throws: as the blocking ``get(_:)``.
  public func get(_ browserId: String) async throws(MemCacheError) -> MemCacheMapping? {
    let lookup = try self.lookup(browserId)
    if let session = lookup.session { return session }
    let item: MemcachedItem?
    if let cachedItem = lookup.cachedItem {
      item = cachedItem
    } else {
      item = try await lookup.proxy.run { try $0.get(browserId) }
    }
    guard let (session, refresh) = try finish(lookup, item, browserId) else { return nil }
    if let refresh { try await lookup.proxy.run(refresh) }
    return session
  }

  /// The session of `browserId`, created empty when there is none: the original's
  /// `new_or_existing`.
  ///
  /// A new session joins the current transaction and is stored with `add` when it commits, so
  /// two requests that create it at the same time end up with one session (the later one is
  /// merged into it under the ``conflictPolicy``). Without a transaction it is stored at once.
  ///
  /// - Throws: as ``get(_:)``, and for a session stored at once, what ``MemCacheMapping/save()``
  ///   throws.
  public func newOrExisting(_ browserId: String) throws(MemCacheError) -> MemCacheMapping {
    if let session = try get(browserId) { return session }
    let (session, transaction) = try created(browserId)
    if transaction == nil { try session.save() }
    return session
  }

  /// The session of `browserId`, created empty when there is none, asynchronously.
  ///
  /// - Throws: as the blocking ``newOrExisting(_:)``.
  public func newOrExisting(_ browserId: String) async throws(MemCacheError) -> MemCacheMapping {
    if let session = try await get(browserId) { return session }
    let (session, transaction) = try created(browserId)
    if transaction == nil { try await session.save() }
    return session
  }

  // MARK: Helpers

  /// What `get` knows before any I/O: the proxy, the transaction and its read cache, and what
  /// the cache already holds for the browser id.
  private struct Lookup {
    let proxy: MemCacheProxy
    let transaction: Transaction?
    let cache: TransactionReadCache?
    let session: MemCacheMapping?
    /// The item the cache holds: `.some(nil)` is a cached miss, `nil` means not cached.
    let cachedItem: MemcachedItem??
  }

  private func lookup(_ browserId: String) throws(MemCacheError) -> Lookup {
    let proxy = try prepare(browserId)
    let transaction = Transaction.current
    let cache = proxy.readCache.cache(for: transaction, create: true)
    let cached = cache?.entry(browserId)
    return Lookup(
      proxy: proxy, transaction: transaction, cache: cache, session: cached?.session,
      cachedItem: cached?.item)
  }

  /// The session loaded from `item`, and the refresh to run at once when there is no
  /// transaction to run it at commit; `nil` for a miss.
  private func finish(_ lookup: Lookup, _ item: MemcachedItem?, _ browserId: String)
    throws(MemCacheError) -> (MemCacheMapping, (@Sendable (any MemCacheStore) throws -> Void)?)?
  {
    guard
      let session = try loaded(
        item, fetched: lookup.cachedItem == nil, browserId, lookup.proxy, lookup.cache,
        lookup.transaction)
    else { return nil }
    return (session, session.refreshWithoutTransaction(lookup.transaction))
  }

  /// The session built from `item` (`nil` for a miss), kept in `cache` with the item when it
  /// was `fetched` from the store rather than found in the cache.
  private func loaded(
    _ item: MemcachedItem?, fetched: Bool, _ browserId: String, _ proxy: MemCacheProxy,
    _ cache: TransactionReadCache?, _ transaction: Transaction?
  ) throws(MemCacheError) -> MemCacheMapping? {
    guard let item else {
      if fetched { cache?.store(nil, forKey: browserId) }
      return nil
    }
    let record: SessionRecord
    do {
      record = try SessionRecord(item: item)
    } catch {
      if fetched { cache?.store(item, forKey: browserId) }
      throw error
    }
    let session = MemCacheMapping(
      key: browserId, proxy: proxy, settings: settings, record: record, cas: item.cas)
    cache?.store(session: session, item: fetched ? item : nil, forKey: browserId)
    if let transaction,
      session.isRefreshDue(record.accessed, now: Date())
    {
      // A read-only request is due to refresh the session: its commit does it.
      session.state.withLock { $0.joined = transaction }
      session.joinOrForget(transaction)
    }
    return session
  }

  private func created(_ browserId: String) throws(MemCacheError) -> (
    MemCacheMapping, Transaction?
  ) {
    let proxy = try prepare(browserId)
    let now = Date()
    let session = MemCacheMapping(
      key: browserId, proxy: proxy, settings: settings,
      record: SessionRecord(created: now, accessed: now, data: [:]), cas: nil)
    guard let transaction = Transaction.current else { return (session, nil) }
    proxy.readCache.cache(for: transaction, create: true)?.store(
      session: session, forKey: browserId)
    session.state.withLock { $0.joined = transaction }
    session.joinOrForget(transaction)
    return (session, transaction)
  }
}

extension MemCacheMapping {
  /// Outside a transaction a read-only load that is due for a refresh does it at once; this is
  /// that write, or `nil` when none is due or a transaction will do it.
  func refreshWithoutTransaction(_ transaction: Transaction?)
    -> (@Sendable (any MemCacheStore) throws -> Void)?
  {
    guard transaction == nil, isRefreshDue(lastAccessed, now: Date()) else { return nil }
    return { [self] store in try writeBack(using: store, in: nil) }
  }
}
