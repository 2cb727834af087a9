/// How the async operations of a ``MemcachedPool`` run libmemcached's blocking calls.
///
/// libmemcached blocks the thread that calls it until the server answers. A call run on its
/// connection's own dispatch queue never blocks a thread of Swift's cooperative pool, but costs
/// two thread wake-ups (the queue's worker, then the task's thread again): on a busy CPU that is
/// about as long as the round trip to a memcached on the same network. A call run on the task's
/// own thread costs nothing extra, but holds that thread until memcached answers.
///
/// ``adaptive`` (the default) takes the cheap path only while it is safe, ``offload`` never:
///
/// ```swift
/// var configuration = MemcachedConfiguration(servers: servers)
/// configuration.asyncExecution = .offload
/// ```
public struct MemcachedAsyncExecution: Sendable, Hashable, CustomStringConvertible {
  /// Whether calls may run on the calling task's thread at all.
  public let allowsInline: Bool
  /// A call (inline or offloaded) that takes longer than this stops inline calls for
  /// ``backoff``. Meaningless when ``allowsInline`` is `false`.
  public let slowCallThreshold: Duration
  /// How long inline calls stay off after a slow or failed call.
  public let backoff: Duration

  /// Every call runs on its connection's dispatch queue: no cooperative thread ever waits for
  /// memcached, at the price of two thread wake-ups per call.
  public static let offload = MemcachedAsyncExecution(
    allowsInline: false, slowCallThreshold: .zero, backoff: .zero)

  /// ``adaptive(slowCallThreshold:backoff:)`` with a 5 ms threshold and a 5 s backoff.
  public static let adaptive = adaptive(
    slowCallThreshold: .milliseconds(5), backoff: .seconds(5))

  /// A call runs on the calling task's own thread when all of these hold, and on its
  /// connection's dispatch queue otherwise:
  ///
  /// - no other call of this process runs inline at that moment, so MCDUtils never blocks more
  ///   than one thread of the cooperative pool;
  /// - an idle connection is ready, so an inline call never waits for one;
  /// - the pool's previous call was prompt and fine, and no call of this pool took longer than
  ///   `slowCallThreshold` or failed because a server timed out, refused, dropped the connection
  ///   or was out of service in the last `backoff`.
  ///
  /// A new pool offloads its first call, so a server that never answered never holds a
  /// cooperative thread. One that hangs while it is in use holds at most one, for at most the
  /// configured timeouts, before its pool offloads every call; inline calls come back with the
  /// first prompt call after the backoff.
  public static func adaptive(slowCallThreshold: Duration, backoff: Duration) -> Self {
    MemcachedAsyncExecution(
      allowsInline: true, slowCallThreshold: slowCallThreshold, backoff: backoff)
  }

  private init(allowsInline: Bool, slowCallThreshold: Duration, backoff: Duration) {
    self.allowsInline = allowsInline
    self.slowCallThreshold = slowCallThreshold
    self.backoff = backoff
  }

  /// `offload`, or `adaptive(slowCallThreshold: …, backoff: …)`.
  public var description: String {
    allowsInline
      ? "adaptive(slowCallThreshold: \(slowCallThreshold), backoff: \(backoff))" : "offload"
  }
}

/// How often a ``MemcachedPool``'s async calls ran inline and how often they were offloaded.
public struct MemcachedAsyncStatistics: Sendable, Hashable {
  /// Calls run on the calling task's own thread.
  public var inline: Int
  /// Calls run on a connection's dispatch queue.
  public var offloaded: Int
  /// How many times a slow or failed call turned inline calls off.
  public var backoffs: Int

  /// Statistics with the given counts.
  public init(inline: Int = 0, offloaded: Int = 0, backoffs: Int = 0) {
    self.inline = inline
    self.offloaded = offloaded
    self.backoffs = backoffs
  }
}
