extension Transaction {
  /// The transaction of the running ``withTransaction(_:)`` body, or `nil`: Zope's
  /// `transaction.get()`, scoped to a task instead of a thread.
  @TaskLocal public static var current: Transaction?

  /// Whether a body that returned normally should abort rather than commit: it doomed it.
  var endsByAborting: Bool { status == .doomed }
}

// Disfavored because a body without `await` matches this overload best even in async code,
// which would then block a cooperative thread on the commit; in sync code it is the only match.
/// Runs `body` in a new transaction, committed when `body` returns and aborted when it throws:
/// Zope's `with transaction.manager:` block. See <doc:TransactionsAndDataManagers>.
///
/// - Throws: the error `body` threw (never hidden by the abort's), or the commit's error.
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

/// Runs `body` in the caller's isolation in a new transaction, committed when `body` returns and
/// aborted when it throws: the async form of Zope's `with transaction.manager:` block.
///
/// - Throws: the error `body` threw (never hidden by the abort's), or the commit's error.
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
