import Hummingbird
import Logging
import MCDUtils
import Memcached

/// A Hummingbird `PersistDriver` that keeps its values in memcached, through MCDUtils'
/// ``MCDUtils/SessionStore``: what hummingbird-auth's `SessionMiddleware` needs to keep sessions
/// across the instances of a service.
///
/// Every value is a session of the store, so it shares the store's guarantees: it is written to
/// its node and to ``Memcached/MemcachedConfiguration/replicas`` further nodes with a version, a
/// read takes the newest copy it can reach, a removed value leaves a tombstone, and a deadline is
/// kept with the value to the sub-second: a value is readable until its deadline and never after
/// it (memcached, which counts whole seconds, is told a second more).
///
/// ```swift
/// let driver = try MemcachedPersistDriver(
///   configuration: MemcachedConfiguration(servers: [MemcachedServer(host: "10.0.0.5", port: 11211)]))
/// let router = Router(context: AppRequestContext.self)
/// router.add(middleware: MemcachedSessionMiddleware(driver: driver))
/// let app = Application(router: router, services: [driver])  // shuts the driver down
/// ```
///
/// What it answers, where `PersistDriver`'s documentation leaves a choice:
/// - `create(key:value:expires: nil)` and a `set` of a new key without `expires` store a value
///   that lives for the store's ``MCDUtils/SessionStore/defaultTimeToLive`` (`nil`, never
///   expiring, for a driver made with ``init(configuration:defaultTimeToLive:typeMismatch:logger:)``
///   and no lifetime, as Hummingbird's `MemoryPersistDriver`).
/// - `set(key:value:expires: nil)` on a live value keeps its deadline, however often it is
///   written.
/// - A read of a value stored as another type throws `PersistError.invalidConversion`, as
///   Hummingbird's `MemoryPersistDriver` does: hummingbird-auth's `SessionMiddleware` then
///   deletes the session and expires its cookie, so a session whose type changed in a deploy
///   does not linger until its lifetime ends. ``TypeMismatch/returnsNil`` answers `nil` instead.
/// - A key that memcached cannot hold (empty, over 250 bytes with the key prefix, or with a space
///   or a control character) reads as `nil` and is removed without error, since nothing can be
///   stored under it; `create` and `set` throw ``MCDUtils/MemCacheError/invalidBrowserId(reason:)``
///   for it.
/// - When memcached cannot be reached every call throws
///   ``MCDUtils/MemCacheError/unavailable(_:)``: never `nil`, which would log the user out. Add
///   ``MemcachedSessionMiddleware`` or ``MemcachedUnavailableMiddleware`` to answer 503 then.
///
/// ## Concurrent requests on one session
///
/// hummingbird-auth's `SessionMiddleware` reads the session before the handler runs and writes
/// the whole value back after it with `set`: of two requests that change the same session at the
/// same time, the one that writes last wins and the other's change is lost, exactly as with
/// `MemoryPersistDriver`. Every single write is atomic (two writers never mix their values),
/// but a read-modify-write across a request is not. For a counter, a cart or anything that
/// concurrent requests change, use ``update(key:as:expires:_:)`` (or
/// ``MemcachedSessionMiddleware/update(_:expiresIn:_:)``), which re-runs its closure on the
/// newest value until its write wins, so no change is lost.
///
/// A `set` after `remove` stores the value again, as `MemoryPersistDriver` does: a request that
/// loaded a session before another request logged out writes it back when it saves. Handlers
/// that must keep a logout final should change sessions with ``update(key:as:expires:_:)``,
/// which finds no session after a `remove`.
public final class MemcachedPersistDriver: PersistDriver {
  /// What ``get(key:as:)`` answers for a value stored as another type.
  public enum TypeMismatch: Sendable, Hashable {
    /// `PersistError.invalidConversion`, as `MemoryPersistDriver` does: the default.
    /// hummingbird-auth's middleware then deletes the session and expires its cookie.
    case throwsInvalidConversion
    /// `nil`, as `PersistDriver.get`'s documentation allows. hummingbird-auth's middleware then
    /// goes on as for a request without a session, and leaves the stored value until it
    /// expires.
    case returnsNil
  }

