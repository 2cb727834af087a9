import HTTPTypes
import Hummingbird
import MCDUtils

/// Answers `503 Service Unavailable` when memcached could not be reached while the request ran,
/// instead of a 500 or a page for a visitor without a session.
///
/// It turns a thrown ``MCDUtils/MemCacheError`` whose
/// ``MCDUtils/MemCacheError/isUnavailable`` is true into a 503 with a `Retry-After` header, and
/// it also answers 503 when ``MemcachedPersistDriver`` failed to reach memcached during the
/// request even if the error was caught on the way (hummingbird-auth's `SessionMiddleware`
/// swallows a failed session load). Put it before the middleware and routes that use memcached;
/// ``MemcachedSessionMiddleware`` includes it.
///
/// ```swift
/// router.add(middleware: MemcachedUnavailableMiddleware())
/// ```
public struct MemcachedUnavailableMiddleware<Context: RequestContext>: RouterMiddleware {
  /// The `Retry-After` header's number of seconds; `nil` for no header.
  public let retryAfterSeconds: Int?

  /// A middleware that answers 503 when memcached is unreachable.
  ///
  /// - Parameter retryAfterSeconds: what the response's `Retry-After` header says; `nil` for no
  ///   header. Default 1 second: a node that is down is skipped within a second, or answers
  ///   again.
  public init(retryAfterSeconds: Int? = 1) {
    self.retryAfterSeconds = retryAfterSeconds
  }

  /// Runs the rest of the chain and answers 503 when memcached was unreachable meanwhile.
  ///
  /// - Throws: `HTTPError(.serviceUnavailable)` for an outage, or what the chain throws.
  public func handle(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    let outage = MemcachedOutage.current ?? MemcachedOutage()
    let response: Response
    do {
      response = try await MemcachedOutage.$current.withValue(outage) {
        try await next(request, context)
      }
    } catch let error as MemCacheError where error.isUnavailable {
      throw serviceUnavailable(error, context: context)
    } catch {
      if let seen = outage.seen { throw serviceUnavailable(seen, context: context) }
      throw error
    }
    if let seen = outage.seen { throw serviceUnavailable(seen, context: context) }
    return response
  }

  /// Throws the outage `MemcachedOutage.current` recorded, so that a handler does not run on a
  /// session that seemed missing only because memcached could not be reached.
  static func checkNoOutage() throws(MemCacheError) {
    if let seen = MemcachedOutage.current?.seen { throw seen }
  }

  private func serviceUnavailable(_ error: MemCacheError, context: Context) -> HTTPError {
    context.logger.error(
      "memcached unavailable; answering 503", metadata: ["error": "\(error)"])
    var headers = HTTPFields()
    if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
    return HTTPError(
      .serviceUnavailable, headers: headers, message: "The session store is unavailable.")
  }
}
