import Dispatch

extension Transaction {
  /// Runs async commits and aborts. Data managers block on network I/O in them, which must not
  /// happen on Swift's cooperative pool: it has one thread per core, and a blocked thread there
  /// stalls unrelated tasks. The queue is concurrent so that commits of unrelated requests do
  /// not wait for each other; Dispatch adds threads when its workers block.
  static let blockingQueue: DispatchQueue = {
    let queue = DispatchQueue(label: "MCDUtils.Transaction.blocking", attributes: .concurrent)
    queue.setSpecific(key: blockingQueueKey, value: ())
    return queue
  }()

  /// Lets code (the tests) tell that it runs on ``blockingQueue``.
  static let blockingQueueKey = DispatchSpecificKey<Void>()

  /// Commits like the synchronous ``commit()``, on a dedicated dispatch queue so that data
  /// managers may block without holding a thread of Swift's cooperative pool, or in place when
  /// that is safe (below).
  ///
  /// It stays in the caller's isolation until it hands the commit to the queue, so the only
  /// cost over the synchronous commit is that hand-off and the way back: two thread wake-ups,
  /// which on a busy CPU cost about as much as a round trip to a local memcached.
  ///
  /// - Throws: what the synchronous ``commit()`` throws.
  ///
  /// When no joined manager may block (``DataManager/commitMayBlock``), as in a read-only
  /// request, it commits in place and saves the hop; so it does when the one manager that may
  /// block lets the commit run inline (``DataManager/commitInline(_:)``), as a session on a
  /// healthy memcached pool does.
  nonisolated(nonsending) public func commit() async throws {
    let blocking = joinedManagers(thatMayBlock: 2)
    if blocking.isEmpty {
      try commitInPlace()
      return
    }
    if blocking.count == 1, try blocking[0].commitInline({ try self.commitInPlace() }) {
      return
    }
    try await runOnBlockingQueue { try self.commit() }
  }

  /// Aborts like the synchronous ``abort()``, on the dedicated dispatch queue that async
  /// commits use, because a data manager may block while it aborts too.
  ///
  /// - Throws: what the synchronous ``abort()`` throws.
  nonisolated(nonsending) public func abort() async throws {
    try await runOnBlockingQueue { try self.abort() }
  }

  /// The synchronous commit, named apart so that async code does not pick the async overload.
  private func commitInPlace() throws {
    try commit()
  }

  nonisolated(nonsending) private func runOnBlockingQueue(
    _ work: @escaping @Sendable () throws -> Void
  ) async throws {
    try await withCheckedThrowingContinuation {
      (continuation: CheckedContinuation<Void, any Error>) in
      Self.blockingQueue.async {
        continuation.resume(with: Result { try work() })
      }
    }
  }
}
