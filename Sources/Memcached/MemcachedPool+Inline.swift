import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The pool's side of ``MemcachedAsyncExecution``: whether an async call may run on the calling
/// thread now, and what the pool's last calls say about its servers' health.
final class InlineCalls: Sendable {
  /// Set while any pool of this process runs a call inline: MCDUtils blocks at most one thread
  /// of the cooperative pool at a time.
  private static let busy = Atomic<Bool>(false)

  private let policy: MemcachedAsyncExecution
  private let slowNanoseconds: UInt64
  private let backoffNanoseconds: UInt64
  /// Whether the pool's last call was prompt and fine, with no trouble in the backoff before
  /// it. Only then may calls run inline; a new pool starts without, so its first call proves the
  /// servers answer, and a server that never answered never holds a cooperative thread.
  private let healthy = Atomic<Bool>(false)
  /// Until when (in `DispatchTime` uptime nanoseconds) trouble keeps the pool unhealthy.
  private let offUntil = Atomic<UInt64>(0)
  private let inlineCount = Atomic<Int>(0)
  private let offloadedCount = Atomic<Int>(0)
  private let backoffCount = Atomic<Int>(0)

  init(policy: MemcachedAsyncExecution) {
    self.policy = policy
    slowNanoseconds = Self.nanoseconds(policy.slowCallThreshold)
    backoffNanoseconds = Self.nanoseconds(policy.backoff)
  }

  var statistics: MemcachedAsyncStatistics {
    MemcachedAsyncStatistics(
      inline: inlineCount.load(ordering: .relaxed),
      offloaded: offloadedCount.load(ordering: .relaxed),
      backoffs: backoffCount.load(ordering: .relaxed))
  }

  /// Runs `body` with a connection on the calling thread if the policy, the process-wide slot,
  /// the pool's health and an idle connection all allow it; `nil` without running it otherwise.
  func runIfAllowed<R>(
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

  /// Runs `body` and notes the pool's health: a slow call, or one that failed for a server's
  /// sake, turns inline calls off for at least the backoff; after it, the next prompt call turns
  /// them back on.
  private func timed<R>(_ body: () throws -> R) throws -> R {
    guard policy.allowsInline else { return try body() }
    let start = Self.now()
    do {
      let result = try body()
      note(since: start, failed: false)
      return result
    } catch {
      note(since: start, failed: (error as? MemcachedError)?.isServerTrouble == true)
      throw error
    }
  }

  private func note(since start: UInt64, failed: Bool) {
    let end = Self.now()
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

  private static func now() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds
  }

  private static func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0 else { return 0 }
    let whole = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
    let (sum, overflow) = whole.partialValue.addingReportingOverflow(
      UInt64(attoseconds / 1_000_000_000))
    return whole.overflow || overflow ? UInt64.max / 2 : sum
  }
}

/// The connection a ``MemcachedPool/runInline(_:)`` body holds, so that the blocking calls it
/// makes through the pool use it instead of borrowing another.
struct HeldConnection: Sendable {
  @TaskLocal static var current: HeldConnection?

  let pool: ObjectIdentifier
  let connection: PooledConnection
  /// Task-local values reach tasks the body might start; only the body's own thread may use
  /// the connection.
  let thread: pthread_t

  /// The held connection of `pool` on this thread, if any.
  static func connection(of pool: PoolState) -> PooledConnection? {
    guard let held = current, held.pool == ObjectIdentifier(pool),
      pthread_equal(held.thread, pthread_self()) != 0
    else { return nil }
    return held.connection
  }
}

extension MemcachedPool {
  /// How often this pool's async calls ran inline or were offloaded (see
  /// ``MemcachedConfiguration/asyncExecution``).
  public var asyncStatistics: MemcachedAsyncStatistics { inline.statistics }

  /// Runs `body`, which may call the pool's blocking operations, on the calling thread with a
  /// connection held for it, when ``MemcachedConfiguration/asyncExecution`` allows an inline
  /// call now; returns `nil` without running `body` when the caller should move off the
  /// cooperative pool instead.
  ///
  /// The transaction layer commits a session this way, so that a whole commit costs no thread
  /// hop while memcached is healthy.
  ///
  /// - Throws: what `body` throws.
  public func runInline<R>(_ body: () throws -> R) throws -> R? {
    let state = self.state
    return try inline.runIfAllowed(state, make: makeConnection) { connection in
      let held = HeldConnection(
        pool: ObjectIdentifier(state), connection: connection, thread: pthread_self())
      return try HeldConnection.$current.withValue(held) { try body() }
    }
  }
}

extension MemcachedError {
  /// Whether the error says a server is unwell (timed out, refused, dropped the connection,
  /// answered with an error of its own or is out of service), as opposed to an answer about
  /// the item.
  var isServerTrouble: Bool {
    if isTimeout || isConnectionRefused || isNoServerAvailable || isServerError { return true }
    return [
      MemcachedReturnCode.connectionFailure, .writeFailure, .readFailure, .unknownReadFailure,
      .errno, .hostLookupFailure, .partialRead, .protocolError, .someErrors, .failure,
    ].contains(returnCode)
  }
}
