import MCDUtils
import Vapor

/// A failure of memcached, as Vapor's `ErrorMiddleware` answers it: 503 Service Unavailable
/// when the store could not be reached (an outage is not a logout, so a request never gets a
/// fresh empty session instead) or when concurrent writes of one session could not be merged in
/// time, 500 Internal Server Error otherwise.
///
/// The session driver and the cache throw it; the underlying ``MCDUtils/MemCacheError`` is kept
/// whole in ``error``. The ``reason`` shown to clients names no server, key or session id.
///
/// ```swift
/// app.get("account") { req async throws -> String in
///   // A memcached outage while the session is read answers 503 before this runs.
///   req.session.data["user"] ?? "anonymous"
/// }
/// ```
public struct MemcachedFailure: AbortError, CustomStringConvertible {
  /// What MCDUtils threw.
  public let error: MemCacheError

  /// Wraps what MCDUtils (or a transaction) threw; a ``MemcachedFailure`` passes unchanged.
  public init(_ error: any Error) {
    switch error {
    case let failure as MemcachedFailure: self = failure
    case let error as MemCacheError: self.error = error
    default: self.error = .unexpected(error)
    }
  }

  /// Whether memcached could not be reached: the case answered with 503.
  public var isUnavailable: Bool { error.isUnavailable }

  /// 503 for an unreachable store and for a session conflict that a retry of the request may
  /// resolve; 500 for anything else.
  public var status: HTTPResponseStatus {
    switch error {
    case .unavailable, .conflict: .serviceUnavailable
    default: .internalServerError
    }
  }

  /// A short explanation for the client, without server addresses, keys or session ids.
  public var reason: String {
    switch error {
    case .unavailable: "The session and cache store is temporarily unavailable."
    case .conflict: "The session was changed by other requests at the same time; try again."
    default: "The session and cache store failed."
    }
  }

  /// The whole error, for logs (MCDUtils' descriptions never quote keys or session ids).
  public var description: String { "MemcachedFailure(\(status.code)): \(error)" }
}
