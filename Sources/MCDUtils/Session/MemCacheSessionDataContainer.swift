import Foundation
import Memcached

/// Where sessions live: the original's `MemCacheSessionDataContainer`, a drop-in for Zope's
/// `Transience` container. See <doc:SessionsAndTransactions>.
public final class MemCacheSessionDataContainer: Sendable {
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
  /// The default bound on the writes of one session commit: 30. Writers in other processes
  /// are not in this process's turns, and one that loses its processor between reading and
  /// writing loses its compare-and-swap to each of them: with 10, one merge in about a thousand
  /// gave up among six busy processes on two cores.
  public static let defaultMaximumWriteAttempts = 30

  /// The proxy sessions are read and written through; `nil` makes every method throw
  /// ``MemCacheError/noProxy``.
  public let proxy: MemCacheProxy?
  let settings: Settings

  /// How long an unused session lives: the time to live of every session write.
  public var timeout: Duration { settings.timeout }
  /// How often, at most, a read-only access refreshes a session's expiration and access time.
  public var resolution: Duration { settings.resolution }
  /// What a session write does when another request wrote the session meanwhile.
  public var conflictPolicy: ConflictPolicy { settings.conflictPolicy }
  /// How many writes one session commit tries under ``ConflictPolicy/merge`` before it throws
  /// ``MemCacheError/conflict(attempts:)``.
  public var maximumWriteAttempts: Int { settings.maximumWriteAttempts }

  /// A container over `proxy`, with the settings its properties describe.
  ///
  /// - Parameters:
  ///   - proxy: `nil` gives a container whose methods throw ``MemCacheError/noProxy``.
  ///   - timeout: the time to live of every session write (rounded up to whole seconds, plus
  ///     one, so that memcached never drops a session before it).
  ///   - resolution: how often, at most, a read-only access refreshes a session.
  ///   - conflictPolicy: what a write does when another request wrote the session meanwhile.
  ///   - maximumWriteAttempts: the bound on writes per commit under ``ConflictPolicy/merge``.
  ///   - idHasher: stores each session under a keyed hash of its browser id (see
  ///     ``BrowserIdHasher``); `nil` stores it under the id, as the original does.
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

  /// The session of `browserId`, or `nil` when there is none: the original's `get`.
  ///
  /// - Throws: ``MemCacheError/noProxy``, ``MemCacheError/invalidBrowserId(reason:)``,
  ///   ``MemCacheError/unavailable(_:)`` (an outage is not a logout), and
  ///   ``MemCacheError/undecodable(_:)`` or ``MemCacheError/notASession(reason:)``.
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
  /// - Throws: as `get(_:)`, and without a transaction what `MemCacheMapping.save()` throws.
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

  /// The session the copies hold, and outside a transaction the session to refresh now if due.
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

  /// Whether `record` is older than memcached would keep it: a replayed old copy, taken as absent.
  private func isOutlived(_ record: SessionRecord, now: Date) -> Bool {
    let age = Duration(saturatingSeconds: now.timeIntervalSince(record.accessed))
    return age > settings.timeout + Self.clockSkewAllowance
  }

  /// How far the clocks of the hosts that share the sessions may disagree.
  static let clockSkewAllowance = Duration.seconds(300)

  /// A new empty session for `browserId`, in the epoch after any ended one, joined to the
  /// current transaction.
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

/// The memcached key of a session: its checked id, or the id's keyed hash.
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
