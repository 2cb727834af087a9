import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// A thread-safe pool of ``MemcachedClient`` connections, shared by threads and tasks (<doc:Pool>).
public final class MemcachedPool: MemcachedConnectionSource {
  /// The configuration every connection is made with.
  public let configuration: MemcachedConfiguration
  private let logger: Logger
  let state: PoolState
  let execution: AsyncExecution
  let health: NodeHealth
  let metrics: MemcachedMetrics

  /// Creates a pool; connections are opened when first borrowed.
  /// - Throws: ``MemcachedError`` when the configuration is invalid.
  public init(configuration: MemcachedConfiguration, logger: Logger = .disabled) throws {
    let health = NodeHealth(configuration: configuration, logger: logger)
    let metrics = MemcachedMetrics()
    let first = try MemcachedClient(
      configuration: configuration, logger: logger, health: health, metrics: metrics)
    self.configuration = configuration
    self.logger = logger
    self.health = health
    self.metrics = metrics
    self.state = PoolState(size: configuration.poolSize)
    self.execution = AsyncExecution(policy: configuration.asyncExecution)
    state.release(PooledConnection(first))
  }

  /// Borrows a client for the duration of `body`, blocking the calling thread (not for async code).
  /// - Throws: ``MemcachedError`` on a checkout timeout or after shutdown, or what `body` throws.
  public func withConnection<R>(_ body: (MemcachedClient) throws -> R) throws -> R {
    if let held = HeldConnection.connection(of: state) { return try body(held.client) }
    let connection = try state.checkout(
      timeout: configuration.poolCheckoutTimeout, make: makeConnection)
    defer { state.release(connection) }
    return try body(connection.client)
  }

  /// Borrows a client and runs `body` with it where ``MemcachedConfiguration/asyncExecution`` says.
  /// - Throws: as the blocking form, or `CancellationError` while waiting for a connection.
  public func withConnection<R: Sendable>(
    _ body: @escaping @Sendable (MemcachedClient) throws -> R
  ) async throws -> R {
    try await execute(body)
  }

  /// Refuses new borrowers, fails those waiting, waits for calls in flight, closes connections.
  public func shutdown() async {
    health.stop()
    await state.shutdown()
  }

  /// Whether ``shutdown()`` was called.
  public var isShutDown: Bool { state.isShutDown }

  func makeConnection() throws -> PooledConnection {
    PooledConnection(
      try MemcachedClient(
        configuration: configuration, logger: logger, health: health, metrics: metrics))
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

/// The pool's bookkeeping: idle connections, how many exist and are lent, and who waits.
final class PoolState: @unchecked Sendable {
  // @unchecked: every stored property is read and written only while `condition` is locked.
  private let condition = NSCondition()
  private let size: Int
  private var idle: [PooledConnection] = []
  private var created = 0
  private var lent = 0
  private var shutDown = false
  private var drained: [CheckedContinuation<Void, Never>] = []
  private var waiters:
    [(id: UInt64, continuation: CheckedContinuation<PooledConnection, any Error>)] = []
  private var nextWaiterID: UInt64 = 0

  init(size: Int) {
    self.size = size
    self.created = 1  // the pool's first connection, made up front to validate the configuration
    self.lent = 1  // and handed back by the pool's initializer
  }

  private enum Take {
    case idle(PooledConnection)
    case make
  }

  /// Takes an idle connection, or the right to make a new one; `nil` when the caller must wait.
  private func takeLocked() throws(MemcachedError) -> Take? {
    if shutDown { throw Self.shutDownError }
    if let connection = idle.popLast() {
      lent += 1
      return .idle(connection)
    }
    if created < size {
      created += 1
      lent += 1
      return .make
    }
    return nil
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
        finishLoan()
        throw error
      }
    }
  }

  /// An idle connection, or a new one while the pool has room; `nil` instead of waiting.
  func checkoutIfReady(make: () throws -> PooledConnection) -> PooledConnection? {
    condition.lock()
    let take = try? takeLocked()
    condition.unlock()
    guard let take else { return nil }
    return try? resolve(take, make: make)
  }

  func checkout(timeout: Duration, make: () throws -> PooledConnection) throws -> PooledConnection {
    let deadline = Date().addingTimeInterval(timeout.seconds)
    condition.lock()
    while true {
      let take: Take?
      do {
        take = try takeLocked()
      } catch {
        condition.unlock()
        throw error
      }
      if let take {
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
    switch try reserve() {
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

  private func reserve() throws -> Reservation {
    condition.lock()
    defer { condition.unlock() }
    if let take = try takeLocked() { return .take(take) }
    nextWaiterID += 1
    return .wait(nextWaiterID)
  }

  private func enqueue(
    _ id: UInt64, _ continuation: CheckedContinuation<PooledConnection, any Error>,
    timeout: Duration
  ) {
    condition.lock()
    if shutDown {
      condition.unlock()
      continuation.resume(throwing: Self.shutDownError)
      return
    }
    if let connection = idle.popLast() {
      lent += 1
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
    Self.timerQueue.asyncAfter(deadline: .now() + timeout.seconds) {
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
    if !shutDown { idle.append(connection) }
    condition.signal()
    condition.unlock()
    finishLoan()
  }

  /// Counts a loan that ended, and wakes ``shutdown()`` when it was the last one.
  private func finishLoan() {
    condition.lock()
    lent -= 1
    let wake = shutDown && lent == 0 ? drained : []
    if !wake.isEmpty { drained.removeAll() }
    condition.unlock()
    for continuation in wake { continuation.resume() }
  }

  var isShutDown: Bool {
    condition.lock()
    defer { condition.unlock() }
    return shutDown
  }

  func shutdown() async {
    for waiter in beginShutdown() { waiter.resume(throwing: Self.shutDownError) }
    await withCheckedContinuation { waitUntilDrained($0) }
  }

  /// Refuses new loans and hands back the waiters to fail.
  private func beginShutdown() -> [CheckedContinuation<PooledConnection, any Error>] {
    condition.lock()
    defer { condition.unlock() }
    shutDown = true
    let failed = waiters.map(\.continuation)
    waiters.removeAll()
    idle.removeAll()
    condition.broadcast()
    return failed
  }

  private func waitUntilDrained(_ continuation: CheckedContinuation<Void, Never>) {
    condition.lock()
    if lent == 0 {
      condition.unlock()
      continuation.resume()
    } else {
      drained.append(continuation)
      condition.unlock()
    }
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

  // Not the global queue: timeouts would wait behind the application's blocking work there.
  private static let timerQueue = DispatchQueue(label: "mcdutils.memcached.pool-timer")

  private static func timeoutError(_ timeout: Duration) -> MemcachedError {
    MemcachedError(
      returnCode: .poolTimeout,
      message: "no pooled connection became free within \(timeout)", operation: "checkout")
  }

  private static let shutDownError = MemcachedError(
    returnCode: .poolShutDown, message: "the pool was shut down", operation: "checkout")
}

extension MemcachedPool: Service {
  /// Runs until the `ServiceGroup` shuts down gracefully or the task is cancelled, then shuts down.
  public func run() async throws {
    try? await gracefulShutdown()
    await shutdown()
  }
}
