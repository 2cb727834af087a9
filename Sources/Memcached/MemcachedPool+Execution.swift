import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Where a pool's async calls run libmemcached's blocking calls: the one decision, in this file.

/// Where the async calls of a ``MemcachedPool`` run libmemcached's blocking calls: see
/// <doc:AsyncCalls>.
public struct MemcachedAsyncExecution: Sendable, Hashable, CustomStringConvertible {
  /// Whether calls may run on the calling task's thread at all.
  public let allowsInline: Bool
  /// A call that takes longer than this stops inline calls for ``backoff``.
  public let slowCallThreshold: Duration
  /// How long inline calls stay off after a slow or failed call.
  public let backoff: Duration

  /// Every call runs on its connection's dispatch queue.
  public static let offload = MemcachedAsyncExecution(
    allowsInline: false, slowCallThreshold: .zero, backoff: .zero)

  /// ``adaptive(slowCallThreshold:backoff:)`` with a 5 ms threshold and a 5 s backoff.
  public static let adaptive = adaptive(slowCallThreshold: .milliseconds(5), backoff: .seconds(5))

  /// Calls run on the calling task's thread while that is safe, else on their connection's queue.
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

extension MemcachedPool {
  /// How often this pool's async calls ran inline or were offloaded.
  public var asyncStatistics: MemcachedAsyncStatistics { execution.statistics }

  /// Borrows a connection and runs `body` with it, inline or offloaded: every async path's base.
  func execute<R: Sendable>(
    _ body: @escaping @Sendable (MemcachedClient) throws -> R
  ) async throws -> R {
    let state = self.state
    if let result = try execution.runInline(
      state, make: makeConnection,
      { connection in
        try HeldConnection.lending(connection, of: state) { try body(connection.client) }
      })
    {
      return result
    }
    let connection = try await state.checkout(
      timeout: configuration.poolCheckoutTimeout, make: makeConnection)
    let execution = self.execution
    return try await withCheckedThrowingContinuation { continuation in
      connection.queue.async {
        let result = execution.runOffloaded {
          try HeldConnection.lending(connection, of: state) { try body(connection.client) }
        }
        state.release(connection)
        continuation.resume(with: result)
      }
    }
  }
}

/// Whether a pool's async call may run inline now, judged from its last calls' health.
final class AsyncExecution: Sendable {
  /// Set while any pool of the process runs a call inline: at most one such thread blocks.
  private static let busy = Atomic<Bool>(false)

  private let policy: MemcachedAsyncExecution
  private let slowNanoseconds: UInt64
  private let backoffNanoseconds: UInt64
  /// Whether the last call was prompt and fine, with no trouble in the backoff before it; a new
  /// pool starts without, so its first call proves the servers answer.
  private let healthy = Atomic<Bool>(false)
  /// Until when (uptime nanoseconds) trouble keeps the pool unhealthy.
  private let offUntil = Atomic<UInt64>(0)
  private let inlineCount = Atomic<Int>(0)
  private let offloadedCount = Atomic<Int>(0)
  private let backoffCount = Atomic<Int>(0)

  init(policy: MemcachedAsyncExecution) {
    self.policy = policy
    slowNanoseconds = policy.slowCallThreshold.saturatingNanoseconds
    backoffNanoseconds = min(policy.backoff.saturatingNanoseconds, UInt64.max / 2)
  }

  var statistics: MemcachedAsyncStatistics {
    MemcachedAsyncStatistics(
      inline: inlineCount.load(ordering: .relaxed),
      offloaded: offloadedCount.load(ordering: .relaxed),
      backoffs: backoffCount.load(ordering: .relaxed))
  }

  /// Runs `body` on the calling thread if allowed now; `nil` without running it otherwise.
  func runInline<R>(
    _ state: PoolState, make: () throws -> PooledConnection,
    _ body: (PooledConnection) throws -> R
  ) throws -> R? {
    guard policy.allowsInline, healthy.load(ordering: .relaxed) else { return nil }
    guard Self.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else { return nil }
    defer { Self.busy.store(false, ordering: .releasing) }
    guard let connection = state.checkoutIfReady(make: make) else { return nil }
    defer { state.release(connection) }
    inlineCount.add(1, ordering: .relaxed)
    return try timed { try body(connection) }
  }

  /// Runs an offloaded call's `body`, counting it and noting its health.
  func runOffloaded<R>(_ body: () throws -> R) -> Result<R, any Error> {
    offloadedCount.add(1, ordering: .relaxed)
    return Result { try timed(body) }
  }

  /// Runs `body`; a slow or unavailable call turns inline calls off for the backoff.
  private func timed<R>(_ body: () throws -> R) throws -> R {
    guard policy.allowsInline else { return try body() }
    let start = DispatchTime.now().uptimeNanoseconds
    do {
      let result = try body()
      note(since: start, failed: false)
      return result
    } catch {
      note(since: start, failed: (error as? MemcachedError)?.isUnavailable == true)
      throw error
    }
  }

  private func note(since start: UInt64, failed: Bool) {
    let end = DispatchTime.now().uptimeNanoseconds
    guard failed || end &- start > slowNanoseconds else {
      if !healthy.load(ordering: .relaxed), end >= offUntil.load(ordering: .relaxed) {
        healthy.store(true, ordering: .relaxed)
      }
      return
    }
    healthy.store(false, ordering: .relaxed)
    // Only ever moved later; a backoff counts when it starts after the last one ended.
    let until = end &+ backoffNanoseconds
    var current = offUntil.load(ordering: .relaxed)
    while current < until {
      let (exchanged, original) = offUntil.compareExchange(
        expected: current, desired: until, ordering: .relaxed)
      if exchanged {
        if current <= end { backoffCount.add(1, ordering: .relaxed) }
        return
      }
      current = original
    }
  }
}

/// The connection an `execute(_:)` body holds, which its blocking pool calls reuse.
struct HeldConnection: Sendable {
  @TaskLocal private static var current: HeldConnection?

  let pool: ObjectIdentifier
  let connection: PooledConnection
  /// Task-locals reach child tasks, but only the body's own thread may use the connection.
  let thread: pthread_t

  /// Runs `body` with `connection` lent to the blocking calls of `pool` on this thread.
  static func lending<R>(
    _ connection: PooledConnection, of pool: PoolState, _ body: () throws -> R
  ) throws -> R {
    let held = HeldConnection(
      pool: ObjectIdentifier(pool), connection: connection, thread: pthread_self())
    return try $current.withValue(held) { try body() }
  }

  /// The held connection of `pool` on this thread, if any.
  static func connection(of pool: PoolState) -> PooledConnection? {
    guard let held = current, held.pool == ObjectIdentifier(pool),
      pthread_equal(held.thread, pthread_self()) != 0
    else { return nil }
    return held.connection
  }
}
