extension Transaction {
  /// The transaction of the running ``withTransaction(_:)`` body, for code that is not handed
  /// it explicitly: Zope's `transaction.get()`, scoped to a task instead of a thread.
  ///
  /// It is `nil` outside a body. Child tasks and the functions a body calls see it; detached
  /// tasks and work sent to dispatch queues do not.
  @TaskLocal public static var current: Transaction?

  /// Whether a body that returned normally should abort rather than commit: a doomed
  /// transaction can only abort, and the body doomed it on purpose.
  var endsByAborting: Bool { status == .doomed }
}

// Disfavored because a body without `await` matches this overload best even in async code,
// which would then block a cooperative thread on the commit; in sync code it is the only match.
/// Runs `body` in a new transaction, committing it when `body` returns and aborting it when
/// `body` throws: Zope's `with transaction.manager:` block.
///
/// The transaction is ``Transaction/current`` while `body` runs. A transaction that `body`
/// doomed is aborted instead of committed and the result is still returned. In async code the
/// async overload is chosen instead, which keeps a blocking commit off Swift's cooperative pool.
///
/// ```swift
/// let user = try withTransaction { transaction in
///   try transaction.join(sessionManager)
///   return try loadUser()
/// }
/// ```
///
/// - Throws: the error `body` threw (an error from the abort that follows never hides it), or
///   the error of the commit.
@_disfavoredOverload
public func withTransaction<R>(_ body: (Transaction) throws -> R) throws -> R {
  let transaction = Transaction()
  let result: R
  do {
    result = try Transaction.$current.withValue(transaction) { try body(transaction) }
  } catch {
    // The body's error is the one worth reporting; an abort failure would only mask it.
    try? transaction.abort()
    throw error
  }
  if transaction.endsByAborting {
    try transaction.abort()
  } else {
    try transaction.commit()
  }
  return result
}

/// Runs `body` in a new transaction, committing it when `body` returns and aborting it when
/// `body` throws: the async form of Zope's `with transaction.manager:` block.
///
/// `body` runs in the caller's isolation (so it may touch the caller's actor state and need not
/// be `Sendable`), with the transaction as ``Transaction/current`` for it and every child task.
/// The commit or abort then runs on a dedicated dispatch queue, because data managers do
/// blocking network I/O in it. A transaction that `body` doomed is aborted instead of committed.
///
/// - Throws: the error `body` threw (an error from the abort that follows never hides it), or
///   the error of the commit.
public func withTransaction<R>(
  isolation: isolated (any Actor)? = #isolation,
  _ body: (Transaction) async throws -> R
) async throws -> R {
  let transaction = Transaction()
  let result: R
  do {
    result = try await Transaction.$current.withValue(
      transaction,
      operation: { try await body(transaction) },
      isolation: isolation
    )
  } catch {
    // The body's error is the one worth reporting; an abort failure would only mask it.
    try? await transaction.abort()
    throw error
  }
  if transaction.endsByAborting {
    try await transaction.abort()
  } else {
    try await transaction.commit()
  }
  return result
}
