import Foundation
import Memcached

/// Where sessions live: the original's `MemCacheSessionDataContainer`, a drop-in for Zope's
/// `Transience` session data container.
///
/// Each session is one memcached item (and one more per replica) whose key is the browser id,
/// written with ``timeout`` as its time to live; a session only read is refreshed at most once
/// per ``resolution``. See <doc:SessionsAndTransactions> and <doc:WhenMemcachedFails>.
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
    var idHasher: BrowserIdHasher?
    var metrics = SessionMetrics(store: "container")
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
  ///   - idHasher: stores each session under a keyed hash of its browser id instead of the id
  ///     (see ``BrowserIdHasher``); `nil` stores it under the id, as the original does.
  public init(
    proxy: MemCacheProxy?, timeout: Duration = defaultTimeout,
    resolution: Duration = defaultResolution, conflictPolicy: ConflictPolicy = .merge,
    maximumWriteAttempts: Int = defaultMaximumWriteAttempts, idHasher: BrowserIdHasher? = nil
  ) {
    self.proxy = proxy
    self.settings = Settings(
      timeout: timeout, resolution: resolution, conflictPolicy: conflictPolicy,
      maximumWriteAttempts: max(1, maximumWriteAttempts), idHasher: idHasher)
  }

  /// The proxy and the memcached key of `browserId`'s session.
  private func prepare(_ browserId: String) throws(MemCacheError) -> (MemCacheProxy, String) {
    guard let proxy else { throw .noProxy }
    return (proxy, try storageKey(browserId, settings.idHasher, proxy))
  }

  // MARK: Lookups

  /// Whether a session exists for `browserId`: the original's `has_key`.
  ///
  /// - Throws: as `get(_:)`.
  public func hasKey(_ browserId: String) throws(MemCacheError) -> Bool {
    try get(browserId) != nil
  }

  /// Whether a session exists, asynchronously.
  ///
  /// - Throws: as `get(_:)`.
  public func hasKey(_ browserId: String) async throws(MemCacheError) -> Bool {
    try await get(browserId) != nil
  }

  /// The session of `browserId`, or `nil` when there is none (never stored, expired, or
  /// invalidated): the original's `get`. Within one transaction the same browser id gives the
  /// same ``MemCacheMapping``.
  ///
  /// - Throws: ``MemCacheError/noProxy``, ``MemCacheError/invalidBrowserId(reason:)``,
  ///   ``MemCacheError/unavailable(_:)`` when no copy of the session can be reached (an outage
  ///   is not a logout), and ``MemCacheError/undecodable(_:)`` or
  ///   ``MemCacheError/notASession(reason:)`` for bytes under the key that are not a session.
  public func get(_ browserId: String) throws(MemCacheError) -> MemCacheMapping? {
    try lookup(browserId).mapping
  }

  /// The session of `browserId`, or `nil`, asynchronously.
  ///
  /// - Throws: as the blocking `get(_:)`.
  public func get(_ browserId: String) async throws(MemCacheError) -> MemCacheMapping? {
    try await lookup(browserId).mapping
  }

  /// The session of `browserId`, created empty when there is none: the original's
  /// `new_or_existing`.
  ///
  /// A new session joins the current transaction and is stored when it commits (two requests
  /// that create it at once end up with one session, resolved by the ``conflictPolicy``).
  /// Without a transaction it is stored at once.
  ///
  /// - Throws: as `get(_:)`, and for a session stored at once, what `MemCacheMapping.save()`
  ///   throws.
  public func newOrExisting(_ browserId: String) throws(MemCacheError) -> MemCacheMapping {
    let found = try lookup(browserId)
    if let mapping = found.mapping { return mapping }
    let (session, transaction) = try created(browserId, over: found.copies)
    if transaction == nil { try session.save() }
    return session
  }

  /// The session of `browserId`, created empty when there is none, asynchronously.
  ///
  /// - Throws: as the blocking `newOrExisting(_:)`.
  public func newOrExisting(_ browserId: String) async throws(MemCacheError) -> MemCacheMapping {
    let found = try await lookup(browserId)
    if let mapping = found.mapping { return mapping }
    let (session, transaction) = try created(browserId, over: found.copies)
    if transaction == nil { try await session.save() }
    return session
  }

  // MARK: Steps

  /// What a lookup found: the session, or the copies that show there is none.
  struct Found {
    var mapping: MemCacheMapping?
    var copies: SessionCopies?
  }

  /// Looks the session up in the transaction's read cache, then in the store.
  private func lookup(_ browserId: String) throws(MemCacheError) -> Found {
    let (proxy, key, cache) = try start(browserId)
    if let cached = cache?.session(key) { return cached }
    let window = settings.timeout
    let copies = try proxy.run {
      try SessionCopies.read(key, on: $0, proxy: proxy, window: window)
    }
    let (found, refresh) = try finish(browserId, key, copies, proxy, cache)
    if let refresh { try refresh.save() }
    return found
  }

  private func lookup(_ browserId: String) async throws(MemCacheError) -> Found {
    let (proxy, key, cache) = try start(browserId)
    if let cached = cache?.session(key) { return cached }
    let window = settings.timeout
    let copies = try await proxy.run {
      try SessionCopies.read(key, on: $0, proxy: proxy, window: window)
    }
    let (found, refresh) = try finish(browserId, key, copies, proxy, cache)
    if let refresh { try await refresh.save() }
    return found
  }

  private func start(_ browserId: String) throws(MemCacheError) -> (
    MemCacheProxy, String, TransactionReadCache?
  ) {
    let (proxy, key) = try prepare(browserId)
    return (proxy, key, proxy.readCache.cache(for: Transaction.current, create: true))
  }

  /// The session the copies hold (kept in the read cache), and, outside a transaction, the
  /// session to refresh at once when a read-only access is due to refresh it.
  private func finish(
    _ browserId: String, _ key: String, _ copies: SessionCopies, _ proxy: MemCacheProxy,
    _ cache: TransactionReadCache?
  ) throws(MemCacheError) -> (Found, MemCacheMapping?) {
    let now = Date()
    guard let record = try copies.newestRecord(), !record.isEnded,
      !isOutlived(record, now: now)
    else {
      let found = Found(mapping: nil, copies: copies)
      cache?.store(session: found, forKey: key)
      return (found, nil)
    }
    guard record.data.mapValue != nil else {
      throw .notASession(reason: "its \"data\" is not a map")
    }
    let session = MemCacheMapping(
      key: browserId, storageKey: key, proxy: proxy, settings: settings, record: record,
      copies: copies, isNew: false)
    cache?.store(session: Found(mapping: session, copies: nil), forKey: key)
    guard session.isRefreshDue(record.accessed, now: now) else {
      return (Found(mapping: session), nil)
    }
    guard let transaction = Transaction.current else { return (Found(mapping: session), session) }
    // A read-only request is due to refresh the session: its commit does it.
    session.state.withLock { $0.joined = transaction }
    session.joinOrForget(transaction)
    return (Found(mapping: session), nil)
  }

  /// Whether `record` was last written longer ago than the timeout allows, by more than
  /// ``clockSkewAllowance``: memcached would have dropped it, so it is an old copy written back
  /// (a replay), and is taken as absent.
  private func isOutlived(_ record: SessionRecord, now: Date) -> Bool {
    let age = Duration(saturatingSeconds: now.timeIntervalSince(record.accessed))
    return age > settings.timeout + Self.clockSkewAllowance
  }

  /// How far the clocks of the hosts that share the sessions may disagree before a session
  /// one of them wrote looks outlived to another: 5 minutes.
  static let clockSkewAllowance = Duration.seconds(300)

  /// A new empty session for `browserId`, over what the copies hold (nothing, or a session
  /// that ended, whose epoch the new one follows), joined to the current transaction.
  private func created(_ browserId: String, over copies: SessionCopies?) throws(MemCacheError)
    -> (MemCacheMapping, Transaction?)
  {
    let (proxy, key) = try prepare(browserId)
    let now = Date()
    let previous = try? copies?.newestRecord()
    let record = SessionRecord(
      epoch: previous.map { $0.epoch + 1 } ?? 0, version: 0, created: now, accessed: now,
      data: .map([:]))
    let session = MemCacheMapping(
      key: browserId, storageKey: key, proxy: proxy, settings: settings, record: record,
      copies: copies ?? .empty(key, nodes: nil), isNew: true)
    guard let transaction = Transaction.current else { return (session, nil) }
    proxy.readCache.cache(for: transaction, create: true)?.store(
      session: Found(mapping: session, copies: nil), forKey: key)
    session.state.withLock { $0.joined = transaction }
    session.joinOrForget(transaction)
    return (session, transaction)
  }
}

/// The memcached key of a session: its id, checked against memcached's rules, or the id's
/// keyed hash.
///
/// - Throws: ``MemCacheError/invalidBrowserId(reason:)``.
func storageKey(_ id: String, _ hasher: BrowserIdHasher?, _ proxy: MemCacheProxy)
  throws(MemCacheError) -> String
{
  do {
    try MemcachedKey.validate(id, prefixLength: proxy.store.keyPrefixLength)
  } catch {
    throw .invalidBrowserId(reason: (error as? MemcachedError)?.message ?? "\(error)")
  }
  return hasher?.storageKey(for: id) ?? id
}
