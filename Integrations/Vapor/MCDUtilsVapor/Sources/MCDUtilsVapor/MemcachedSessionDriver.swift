import MCDUtils
import Vapor

/// Vapor sessions in memcached: an `AsyncSessionDriver` over a
/// ``MCDUtils/MemCacheSessionDataContainer``, which concurrent requests of one session share
/// without losing each other's changes.
///
/// Register it with `app.sessions.use(.memcached())` (see
/// ``Vapor/Application/Sessions/Provider/memcached(proxy:timeToLive:resolution:conflictPolicy:maximumWriteAttempts:)``).
/// Each Vapor session is one container session, a ``MCDUtils/MemCacheMapping`` stored under the
/// session id (the cookie value), whose entries are the strings of Vapor's `SessionData`, so
/// `mcdutils session show ID` and the other MCDUtils integrations read them.
///
/// `SessionsMiddleware` calls the driver with the same `Request` before and after the route
/// handler, and the driver maps the calls onto the container like this:
///
/// - `readSession`: loads the session in a transaction of the request's own and keeps it, with
///   the strings handed to Vapor, in the request's storage. A session that does not exist, has
///   expired or was invalidated is `nil` (Vapor then starts a new one), and so is a cookie that
///   cannot be a session id or names bytes that are not a session.
/// - `updateSession` (after every request that had a session): writes only the keys the
///   request set or removed into the loaded session and commits: a compare-and-swap write that,
///   when a concurrent request wrote the session meanwhile, reads it again and applies the
///   same keys to what is stored (key-level merge, ``MCDUtils/MemCacheSessionDataContainer/ConflictPolicy/merge``).
///   A request that changed nothing writes nothing, except that a read-only access refreshes the
///   session's lifetime once per ``MCDUtils/MemCacheSessionDataContainer/resolution``
///   (sliding expiration). A session invalidated by a concurrent request stays invalidated:
///   this request's changes are dropped (and logged), not written back.
/// - `createSession`: a new random id (256 bits, base64url) and a new session holding the data.
///   When the request had loaded another session, because the handler set `session.id = nil`
///   to give the session a new id (at login, against session fixation), that session is
///   invalidated, so its old id no longer works.
/// - `deleteSession` (after `session.destroy()`): invalidates the session. A tombstone replaces
///   every copy, so no request that loaded it earlier can ever write it back.
///
/// Every write lives for the container's ``MCDUtils/MemCacheSessionDataContainer/timeout``.
/// When memcached cannot be reached, each call throws ``MemcachedFailure``, which Vapor's
/// `ErrorMiddleware` answers with 503: never a fresh empty session in place of the stored one.
public struct MemcachedSessionDriver: AsyncSessionDriver {
  /// Where the sessions are stored, and their lifetime, refresh and conflict policy.
  public let container: MemCacheSessionDataContainer

  /// A driver over `container`.
  public init(container: MemCacheSessionDataContainer) {
    self.container = container
  }

  /// Stores a new session holding `data` under a new random id, and invalidates the session the
  /// request loaded, if any (the handler gave the session a new id).
  ///
  /// - Throws: ``MemcachedFailure`` (503 when memcached cannot be reached).
  public func createSession(_ data: SessionData, for request: Request) async throws -> SessionID {
    let id = SessionID.random()
    let entries = SessionEntries.changes(from: [:], to: data.snapshot)
    let container = container
    do {
      try await withTransaction { _ in
        let session = try await container.newOrExisting(id.string)
        SessionEntries.apply(entries, to: session)
      }
      if let previous = request.takeLoadedSession(for: container) {
        try? await previous.transaction.abort()
        try await previous.mapping.invalidate()
      }
    } catch {
      throw MemcachedFailure(error)
    }
    return id
  }

  /// The data of the session `sessionID`, or `nil` when there is none; the session is kept for
  /// the request's `updateSession` or `deleteSession`.
  ///
  /// - Throws: ``MemcachedFailure`` (503 when memcached cannot be reached).
  public func readSession(_ sessionID: SessionID, for request: Request) async throws -> SessionData?
  {
    let transaction = Transaction()
    guard let mapping = try await load(sessionID, in: transaction, for: request) else {
      return nil
    }
    let handed = SessionEntries.strings(mapping.contents)
    request.keepLoadedSession(
      LoadedSession(
        id: sessionID.string, transaction: transaction, mapping: mapping, handed: handed),
      for: container)
    return SessionData(initialData: handed)
  }

  /// Writes the keys the request set or removed into its session, merging them with what
  /// concurrent requests wrote, and refreshes the session's lifetime when it is due.
  ///
  /// Without a session loaded by this request under `sessionID` (the handler chose an id
  /// itself), the stored session is the baseline; when there is none, a new session with a new
  /// id holds `data`: an id is never brought back to life, since it may have been logged out.
  ///
  /// - Throws: ``MemcachedFailure`` (503 when memcached cannot be reached).
  public func updateSession(
    _ sessionID: SessionID, to data: SessionData, for request: Request
  ) async throws -> SessionID {
    let loaded: LoadedSession
    if let kept = request.takeLoadedSession(for: container), kept.id == sessionID.string {
      loaded = kept
    } else {
      let transaction = Transaction()
      guard let mapping = try await load(sessionID, in: transaction, for: request) else {
        return try await createSession(data, for: request)
      }
      loaded = LoadedSession(
        id: sessionID.string, transaction: transaction, mapping: mapping,
        handed: SessionEntries.strings(mapping.contents))
    }
    let changes = SessionEntries.changes(from: loaded.handed, to: data.snapshot)
    Transaction.$current.withValue(loaded.transaction) {
      SessionEntries.apply(changes, to: loaded.mapping)
    }
    do {
      try await loaded.transaction.commit()
    } catch MemCacheError.sessionEnded {
      request.logger.debug(
        "the session was invalidated by another request; this request's changes were dropped")
    } catch {
      throw MemcachedFailure(error)
    }
    return sessionID
  }

  /// Invalidates the session `sessionID`: it stays ended, whatever a concurrent request that
  /// loaded it earlier commits.
  ///
  /// - Throws: ``MemcachedFailure`` (503 when memcached cannot be reached).
  public func deleteSession(_ sessionID: SessionID, for request: Request) async throws {
    let mapping: MemCacheMapping?
    if let kept = request.takeLoadedSession(for: container), kept.id == sessionID.string {
      try? await kept.transaction.abort()
      mapping = kept.mapping
    } else {
      mapping = try await load(sessionID, in: Transaction(), for: request)
    }
    do {
      try await mapping?.invalidate()
    } catch {
      throw MemcachedFailure(error)
    }
  }

  /// Reads the session `sessionID` in `transaction`; `nil` when there is none, or when the id
  /// cannot be a memcached key or names bytes that are not a session (a forged or stale cookie
  /// gets a new session, not an error page).
  ///
  /// - Throws: ``MemcachedFailure`` for every other failure, such as an unreachable store.
  private func load(_ sessionID: SessionID, in transaction: Transaction, for request: Request)
    async throws -> MemCacheMapping?
  {
    let container = container
    do {
      return try await Transaction.$current.withValue(transaction) {
        try await container.get(sessionID.string)
      }
    } catch let error as MemCacheError {
      switch error {
      case .invalidBrowserId, .notASession, .undecodable:
        request.logger.debug(
          "the session cookie names no session; a new one starts", metadata: ["why": "\(error)"])
        return nil
      default:
        throw MemcachedFailure(error)
      }
    } catch {
      throw MemcachedFailure(error)
    }
  }
}