  /// Where the values are kept.
  public let sessions: SessionStore
  /// What a read of a value stored as another type answers.
  public let typeMismatch: TypeMismatch
  /// Whether ``shutdown()`` shuts the store's ``Memcached/MemcachedPool`` down.
  public let ownsStore: Bool

  /// A driver over a session store that the application shares with other code.
  ///
  /// - Parameters:
  ///   - sessions: the store; its ``MCDUtils/SessionStore/defaultTimeToLive`` is the lifetime
  ///     of a value stored without `expires`.
  ///   - typeMismatch: what a read of a value stored as another type answers; by default
  ///     `PersistError.invalidConversion`, as `MemoryPersistDriver`.
  ///   - ownsStore: whether ``shutdown()`` shuts the store's pool down. Default `false`: the
  ///     application shuts its pool down itself (it is a `Service` of its own).
  public init(
    sessions: SessionStore, typeMismatch: TypeMismatch = .throwsInvalidConversion,
    ownsStore: Bool = false
  ) {
    self.sessions = sessions
    self.typeMismatch = typeMismatch
    self.ownsStore = ownsStore
  }

  /// A driver with a connection pool of its own to the servers of `configuration`, which
  /// ``shutdown()`` shuts down. With no servers it keeps values in this process (an
  /// ``MCDUtils/InProcessStore``) and logs a warning.
  ///
  /// - Parameters:
  ///   - configuration: the servers, replicas, timeouts and key prefix.
  ///   - defaultTimeToLive: the lifetime of a value stored without `expires`; `nil`, the
  ///     default, for none, as `PersistDriver` asks.
  ///   - typeMismatch: what a read of a value stored as another type answers; by default
  ///     `PersistError.invalidConversion`, as `MemoryPersistDriver`.
  ///   - logger: where the pool and the sessions log.
  /// - Throws: ``MCDUtils/MemCacheError/storeFailed(_:)`` when the configuration is invalid.
  public convenience init(
    configuration: MemcachedConfiguration, defaultTimeToLive: Duration? = nil,
    typeMismatch: TypeMismatch = .throwsInvalidConversion,
    logger: Logger = MemcachedPersistDriver.silentLogger
  ) throws(MemCacheError) {
    let proxy = try MemCacheProxy(configuration: configuration, logger: logger)
    self.init(
      sessions: SessionStore(proxy: proxy, defaultTimeToLive: defaultTimeToLive),
      typeMismatch: typeMismatch, ownsStore: true)
  }

  /// Shuts the store's connection pool down when the driver owns it (``ownsStore``); otherwise
  /// does nothing. `run()`, which a Hummingbird application calls for its services, calls it at
  /// graceful shutdown.
  public func shutdown() async throws {
    guard ownsStore, let pool = sessions.proxy.store as? MemcachedPool else { return }
    await pool.shutdown()
  }

  /// Stores `value` under `key` unless a live value is there.
  ///
  /// - Parameter expires: how long it lives; `nil` for the store's default lifetime.
  /// - Throws: `PersistError.duplicate` when `key` holds a value, ``MCDUtils/MemCacheError``
  ///   otherwise (`unavailable` when memcached cannot be reached).
  public func create<Object: Codable & Sendable>(
    key: String, value: Object, expires: Duration?
  ) async throws {
    let created = try await observingOutage {
      try await sessions.create(key, value, timeToLive: expires)
    }
    if !created { throw PersistError.duplicate }
  }

