import Hummingbird
import HummingbirdAuth

/// hummingbird-auth's `SessionMiddleware` over a ``MemcachedPersistDriver``, which answers 503
/// when memcached cannot be reached, and offers atomic changes of the request's session.
///
/// It loads and saves sessions exactly as `SessionMiddleware` with the same configuration does
/// (same cookie, same keys, same lifetimes), with two differences:
/// - when the session could not be loaded because memcached was unreachable, the handler does
///   not run, and the answer is 503 (`SessionMiddleware` alone would run the handler as for a
///   visitor without a session: a login page or a 401);
/// - any other ``MCDUtils/MemCacheError/unavailable(_:)`` during the request is a 503 too, as
///   with ``MemcachedUnavailableMiddleware``.
///
/// ```swift
/// let sessions = MemcachedSessionMiddleware<AppRequestContext>(driver: driver)
/// router.add(middleware: sessions)
/// router.post("/increment") { request, _ in
///   guard let session = try await sessions.update(request, { $0.count += 1 }) else {
///     throw HTTPError(.unauthorized)
///   }
///   return "\(session.count)"
/// }
/// ```
///
/// The session in `context.sessions` is a copy read before the handler; when the handler
/// changes it, the whole value is written back after the handler, and of two concurrent
/// requests the last to write wins (see ``MemcachedPersistDriver``). ``update(_:expiresIn:_:)``
/// changes the stored session atomically instead.
public struct MemcachedSessionMiddleware<Context: SessionRequestContext>: RouterMiddleware {
  /// Where the sessions are kept.
  public let driver: MemcachedPersistDriver
  /// The cookie, key prefix and default lifetime of the sessions.
  public let configuration: SessionMiddlewareConfiguration
  private let storage: SessionStorage<Context.Session>
  private let sessions: SessionMiddleware<Context>
  private let unavailable: MemcachedUnavailableMiddleware<Context>

  /// A session middleware over `driver`.
  ///
  /// - Parameters:
  ///   - driver: where the sessions are kept.
  ///   - configuration: the cookie, key prefix and default lifetime, as for hummingbird-auth's
  ///     `SessionMiddleware`.
  ///   - retryAfterSeconds: what a 503's `Retry-After` header says; `nil` for no header.
  public init(
    driver: MemcachedPersistDriver, configuration: SessionMiddlewareConfiguration = .init(),
    retryAfterSeconds: Int? = 1
  ) {
    self.driver = driver
    self.configuration = configuration
    self.storage = SessionStorage(
      driver,
      configuration: SessionStorageConfiguration(
        sessionCookieParameters: configuration.sessionCookieParameters,
        keyPrefix: configuration.keyPrefix))
    self.sessions = SessionMiddleware(
      sessionStorage: storage, defaultSessionExpiration: configuration.defaultSessionExpiration)
    self.unavailable = MemcachedUnavailableMiddleware(retryAfterSeconds: retryAfterSeconds)
  }

  /// Loads the request's session, runs the rest of the chain, and saves the session if the
  /// handler changed it; answers 503 when memcached was unreachable.
  ///
  /// - Throws: `HTTPError(.serviceUnavailable)` for an outage, or what the chain throws.
  public func handle(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    try await unavailable.handle(request, context: context) { request, context in
      try await sessions.handle(request, context: context) { request, context in
        try MemcachedUnavailableMiddleware<Context>.checkNoOutage()
        return try await next(request, context)
      }
    }
  }

  /// The driver key of the request's session (the key prefix and the cookie's session id), or
  /// `nil` when the request has no session cookie.
  public func storageKey(for request: Request) -> String? {
    storage.getId(request: request).map { configuration.keyPrefix + $0 }
  }

  /// Changes the request's stored session atomically (see
  /// ``MemcachedPersistDriver/update(key:as:expires:_:)``): concurrent requests on one session
  /// never lose each other's changes.
  ///
  /// Do not also change `context.sessions` in the same request: the middleware would write that
  /// copy over this change after the handler.
  ///
  /// - Parameters:
  ///   - expiresIn: the session's new lifetime; `nil` keeps the remaining one.
  ///   - body: the change; it may run more than once.
  /// - Returns: the session written, or `nil` when the request has no session.
  /// - Throws: ``MCDUtils/MemCacheError`` or what `body` throws.
  @discardableResult
  public func update(
    _ request: Request, expiresIn: Duration? = nil,
    _ body: @escaping @Sendable (inout Context.Session) throws -> Void
  ) async throws -> Context.Session? {
    guard let key = storageKey(for: request) else { return nil }
    return try await driver.update(key: key, as: Context.Session.self, expires: expiresIn, body)
  }
}
