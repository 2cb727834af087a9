import Logging
import Memcached

/// The cache manager services configure, which hands out the page cache with ``cache()``
/// (see <doc:PageCache>).
public struct MemCacheZCacheManager: Sendable {
  /// The manager's id (Zope's object id).
  public var id: String
  /// A human-readable title.
  public var title: String
  /// Where entries are stored; `nil` until configured, when ``cache()`` throws.
  public var store: (any MemCacheStore)?
  /// How long entries stay fresh unless a `set` says otherwise; `nil` for no limit.
  public var defaultMaxAge: Duration?
  /// Stale copies, leases and compression.
  public var tuning: MemCacheZCache.Tuning
  /// The keys entries are sealed with, or `nil` (see ``SealingKeyRing``).
  public var sealing: SealingKeyRing?
  /// Receives store failures and unreadable entries.
  public var logger: Logger
  private var sortedRequestNames: [String]
  private let shared: MemCacheZCacheSharedState

  /// The request values that vary cache keys, always sorted by code point.
  public var requestNames: [String] {
    get { sortedRequestNames }
    set { sortedRequestNames = newValue.sorted(by: codePointOrder) }
  }

  /// A manager; it needs a store before it can hand out a cache.
  public init(
    id: String = "", title: String = "", store: (any MemCacheStore)? = nil,
    requestNames: [String] = [], defaultMaxAge: Duration? = .seconds(3600),
    tuning: MemCacheZCache.Tuning = MemCacheZCache.Tuning(), sealing: SealingKeyRing? = nil,
    logger: Logger = .disabled
  ) {
    self.id = id
    self.title = title
    self.shared = MemCacheZCacheSharedState(name: id.isEmpty ? title : id)
    self.store = store
    self.defaultMaxAge = defaultMaxAge
    self.tuning = tuning
    self.sealing = sealing
    self.logger = logger
    self.sortedRequestNames = requestNames.sorted(by: codePointOrder)
  }

  /// A manager over a proxy's store, sealing entries as the proxy seals its values.
  public init(
    id: String = "", title: String = "", proxy: MemCacheProxy?, requestNames: [String] = [],
    defaultMaxAge: Duration? = .seconds(3600),
    tuning: MemCacheZCache.Tuning = MemCacheZCache.Tuning(),
    logger: Logger = .disabled
  ) {
    self.init(
      id: id, title: title, store: proxy?.store, requestNames: requestNames,
      defaultMaxAge: defaultMaxAge, tuning: tuning, sealing: proxy?.sealing, logger: logger)
  }

  /// The cache over the manager's store (the original's `ZCacheManager_getCache`).
  /// - Throws: ``MemCacheError/noProxy`` when the manager has no store.
  public func cache() throws(MemCacheError) -> MemCacheZCache {
    guard let store else { throw .noProxy }
    return MemCacheZCache(
      store: store, requestNames: sortedRequestNames, defaultMaxAge: defaultMaxAge,
      tuning: tuning, sealing: sealing, logger: logger, shared: shared)
  }

  /// Hits, misses, stale hits, sets and invalidations of every cache this manager made.
  public var statistics: MemCacheZCacheStatistics {
    shared.statistics.withLock { $0 }
  }
}
