import MCDUtils
import Vapor

/// What a ``MemcachedSessionDriver`` loaded for a request in `readSession`, kept in the
/// request's storage until `updateSession`, `createSession` or `deleteSession` of the same
/// request: the middleware hands the driver the same `Request` in each call.
struct LoadedSession: Sendable {
  /// The session id the cookie named.
  var id: String
  /// The request's transaction: the session was read in it, and its commit writes the changes
  /// (or the refresh of a read-only session that is due for one).
  var transaction: Transaction
  /// The session as loaded.
  var mapping: MemCacheMapping
  /// The strings Vapor was handed: the changes to write are the difference to these.
  var handed: [String: String]
}

/// The sessions a request loaded, one per driver (a route group may use another driver), by
/// the identity of the driver's container.
private struct LoadedSessionsKey: StorageKey {
  typealias Value = [ObjectIdentifier: LoadedSession]
}

extension Request {
  /// Keeps what the driver of `container` loaded for this request.
  func keepLoadedSession(_ session: LoadedSession, for container: MemCacheSessionDataContainer) {
    var sessions = storage[LoadedSessionsKey.self] ?? [:]
    sessions[ObjectIdentifier(container)] = session
    storage[LoadedSessionsKey.self] = sessions
  }

  /// Takes back what the driver of `container` loaded for this request, if anything.
  func takeLoadedSession(for container: MemCacheSessionDataContainer) -> LoadedSession? {
    guard var sessions = storage[LoadedSessionsKey.self],
      let session = sessions.removeValue(forKey: ObjectIdentifier(container))
    else { return nil }
    storage[LoadedSessionsKey.self] = sessions
    return session
  }
}
