import Memcached

/// Where MCDUtils keeps its bytes: memcached through a `MemcachedPool`, or
/// ``InProcessStore`` in this process.
///
/// A store lends connections (`MemcachedConnectionSource`) whose operations are
/// memcached's (`MemcachedOperations`), and says the facts the layers above need.
/// It also runs the blocking phases of an async commit that writes to it
/// (``CommitExecutor``): for a pool, where its async calls run.
public protocol MemCacheStore: MemcachedConnectionSource, CommitExecutor {
  /// A description for logs and the CLI, such as the server list.
  var storeDescription: String { get }
  /// Whether what is stored outlives this process (false for ``InProcessStore``).
  var isPersistent: Bool { get }
  /// The largest value a write sends; a larger one is refused before any I/O.
  var maximumValueSize: Int { get }
  /// The prefix the store puts before every key: part of what a sealed value is bound to, and
  /// of memcached's 250 bytes.
  var keyPrefix: String { get }
  /// How many further nodes hold a copy of every session (see
  /// `MemcachedConfiguration.replicas`).
  var replicas: Int { get }

  /// The server that holds `key` now, or `nil` for a store without servers.
  ///
  /// - Throws: `MemcachedError` for a bad key or when no server can be had.
  func server(forKey key: String) throws -> MemcachedServer?
}

extension MemCacheStore {
  /// The length in bytes of ``keyPrefix``.
  public var keyPrefixLength: Int { keyPrefix.utf8.count }

  /// `key` as memcached stores it, after ``keyPrefix``: what a sealed value is bound to.
  func prefixedKey(_ key: String) -> String { keyPrefix + key }

  /// Runs `commit` where this store's async calls run its blocking calls, with a connection
  /// lent to the blocking store calls it makes.
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
  ///
  /// - Throws: `MemcachedError`.
  public func server(forKey key: String) throws -> MemcachedServer? {
    try withConnection { try $0.server(forKey: key) }
  }
}
