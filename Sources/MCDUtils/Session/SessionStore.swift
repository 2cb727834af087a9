import Foundation
import Memcached
import Synchronization

/// Sessions that are one `Codable` value each, for web frameworks that keep a session as one
/// value. See <doc:SessionsAndTransactions>.
public final class SessionStore: Sendable {
  /// Where the sessions are stored.
  public let proxy: MemCacheProxy
  /// The lifetime of a session created (or set anew) without one; `nil` for none.
  public let defaultTimeToLive: Duration?
  /// How long after a write a read renews the session's lifetime; `nil` for never.
  public let slidingRefresh: Duration?
  /// How many writes one change tries before it throws ``MemCacheError/conflict(attempts:)``.
  public let maximumWriteAttempts: Int
  /// Stores sessions under keyed hashes of their ids (see ``BrowserIdHasher``), or `nil`.
  public let idHasher: BrowserIdHasher?
  let metrics = SessionMetrics(store: "typed")

  /// A store over `proxy`, with the settings its properties describe.
  public init(
    proxy: MemCacheProxy, defaultTimeToLive: Duration? = .seconds(20 * 60),
    slidingRefresh: Duration? = nil,
    maximumWriteAttempts: Int = MemCacheSessionDataContainer.defaultMaximumWriteAttempts,
    idHasher: BrowserIdHasher? = nil
  ) {
    self.idHasher = idHasher
    self.proxy = proxy
    self.defaultTimeToLive = defaultTimeToLive
    self.slidingRefresh = slidingRefresh
    self.maximumWriteAttempts = max(1, maximumWriteAttempts)
  }

  /// Stores a new session; returns `false`, writing nothing, when one exists already.
  ///
  /// - Throws: ``MemCacheError``: `invalidBrowserId`, `unavailable`, `valueTooLarge`,
  ///   `encodingFailed`, `conflict`.
  public func create<Value: Encodable & Sendable>(
    _ id: String, _ value: Value, timeToLive: Duration? = nil
  ) async throws(MemCacheError) -> Bool {
    let lifetime = timeToLive ?? defaultTimeToLive
    return try await change(id) { current, previous, now throws(MemCacheError) in
      guard current == nil else { return (nil, false) }
      return (try Self.record(value, after: previous, now: now, lifetime: lifetime), true)
    }
  }

  /// The session `id` decoded as `type`, or `nil` when there is none.
  ///
  /// - Throws: ``MemCacheError``: `unavailable`, `decodingFailed` when the session is not a
  ///   `Value`, `undecodable` or `notASession`.
  public func get<Value: Decodable & Sendable>(_ id: String, as type: Value.Type = Value.self)
    async throws(MemCacheError) -> Value?
  {
    try await getWithTimeToLive(id, as: type)?.value
  }

  /// The session `id` and how long it has left to live (`nil` when it does not expire).
  ///
  /// - Throws: as `get(_:as:)`.
  public func getWithTimeToLive<Value: Decodable & Sendable>(
    _ id: String, as type: Value.Type = Value.self
  ) async throws(MemCacheError) -> (value: Value, timeToLive: Duration?)? {
    let slidingRefresh = self.slidingRefresh
    let record = try await read(id)
    guard let record else { return nil }
    let now = Date()
    let value: Value
    do {
      value = try SessionValueDecoder().decode(type, from: record.data)
    } catch {
      throw .decodingFailed(error)
    }
    if let slidingRefresh, let lifetime = record.lifetime,
      Duration(saturatingSeconds: now.timeIntervalSince(record.accessed)) >= slidingRefresh
    {
      do {
        _ = try await change(id) { current, _, now throws(MemCacheError) in
          guard var next = current, next.epoch == record.epoch else { return (nil, ()) }
          next.accessed = now
          next.expires = now.addingTimeInterval(lifetime)
          return (next, ())
        }
      } catch {
        proxy.logger.warning(
          "could not refresh a session's lifetime", metadata: ["error": "\(error)"])
      }
      return (value, Duration(saturatingSeconds: lifetime))
    }
    return (value, record.expires.map { Duration(saturatingSeconds: $0.timeIntervalSince(now)) })
  }

  /// Stores `value` as the session `id`, over whatever is there.
  ///
  /// - Throws: as ``create(_:_:timeToLive:)``.
  public func set<Value: Encodable & Sendable>(
    _ id: String, _ value: Value, timeToLive: Duration? = nil
  ) async throws(MemCacheError) {
    let defaultTimeToLive = self.defaultTimeToLive
    try await change(id) { current, previous, now throws(MemCacheError) in
      var next = try Self.record(
        value, after: current ?? previous, now: now, lifetime: timeToLive ?? defaultTimeToLive)
      if let current {
        next.epoch = current.epoch
        next.version = current.nextVersion
        next.created = current.created
        if timeToLive == nil {
          next.expires = current.expires
          next.lifetime = current.lifetime
        }
      }
      return (next, ())
    }
  }

