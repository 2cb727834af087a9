import Memcached

@testable import MCDUtils

/// A container over a counting in-process store.
func makeUnitContainer(
  timeout: Duration = MemCacheSessionDataContainer.defaultTimeout,
  resolution: Duration = MemCacheSessionDataContainer.defaultResolution,
  policy: MemCacheSessionDataContainer.ConflictPolicy = .merge
) -> (MemCacheSessionDataContainer, InProcessStore) {
  let store = InProcessStore()
  let container = MemCacheSessionDataContainer(
    proxy: MemCacheProxy(store: store), timeout: timeout, resolution: resolution,
    conflictPolicy: policy)
  return (container, store)
}

/// A pool for `servers` with its own key prefix.
func makePool(
  _ servers: [MemcachedServer], prefix: String,
  configure: (inout MemcachedConfiguration) -> Void = { _ in }
) throws -> MemcachedPool {
  var configuration = MemcachedConfiguration(servers: servers)
  configuration.keyPrefix = prefix
  configure(&configuration)
  return try MemcachedPool(configuration: configuration)
}

extension MemCacheError {
  /// The name of the case, for tests that only care which case was thrown.
  var caseName: String {
    switch self {
    case .noProxy: "noProxy"
    case .invalidBrowserId: "invalidBrowserId"
    case .conflict: "conflict"
    case .sessionEnded: "sessionEnded"
    case .valueTooLarge: "valueTooLarge"
    case .nestingTooDeep: "nestingTooDeep"
    case .unavailable: "unavailable"
    case .storeFailed: "storeFailed"
    case .undecodable: "undecodable"
    case .notASession: "notASession"
    case .encodingFailed: "encodingFailed"
    case .decodingFailed: "decodingFailed"
    case .generationUnavailable: "generationUnavailable"
    case .unexpected: "unexpected"
    }
  }
}

/// The ``MemCacheError`` that `body` throws, or `nil` when it throws nothing or another error.
func memCacheError(_ body: () throws -> Void) -> MemCacheError? {
  do {
    try body()
    return nil
  } catch let error as MemCacheError {
    return error
  } catch {
    return nil
  }
}

/// The async form of ``memCacheError(_:)``.
func asyncMemCacheError(_ body: () async throws -> Void) async -> MemCacheError? {
  do {
    try await body()
    return nil
  } catch let error as MemCacheError {
    return error
  } catch {
    return nil
  }
}

/// Polls until `condition` holds or `seconds` pass, and returns whether it held: for what a
/// test waits on in the background (a repair), with a wide margin for a busy machine.
func eventually(
  within seconds: Int = 20, _ condition: () async throws -> Bool
) async rethrows -> Bool {
  let deadline = ContinuousClock.now + .seconds(seconds)
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(50))
  }
  return try await condition()
}

extension MemCacheSessionDataContainer {
  /// A container with one replica over `servers`, with its own key prefix, and its pool.
  static func replicated(
    _ servers: [MemcachedServer], prefix: String, retryTimeout: Duration = .milliseconds(200)
  ) throws -> (MemCacheSessionDataContainer, MemcachedPool) {
    let pool = try makePool(servers, prefix: prefix) {
      $0.replicas = 1
      $0.retryTimeout = retryTimeout
    }
    return (MemCacheSessionDataContainer(proxy: MemCacheProxy(store: pool)), pool)
  }

  /// Writes `value` under the entry "value" of session `id`, in one transaction.
  func writeValue(_ id: String, _ value: String) async throws {
    try await withTransaction { _ in
      try await newOrExisting(id)["value"] = .string(value)
    }
  }
}
