import Dispatch
import Foundation
import Logging

/// A thread-safe pool of ``MemcachedClient`` connections, shared by threads and tasks.
///
/// `withClient { }` borrows a client for a block of blocking calls; the `async` operations
/// (``get(_:)``, ``set(_:value:flags:expiration:)``, …) borrow one and run the blocking libmemcached
/// call where ``MemcachedConfiguration/asyncExecution`` says: by default on the calling task's
/// thread while the servers answer promptly and no other call of the process does so (at most
/// one thread of Swift's cooperative pool is ever held), and otherwise on a dispatch queue of the
/// connection's own, so a server that hangs cannot starve unrelated tasks.
///
/// ```swift
/// let pool = try MemcachedPool(configuration: configuration, logger: logger)
/// try await pool.set("greeting", value: Array("hello".utf8))
/// let item = try await pool.get("greeting")
/// ```
///
/// At most ``MemcachedConfiguration/poolSize`` connections are opened, on demand. A borrower
/// waits at most ``MemcachedConfiguration/poolCheckoutTimeout`` for one to be free, then gets
/// ``MemcachedReturnCode/poolTimeout``.
public final class MemcachedPool: Sendable {
  /// The configuration every connection is made with.
  public let configuration: MemcachedConfiguration
  private let logger: Logger
  let state: PoolState
  let inline: InlineCalls

  /// Creates a pool; connections are opened when first borrowed.
  ///
  /// - Throws: ``MemcachedError`` when the configuration is invalid (checked at once by making
  ///   the first client).
  public init(
    configuration: MemcachedConfiguration,
    logger: Logger = Logger(label: "mcdutils.memcached", factory: { _ in SwiftLogNoOpLogHandler() })
  ) throws {
    let first = try MemcachedClient(configuration: configuration, logger: logger)
    self.configuration = first.configuration
    self.logger = logger
    self.state = PoolState(size: configuration.poolSize)
    self.inline = InlineCalls(policy: configuration.asyncExecution)
    state.release(PooledConnection(first))
  }

  /// Borrows a client for the duration of `body`, on the calling thread.
  ///
  /// This blocks the calling thread while it waits and while `body` talks to memcached: call it
  /// from threads of your own, not from async code (use the `async` operations there).
  /// - Throws: ``MemcachedReturnCode/poolTimeout`` when no connection became free in time, or what
  ///   `body` throws.
  public func withClient<R>(_ body: (MemcachedClient) throws -> R) throws -> R {
    if let held = HeldConnection.connection(of: state) { return try body(held.client) }
    let connection = try state.checkout(
      timeout: configuration.poolCheckoutTimeout, make: makeConnection)
    defer { state.release(connection) }
    return try body(connection.client)
  }

  /// Borrows a client and runs `body` with it: on the calling task's thread when
  /// ``MemcachedConfiguration/asyncExecution`` allows it now, and otherwise on the connection's
  /// own dispatch queue, off Swift's cooperative thread pool.
  ///
  /// - Throws: ``MemcachedReturnCode/poolTimeout`` when no connection became free in time,
  ///   `CancellationError` when the task was cancelled while waiting, or what `body` throws.
  public func withClient<R: Sendable>(
    _ body: @escaping @Sendable (MemcachedClient) throws -> R
  ) async throws -> R {
    if let result = try inline.runIfAllowed(state, make: makeConnection, { try body($0.client) }) {
      return result
    }
    let connection = try await state.checkout(
      timeout: configuration.poolCheckoutTimeout, make: makeConnection)
    let (state, inline) = (self.state, self.inline)
    return try await withCheckedThrowingContinuation { continuation in
      connection.queue.async {
        let result = inline.runOffloaded { try body(connection.client) }
        state.release(connection)
        continuation.resume(with: result)
      }
    }
  }

  func makeConnection() throws -> PooledConnection {
    PooledConnection(try MemcachedClient(configuration: configuration, logger: logger))
  }
}

/// One pooled client with the serial queue its blocking calls run on.
final class PooledConnection: @unchecked Sendable {
  // @unchecked: the client is not thread-safe, but the pool hands a connection to one borrower
  // at a time and takes it back before lending it again, so it is never used concurrently.
  let client: MemcachedClient
  let queue = DispatchQueue(label: "mcdutils.memcached.connection")

  init(_ client: MemcachedClient) {
    self.client = client
  }
}

