import Memcached

/// Where MCDUtils keeps its bytes: memcached through a `MemcachedPool`, or ``InProcessStore``
/// in this process (see "Stores" in <doc:ProxyAndReadCache>).
public protocol MemCacheStore: MemcachedConnectionSource, CommitExecutor {
  /// A description for logs and the CLI, such as the server list.
  var storeDescription: String { get }
  /// Whether what is stored outlives this process (false for ``InProcessStore``).
  var isPersistent: Bool { get }
  /// The largest value a write sends; a larger one is refused before any I/O.
  var maximumValueSize: Int { get }
  /// The prefix the store puts before every key (part of what a sealed value is bound to).
  var keyPrefix: String { get }
  /// How many further nodes hold a copy of every session.
  var replicas: Int { get }

  /// The server that holds `key` now, or `nil` for a store without servers.
  /// - Throws: `MemcachedError` for a bad key or when no server can be had.
  func server(forKey key: String) throws -> MemcachedServer?
}

extension MemCacheStore {
  /// The length in bytes of ``keyPrefix``.
  public var keyPrefixLength: Int { keyPrefix.utf8.count }

  /// `key` as memcached stores it, after ``keyPrefix``: what a sealed value is bound to.
  func prefixedKey(_ key: String) -> String { keyPrefix + key }

  /// Runs `commit` where this store's async calls run its blocking calls.
  public func runCommit(_ commit: @escaping @Sendable () throws -> Void) async throws {
    try await withConnection { _ in try commit() }
  }
}

extension MemcachedPool: MemCacheStore {
  /// The configured servers, comma-separated.
  public var storeDescription: String {
    configuration.servers.map(\.description).joined(separator: ",")
  }

  /// Always `true`: memcached keeps items beyond this process.
  public var isPersistent: Bool { true }

  /// `MemcachedConfiguration.maximumValueSize`.
  public var maximumValueSize: Int { configuration.maximumValueSize }

  /// `MemcachedConfiguration.keyPrefix`.
  public var keyPrefix: String { configuration.keyPrefix }

  /// `MemcachedConfiguration.replicas`.
  public var replicas: Int { configuration.replicas }

  /// The server a key's operations go to now. See `MemcachedClient.server(forKey:)`.
  /// - Throws: `MemcachedError`.
  public func server(forKey key: String) throws -> MemcachedServer? {
    try withConnection { try $0.server(forKey: key) }
  }
}
