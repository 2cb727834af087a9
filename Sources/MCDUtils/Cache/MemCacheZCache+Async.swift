import Foundation
import Memcached

// The async forms of the page cache's operations: the same steps, run where the store says
// async code may block.
extension MemCacheZCache {
  /// The cached value of an object's rendering, or `nil` on a miss, as the blocking
  /// ``get(_:for:view:request:keywords:)``.
  public func get<Value: Decodable & Sendable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:]
  ) async -> Value? {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    return countedGet(
      await failingOpen(nil) { try self.lookup(Value.self, keys, on: $0, withLease: false) })
  }

  /// Stores a value for an object's rendering, as the blocking
  /// ``set(_:for:view:request:keywords:maxAge:)``.
  /// - Throws: ``MemCacheError`` when the value cannot be encoded or stored.
  public func set<Value: Encodable & Sendable>(
    _ value: Value, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil
  ) async throws(MemCacheError) {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let maxAge = maxAge ?? defaultMaxAge
    try await reporting { try self.write(value, keys, generation: nil, maxAge: maxAge, on: $0) }
  }

  /// Drops every cached entry of an object, as the blocking `invalidate(_:)`.
  /// - Throws: ``MemCacheError`` when the store failed: then nothing was invalidated.
  public func invalidate(_ object: some Cacheable) async throws(MemCacheError) {
    let key = generationKey(for: object)
    try await reporting { try self.bumpGeneration(key, on: $0) }
  }

  /// The cached value of an object's rendering, computed on a miss, as the blocking
  /// ``getOrCompute(_:for:view:request:keywords:maxAge:compute:)``.
  /// - Throws: what `compute` throws, ``MemCacheError`` for a value that cannot be encoded, or
  ///   `CancellationError` while waiting.
  public func getOrCompute<Value: Codable & Sendable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil,
    compute: () async throws -> Value
  ) async throws -> Value {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let maxAge = maxAge ?? defaultMaxAge
    let deadline = ContinuousClock.now.advanced(by: tuning.leaseWait)
    while true {
      let passed = ContinuousClock.now >= deadline
      let next = await failingOpen(Step<Value>.compute(generation: nil, leased: false)) {
        try self.step(Value.self, keys, deadlinePassed: passed, on: $0)
      }
      switch next {
      case .done(let value):
        return value
      case .compute(let generation, let leased):
        // Without a generation the store failed: a miss, computed without a lease.
        if generation == nil { shared.record(.miss) }
        let value: Value
        do {
          value = try await compute()
        } catch {
          if leased { await failingOpen(()) { self.releaseLease(keys, on: $0) } }
          throw error
        }
        // The value is returned even when the store fails or refuses it; a value that cannot
        // be encoded at all is the caller's to know.
        do {
          try await reporting {
            try self.storeComputed(
              value, keys, generation: generation, leased: leased, maxAge: maxAge, on: $0)
          }
        } catch {
          // (A `catch … where` here crashes swift-frontend 6.3.1 with typed throws.)
          guard error.isStoreFailure else { throw error }
        }
        return value
      case .wait:
        shared.record(.wait)
        try await Task.sleep(for: tuning.pollInterval)
      }
    }
  }

  @discardableResult
  func failingOpen<R: Sendable>(
    _ fallback: R, _ body: @escaping @Sendable (any MemcachedOperations) throws -> R
  ) async -> R {
    do {
      return try await reporting(body)
    } catch {
      return fallback
    }
  }

  func reporting<R: Sendable>(
    _ body: @escaping @Sendable (any MemcachedOperations) throws -> R
  ) async throws(MemCacheError) -> R {
    do {
      let result = try await store.withConnection { (connection: any MemcachedOperations) in
        try body(connection)
      }
      shared.noteSuccess(logger: logger)
      return result
    } catch {
      throw noted(error)
    }
  }
}