  /// Stores `value` under `key`, over any value there.
  ///
  /// - Parameter expires: the new lifetime; `nil` keeps the deadline of the value there (or
  ///   gives a new value the store's default lifetime).
  /// - Throws: ``MCDUtils/MemCacheError`` (`unavailable` when memcached cannot be reached).
  public func set<Object: Codable & Sendable>(
    key: String, value: Object, expires: Duration?
  ) async throws {
    try await observingOutage { try await sessions.set(key, value, timeToLive: expires) }
  }

  /// The value under `key` as an `Object`, or `nil` when there is none (never stored, past its
  /// deadline, removed, or a key memcached cannot hold).
  ///
  /// - Throws: `PersistError.invalidConversion` when the value is not an `Object` (`nil` is
  ///   returned instead with ``TypeMismatch/returnsNil``), ``MCDUtils/MemCacheError``
  ///   otherwise (`unavailable` when memcached cannot be reached).
  public func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws
    -> Object?
  {
    try await getWithTTL(key: key, as: type)?.object
  }

  /// The value under `key` and the time it has left (`nil` when it does not expire), or `nil`
  /// as ``get(key:as:)``.
  ///
  /// - Throws: as ``get(key:as:)``.
  public func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type)
    async throws -> (object: Object, ttl: Duration?)?
  {
    do {
      let found = try await observingOutage {
        try await sessions.getWithTimeToLive(key, as: type)
      }
      return found.map { (object: $0.value, ttl: $0.timeToLive) }
    } catch MemCacheError.invalidBrowserId {
      return nil
    } catch MemCacheError.decodingFailed {
      switch typeMismatch {
      case .returnsNil: return nil
      case .throwsInvalidConversion: throw PersistError.invalidConversion
      }
    }
  }

  /// Removes the value under `key` for good: a request that read it before cannot bring it back
  /// through ``update(key:as:expires:_:)``.
  ///
  /// - Throws: ``MCDUtils/MemCacheError`` (`unavailable` when memcached cannot be reached).
  public func remove(key: String) async throws {
    do {
      try await observingOutage { try await sessions.delete(key) }
    } catch MemCacheError.invalidBrowserId {
      return
    }
  }

  /// Changes the value under `key` atomically: runs `body` on the newest value and writes the
  /// result only if nobody wrote the value in between, running `body` again on the newer value
  /// otherwise. Concurrent updates of one key therefore never lose a change.
  ///
  /// ```swift
  /// let counter = try await driver.update(key: "visits", as: Int.self) { $0 += 1 }
  /// ```
  ///
  /// - Parameters:
  ///   - expires: the new lifetime; `nil` keeps the remaining one.
  ///   - body: the change; it may run more than once, so it should have no other effect.
  /// - Returns: the value written, or `nil`, running nothing, when there is no value (or `key`
  ///   is one memcached cannot hold).
  /// - Throws: ``MCDUtils/MemCacheError`` (`unavailable` when memcached cannot be reached,
  ///   `decodingFailed` when the value is not an `Object`, `conflict` when other writers kept
  ///   winning), or what `body` throws.
  @discardableResult
  public func update<Object: Codable & Sendable>(
    key: String, as type: Object.Type = Object.self, expires: Duration? = nil,
    _ body: @escaping @Sendable (inout Object) throws -> Void
  ) async throws -> Object? {
    do {
      return try await observingOutage {
        try await sessions.update(key, as: type, timeToLive: expires, body)
      }
    } catch MemCacheError.invalidBrowserId {
      return nil
    }
  }

  /// Runs a store call and tells the request's ``MemcachedOutage`` tracker (if any) when the
  /// store could not be reached, since hummingbird-auth's middleware swallows a failed load.
  private func observingOutage<R>(_ body: () async throws -> R) async throws -> R {
    do {
      return try await body()
    } catch let error as MemCacheError where error.isUnavailable {
      MemcachedOutage.record(error)
      throw error
    }
  }

  /// A logger that drops everything: the default, since a library never makes a global one.
  @usableFromInline static let silentLogger = Logger(label: "mcdutils.hummingbird") { _ in
    SwiftLogNoOpLogHandler()
  }
}
