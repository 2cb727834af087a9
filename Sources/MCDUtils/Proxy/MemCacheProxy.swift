import Foundation
import Logging
import Memcached

/// The client a session container and a service share: the original's `MemCacheProxy`, with
/// the whole memcached API over `Codable` values ("expanded IProxy API").
///
/// Build it from the original's server lines, a server list, a ``Memcached/MemcachedPool`` or
/// any ``MemCacheStore``. With no servers it keeps items in an ``InProcessStore`` (the
/// original's `FauxClient`) and says so in its log.
///
/// Values are stored through ``ValueFormat`` (MessagePack bytes and item flags), so Python, Go
/// or PHP can read them. Every operation has a blocking form (for threads of your own and data
/// managers) and an `async` form, which runs the network I/O where the store says async code
/// may block (see ``MemCacheStore/perform(_:)``).
///
/// **Read cache.** Inside a transaction (``Transaction/current``) a key is fetched from
/// memcached once: later reads in that transaction get the same copy. A write through the proxy
/// drops the key's copy, and the end of the transaction (commit or abort) drops everything it
/// read, the original's "forced refresh". Copies are never shared between transactions; outside
/// a transaction nothing is cached.
///
/// ```swift
/// let proxy = try MemCacheProxy(servers: "10.0.0.5:11211\n10.0.0.6:11211", logger: logger)
/// try await proxy.set("greeting", "hello", expiration: .seconds(300))
/// let greeting = try await proxy.get("greeting", as: String.self)
/// ```
public final class MemCacheProxy: Sendable {
  /// Where the bytes are kept.
  public let store: any MemCacheStore
  /// The largest encoded value a write sends; a larger one throws
  /// ``MemCacheError/sessionTooLarge(size:maximum:)`` before any I/O.
  public let maximumValueSize: Int
  /// The length in bytes of the store's key prefix, which counts towards memcached's key limit.
  public let keyPrefixLength: Int
  let logger: Logger
  let readCache = ProxyReadCache()
  /// Serialize the session writes of this process per key (striped), so that concurrent
  /// commits of one session here wait for each other instead of racing on CAS; only writers in
  /// other processes can then make a session write conflict.
  private let writeLocks = (0..<64).map { _ in NSLock() }

  /// A proxy over any store.
  ///
  /// - Parameters:
  ///   - store: the store, such as a ``Memcached/MemcachedPool`` or an ``InProcessStore``.
  ///   - maximumValueSize: the largest value written; by default the pool's
  ///     ``Memcached/MemcachedConfiguration/maximumValueSize`` or the in-process store's limit.
  ///   - logger: where the proxy logs; it never makes a global logger of its own.
  public init(
    store: any MemCacheStore, maximumValueSize: Int? = nil,
    logger: Logger = Logger(label: "mcdutils.proxy", factory: { _ in SwiftLogNoOpLogHandler() })
  ) {
    self.store = store
    self.logger = logger
    switch store {
    case let pool as MemcachedPool:
      self.maximumValueSize = maximumValueSize ?? pool.configuration.maximumValueSize
      self.keyPrefixLength = pool.configuration.keyPrefix.utf8.count
    case let inProcess as InProcessStore:
      self.maximumValueSize = maximumValueSize ?? inProcess.maximumValueSize
      self.keyPrefixLength = 0
    default:
      self.maximumValueSize = maximumValueSize ?? 1_048_000
      self.keyPrefixLength = 0
    }
  }

  /// A proxy over a pool of memcached connections.
  public convenience init(
    pool: MemcachedPool,
    logger: Logger = Logger(label: "mcdutils.proxy", factory: { _ in SwiftLogNoOpLogHandler() })
  ) {
    self.init(store: pool, logger: logger)
  }

  /// A proxy for the servers of `configuration`; with none, an ``InProcessStore`` whose
  /// items live only as long as this process (logged as a warning).
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)`` when the configuration is invalid.
  public convenience init(
    configuration: MemcachedConfiguration,
    logger: Logger = Logger(label: "mcdutils.proxy", factory: { _ in SwiftLogNoOpLogHandler() })
  ) throws {
    guard !configuration.servers.isEmpty else {
      logger.warning(
        "no memcached servers configured; using an in-process store, nothing persists")
      self.init(
        store: InProcessStore(maximumValueSize: configuration.maximumValueSize), logger: logger)
      return
    }
    do {
      self.init(
        store: try MemcachedPool(configuration: configuration, logger: logger), logger: logger)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// A proxy for a server list; an empty list means an ``InProcessStore``.
  ///
  /// - Parameters:
  ///   - servers: the servers.
  ///   - configure: changes to the default ``Memcached/MemcachedConfiguration``, such as a key
  ///     prefix or timeouts.
  ///   - logger: where the proxy logs.
  /// - Throws: ``MemCacheError/storeFailed(_:)`` when the configuration is invalid.
  public convenience init(
    servers: [MemcachedServer],
    configure: (inout MemcachedConfiguration) -> Void = { _ in },
    logger: Logger = Logger(label: "mcdutils.proxy", factory: { _ in SwiftLogNoOpLogHandler() })
  ) throws {
    var configuration = MemcachedConfiguration(servers: servers)
    configure(&configuration)
    try self.init(configuration: configuration, logger: logger)
  }

  /// A proxy for the original's `servers` property: one `host:port` line per server; blank
  /// text means an ``InProcessStore``.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)`` quoting the first bad line, or for an invalid
  ///   configuration.
  public convenience init(
    servers: String,
    configure: (inout MemcachedConfiguration) -> Void = { _ in },
    logger: Logger = Logger(label: "mcdutils.proxy", factory: { _ in SwiftLogNoOpLogHandler() })
  ) throws {
    let list: [MemcachedServer]
    do {
      list = try MemcachedServer.parseList(servers)
    } catch {
      throw MemCacheError.wrapping(error)
    }
    try self.init(servers: list, configure: configure, logger: logger)
  }

  /// Whether items outlive this process (false for an ``InProcessStore``).
  public var isPersistent: Bool { store.isPersistent }

  /// How many transactions hold cached reads right now; 0 when every transaction that read
  /// through the proxy has ended.
  public var openReadCacheCount: Int { readCache.openCacheCount }

  /// Runs `body` while no other session write of this process for `key` runs.
  func withWriteLock<R>(for key: String, _ body: () throws -> R) rethrows -> R {
    let lock = writeLocks[Int(UInt(bitPattern: key.hashValue) % UInt(writeLocks.count))]
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  /// Runs a blocking store operation, turning its errors into ``MemCacheError``.
  func run<R>(_ body: (any MemCacheStore) throws -> R) throws(MemCacheError) -> R {
    do {
      return try body(store)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// Runs a store operation through ``MemCacheStore/perform(_:)``, turning its errors into
  /// ``MemCacheError``.
  func run<R: Sendable>(_ body: @escaping @Sendable (any MemCacheStore) throws -> R)
    async throws(MemCacheError) -> R
  {
    do {
      return try await store.perform(body)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }
}
