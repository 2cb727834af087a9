import MCDUtils
import Synchronization

/// Remembers, for one request, that memcached could not be reached.
///
/// hummingbird-auth's `SessionMiddleware` catches every error of the session load and goes on as
/// if the request had no session. ``MemcachedPersistDriver`` therefore also reports an outage
/// here, in a tracker that the middlewares of this package put in a task-local for the request,
/// so that they can answer 503 instead of serving a logged-out page.
final class MemcachedOutage: Sendable {
  /// The tracker of the request the current task serves, if a middleware of this package set one.
  @TaskLocal static var current: MemcachedOutage?

  private let error = Mutex<MemCacheError?>(nil)

  /// The first outage seen during the request, if any.
  var seen: MemCacheError? { error.withLock { $0 } }

  /// Tells the current request's tracker, if there is one, that memcached could not be reached.
  static func record(_ outage: MemCacheError) {
    current?.error.withLock { if $0 == nil { $0 = outage } }
  }
}