/// The pool's bookkeeping: idle connections, how many exist, and who waits.
final class PoolState: @unchecked Sendable {
  // @unchecked: every stored property is read and written only while `condition` is locked.
  private let condition = NSCondition()
  private let size: Int
  private var idle: [PooledConnection] = []
  private var created = 0
  private var waiters:
    [(id: UInt64, continuation: CheckedContinuation<PooledConnection, any Error>)] =
      []
  private var nextWaiterID: UInt64 = 0

  init(size: Int) {
    self.size = size
    self.created = 1  // the pool's first connection, made up front to validate the configuration
  }

  /// Takes an idle connection, or the right to make a new one; `nil` when the caller must wait.
  private func takeLocked() -> Take? {
    if let connection = idle.popLast() { return .idle(connection) }
    if created < size {
      created += 1
      return .make
    }
    return nil
  }

  private enum Take {
    case idle(PooledConnection)
    case make
  }

  private func resolve(_ take: Take, make: () throws -> PooledConnection) throws -> PooledConnection
  {
    switch take {
    case .idle(let connection):
      return connection
    case .make:
      do {
        return try make()
      } catch {
        condition.lock()
        created -= 1
        condition.unlock()
        throw error
      }
    }
  }

  /// An idle connection, or a new one while the pool has room; `nil` instead of waiting.
  func checkoutIfReady(make: () throws -> PooledConnection) -> PooledConnection? {
    condition.lock()
    let take = takeLocked()
    condition.unlock()
    guard let take else { return nil }
    return try? resolve(take, make: make)
  }

  func checkout(timeout: Duration, make: () throws -> PooledConnection) throws -> PooledConnection {
    let deadline = Date().addingTimeInterval(Self.seconds(timeout))
    condition.lock()
    while true {
      if let take = takeLocked() {
        condition.unlock()
        return try resolve(take, make: make)
      }
      if !condition.wait(until: deadline) && Date() >= deadline {
        condition.unlock()
        throw Self.timeoutError(timeout)
      }
    }
  }

  func checkout(timeout: Duration, make: () throws -> PooledConnection) async throws
    -> PooledConnection
  {
    switch reserve() {
    case .take(let take):
      return try resolve(take, make: make)
    case .wait(let id):
      return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
          enqueue(id, continuation, timeout: timeout)
        }
      } onCancel: {
        fail(waiter: id, with: CancellationError())
      }
    }
  }

  private enum Reservation {
    case take(Take)
    case wait(UInt64)
  }

  private func reserve() -> Reservation {
    condition.lock()
    defer { condition.unlock() }
    if let take = takeLocked() { return .take(take) }
    nextWaiterID += 1
    return .wait(nextWaiterID)
  }

  private func enqueue(
    _ id: UInt64, _ continuation: CheckedContinuation<PooledConnection, any Error>,
    timeout: Duration
  ) {
    condition.lock()
    if let connection = idle.popLast() {
      condition.unlock()
      continuation.resume(returning: connection)
      return
    }
    waiters.append((id, continuation))
    condition.unlock()
    if Task.isCancelled {
      fail(waiter: id, with: CancellationError())
      return
    }
    Self.timerQueue.asyncAfter(deadline: .now() + Self.seconds(timeout)) {
      self.fail(waiter: id, with: Self.timeoutError(timeout))
    }
  }

  /// Gives a connection back: to the first async waiter, or to the idle list for the others.
  func release(_ connection: PooledConnection) {
    condition.lock()
    if !waiters.isEmpty {
      let waiter = waiters.removeFirst()
      condition.unlock()
      waiter.continuation.resume(returning: connection)
      return
    }
    idle.append(connection)
    condition.signal()
    condition.unlock()
  }

  private func fail(waiter id: UInt64, with error: any Error) {
    condition.lock()
    guard let index = waiters.firstIndex(where: { $0.id == id }) else {
      condition.unlock()
      return
    }
    let waiter = waiters.remove(at: index)
    condition.unlock()
    waiter.continuation.resume(throwing: error)
  }

  /// Checkout timeouts fire on a queue of their own: on the global queue they would wait behind
  /// whatever blocking work an application put there.
  private static let timerQueue = DispatchQueue(label: "mcdutils.memcached.pool-timer")

  private static func seconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) + Double(attoseconds) / 1e18
  }

  private static func timeoutError(_ timeout: Duration) -> MemcachedError {
    MemcachedError(
      returnCode: .poolTimeout,
      message: "no pooled connection became free within \(timeout)", operation: "checkout")
  }
}