  /// Changes the session `id` atomically, running `body` again when another writer came first.
  ///
  /// - Returns: the value written, or `nil` (running nothing) when there is no session.
  /// - Throws: ``MemCacheError/conflict(attempts:)`` when other writers kept winning, what
  ///   `body` throws, and what `get(_:as:)` throws.
  @discardableResult
  public func update<Value: Codable & Sendable>(
    _ id: String, as type: Value.Type = Value.self, timeToLive: Duration? = nil,
    _ body: @escaping @Sendable (inout Value) throws -> Void
  ) async throws -> Value? {
    let outcome = Mutex<(any Error)?>(nil)
    let written: Value?
    do {
      written = try await change(id) {
        current, _, now throws(MemCacheError) -> (SessionRecord?, Value?) in
        guard var next = current else { return (nil, nil) }
        var value: Value
        do {
          value = try SessionValueDecoder().decode(type, from: next.data)
        } catch {
          throw .decodingFailed(error)
        }
        do {
          try body(&value)
        } catch {
          outcome.withLock { $0 = error }
          throw .unexpected(error)
        }
        next.data = try Self.encode(value)
        next.version = next.nextVersion
        next.accessed = now
        if let timeToLive {
          next.expires = now.addingTimeInterval(timeToLive.seconds)
          next.lifetime = timeToLive.seconds
        }
        return (next, value)
      }
    } catch {
      if let thrown = outcome.withLock({ $0 }) { throw thrown }
      throw error
    }
    return written
  }

  /// Deletes the session `id` for good, leaving a tombstone.
  ///
  /// - Throws: ``MemCacheError/unavailable(_:)`` or ``MemCacheError/conflict(attempts:)``.
  public func delete(_ id: String) async throws(MemCacheError) {
    try await change(id) { current, previous, _ throws(MemCacheError) in
      guard let existing = current ?? previous, !existing.isEnded else { return (nil, ()) }
      return (existing.tombstone, ())
    }
  }

  // MARK: Steps

  /// The live session `id` (not ended, not past its deadline), or `nil`.
  private func read(_ id: String) async throws(MemCacheError) -> SessionRecord? {
    let (key, proxy) = (try storageKey(id, idHasher, self.proxy), self.proxy)
    let window = defaultTimeToLive ?? .seconds(24 * 3600)
    return try await proxy.run { connection in
      let copies = try SessionCopies.read(key, on: connection, proxy: proxy, window: window)
      return Self.live(try copies.newestRecord(), at: Date())
    }
  }

  /// Writes what `transform` makes of the live and the newest record (`nil`: nothing), again
  /// when another writer came first.
  private func change<R: Sendable>(
    _ id: String,
    _ transform:
      @escaping @Sendable (SessionRecord?, SessionRecord?, Date) throws(MemCacheError)
      -> (SessionRecord?, R)
  ) async throws(MemCacheError) -> R {
    let key = try storageKey(id, idHasher, proxy)
    let attempts = maximumWriteAttempts
    let window = defaultTimeToLive ?? .seconds(24 * 3600)
    let (proxy, metrics) = (self.proxy, self.metrics)
    do {
      // Writers of one session in this process take turns (waiting without blocking a thread),
      // so that only writers elsewhere can make a write conflict.
      return try await proxy.commitTurns.withTurn(key) {
        try await proxy.run { connection in
          for attempt in 1...attempts {
            if attempt > 1 {
              metrics.retries.increment()
              ConflictBackoff.pause(after: attempt - 1)
            }
            let copies = try SessionCopies.read(
              key, on: connection, proxy: proxy, window: window, everyCopy: attempt > 1)
            let now = Date()
            let newest = try copies.newestRecord()
            let (next, result) = try transform(Self.live(newest, at: now), newest, now)
            guard let next else { return result }
            let (bytes, flags) = try proxy.encode(next, key: key)
            let written = try copies.write(
              bytes, flags: flags, expiration: Self.expiration(of: next, now: now),
              on: connection, logger: proxy.logger)
            if written == .stored { return result }
          }
          throw MemCacheError.conflict(attempts: attempts)
        }
      }
    } catch {
      throw metrics.counted(MemCacheError.wrapping(error))
    }
  }

  /// `record` unless it is a tombstone or past its deadline (memcached may keep it a second
  /// longer).
  private static func live(_ record: SessionRecord?, at now: Date) -> SessionRecord? {
    guard let record, !record.isEnded, !record.hasExpired(at: now) else { return nil }
    return record
  }

  /// A first version of a session holding `value`, in the epoch after `previous`.
  private static func record<Value: Encodable>(
    _ value: Value, after previous: SessionRecord?, now: Date, lifetime: Duration?
  ) throws(MemCacheError) -> SessionRecord {
    SessionRecord(
      epoch: previous.map { $0.epoch + 1 } ?? 0, version: 1, created: now, accessed: now,
      data: try encode(value), expires: lifetime.map { now.addingTimeInterval($0.seconds) },
      lifetime: lifetime?.seconds)
  }

  private static func encode<Value: Encodable>(_ value: Value) throws(MemCacheError)
    -> SessionValue
  {
    do {
      return try SessionValueEncoder().encode(value)
    } catch {
      throw MemCacheError.encoding(error)
    }
  }

  /// What memcached is told: at least the time left until the record's deadline, which a read
  /// enforces to the fraction of a second (`live(_:at:)`).
  private static func expiration(of record: SessionRecord, now: Date) -> MemcachedExpiration {
    guard let expires = record.expires else {
      return record.isEnded ? .after(.seconds(3600)) : .never
    }
    return .outlasting(Duration(saturatingSeconds: expires.timeIntervalSince(now)))
  }
}
