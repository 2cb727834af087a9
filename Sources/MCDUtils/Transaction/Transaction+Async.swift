import Dispatch

/// The default ``CommitExecutor``: a concurrent queue, so managers block off the cooperative
/// pool and unrelated commits do not wait for each other.
final class BlockingQueueExecutor: CommitExecutor {
  static let shared = BlockingQueueExecutor()

  let queue: DispatchQueue = {
    let queue = DispatchQueue(label: "MCDUtils.Transaction.blocking", attributes: .concurrent)
    queue.setSpecific(key: key, value: ())
    return queue
  }()

  /// Lets code (the tests) tell that it runs on the queue.
  static let key = DispatchSpecificKey<Void>()

  func runCommit(_ commit: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation {
      (continuation: CheckedContinuation<Void, any Error>) in
      queue.async { continuation.resume(with: Result { try commit() }) }
    }
  }
}

extension Transaction {
  /// Commits like the synchronous `commit()`, where the joined data managers' executor says.
  ///
  /// - Throws: what the synchronous `commit()` throws.
  nonisolated(nonsending) public func commit() async throws {
    guard let executor = executor() else {
      try commitInPlace()
      return
    }
    try await executor.runCommit { try self.commitInPlace() }
  }

  /// Aborts like the synchronous `abort()`, where the joined data managers' executor says.
  ///
  /// - Throws: what the synchronous `abort()` throws.
  nonisolated(nonsending) public func abort() async throws {
    guard let executor = executor() else {
      try abortInPlace()
      return
    }
    try await executor.runCommit { try self.abortInPlace() }
  }

  // Named apart so that async code does not pick the async overloads.
  private func commitInPlace() throws { try commit() }
  private func abortInPlace() throws { try abort() }

  /// None when no manager may block, theirs when they agree, the blocking queue when they differ.
  private func executor() -> (any CommitExecutor)? {
    var chosen: (any CommitExecutor)?
    for manager in state.withLock({ $0.managers }) {
      guard let executor = manager.commitExecutor else { continue }
      if let current = chosen, current !== executor { return BlockingQueueExecutor.shared }
      chosen = executor
    }
    return chosen
  }
}
