import Foundation
import Memcached

extension MemCacheZCache {
  /// The cached value of an object's rendering, or `nil` on a miss, in one round trip, without
  /// blocking the cooperative pool (the original's `ZCache_get`).
  ///
  /// An entry is a miss when it is absent, was written before the object's last invalidation
  /// or modification time, is older than its maximum age, or cannot be read as `Value` (logged
  /// at debug level).
  /// - Throws: ``Memcached/MemcachedError`` when the store fails.
  public func get<Value: Decodable & Sendable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:]
  ) async throws -> Value? {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let found = try await store.perform {
      try self.lookup(Value.self, keys, on: $0, withLease: false)
    }
    return countedGet(found)
  }

  /// The cached value of an object's rendering, or `defaultValue` on a miss, without blocking
  /// the cooperative pool.
  /// - Throws: ``Memcached/MemcachedError`` when the store fails.
  public func get<Value: Decodable & Sendable>(
    for object: some Cacheable, view: String = "", request: [String: String] = [:],
    keywords: [String: String] = [:], default defaultValue: Value
  ) async throws -> Value {
    try await get(Value.self, for: object, view: view, request: request, keywords: keywords)
      ?? defaultValue
  }

  /// Stores a value for an object's rendering asynchronously (the
  /// original's `ZCache_set`). One round trip after a recent `get` of the object, two otherwise.
  /// - Parameter maxAge: how long the entry stays fresh; `nil` for ``defaultMaxAge``.
  /// - Throws: `EncodingError` for a value that cannot be encoded,
  ///   ``Memcached/MemcachedError`` when the store fails.
  public func set<Value: Encodable & Sendable>(
    _ value: Value, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil
  ) async throws {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let maxAge = maxAge ?? defaultMaxAge
    try await store.perform { try self.write(value, keys, generation: nil, maxAge: maxAge, on: $0) }
  }

  /// Drops every cached entry of an object in one round trip, asynchronously (the original's
  /// `ZCache_invalidate`). Once it returns, no lookup anywhere returns an
  /// entry written before it.
  /// - Throws: ``Memcached/MemcachedError`` when the store fails.
  public func invalidate(_ object: some Cacheable) async throws {
    let key = generationKey(for: object)
    try await store.perform { try self.bumpGeneration(key, on: $0) }
  }

  /// The cached value of an object's rendering, computing it with `compute` on a miss, with
  /// stampede protection, asynchronously.
  ///
  /// Behaves as the blocking
  /// ``getOrCompute(_:for:view:request:keywords:maxAge:compute:)``: one caller of many computes,
  /// the others get the stale copy or wait for the value, and a computation that throws
  /// releases its lease at once.
  /// - Throws: what `compute` throws, `EncodingError` for a value that cannot be encoded,
  ///   ``Memcached/MemcachedError`` when the store fails.
  public func getOrCompute<Value: Codable & Sendable>(
    _ type: Value.Type = Value.self, for object: some Cacheable, view: String = "",
    request: [String: String] = [:], keywords: [String: String] = [:], maxAge: Duration? = nil,
    compute: () async throws -> Value
  ) async throws -> Value {
    let keys = keys(for: object, view: view, request: request, keywords: keywords)
    let maxAge = maxAge ?? defaultMaxAge
    let deadline = ContinuousClock.now.advanced(by: tuning.leaseWait)
    while true {
      let deadlinePassed = ContinuousClock.now >= deadline
      let next = try await store.perform {
        try self.step(Value.self, keys, deadlinePassed: deadlinePassed, on: $0)
      }
      switch next {
      case .done(let value):
        return value
      case .compute(let generation, let leased):
        let value: Value
        do {
          value = try await compute()
        } catch {
          if leased { _ = try? await store.perform { self.releaseLease(keys, on: $0) } }
          throw error
        }
        try await store.perform {
          try self.storeComputed(
            value, keys, generation: generation, leased: leased, maxAge: maxAge, on: $0)
        }
        return value
      case .wait:
        try await Task.sleep(for: tuning.pollInterval)
      }
    }
  }
}
