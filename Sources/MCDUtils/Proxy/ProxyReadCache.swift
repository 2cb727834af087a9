import Memcached
import Synchronization

/// The proxy's per-transaction read caches: the original's `MemCacheProxy._cached` (see
/// <doc:ProxyAndReadCache>).
final class ProxyReadCache: Sendable {
  /// How many caches are open: made and not yet ended (nor freed with their transaction).
  private let openCount = Atomic(0)

  /// The cache of `transaction`, made and joined on first use; `nil` without a transaction or
  /// once it no longer accepts data managers.
  func cache(for transaction: Transaction?, create: Bool) -> TransactionReadCache? {
    transaction?.attachment(for: ObjectIdentifier(self)) {
      create ? TransactionReadCache(owner: self) : nil
    }
  }

  fileprivate func opened() {
    openCount.add(1, ordering: .relaxed)
  }

  fileprivate func closed() {
    openCount.subtract(1, ordering: .relaxed)
  }

  /// How many transactions currently hold cached copies.
  var openCacheCount: Int { openCount.load(ordering: .relaxed) }
}

/// The copies one transaction read: items (or misses) and the sessions found (or not found).
final class TransactionReadCache: DataManager {
  /// What is cached for one key (one table, so a key is hashed once per access).
  struct Entry {
    /// `nil` when not cached, `.some(nil)` for a cached miss.
    var item: MemcachedItem?? = nil
    var session: MemCacheSessionDataContainer.Found? = nil
  }

  typealias Contents = [String: Entry]

  private let owner: ProxyReadCache
  private let contents = Mutex(Contents())
  /// Set once the transaction ended: the cache is then empty and no longer used.
  private let isClosed = Atomic(false)

  init(owner: ProxyReadCache) {
    self.owner = owner
    owner.opened()
  }

  deinit {
    // A transaction that was freed without ending never closed its cache.
    if !isClosed.load(ordering: .relaxed) { owner.closed() }
  }

  /// The cached item: `nil` when not cached, `.some(nil)` for a cached miss.
  func item(_ key: String) -> MemcachedItem?? {
    contents.withLock { $0[key]?.item }
  }

  func store(_ item: MemcachedItem?, forKey key: String) {
    contents.withLock { $0[key, default: Entry()].item = .some(item) }
  }

  /// The session lookup cached for `key`.
  func session(_ key: String) -> MemCacheSessionDataContainer.Found? {
    contents.withLock { $0[key]?.session }
  }

  func store(session: MemCacheSessionDataContainer.Found, forKey key: String) {
    contents.withLock { $0[key, default: Entry()].session = session }
  }

  /// Drops the cached copies of `key`: it was written.
  func drop(_ key: String) {
    contents.withLock { $0[key] = nil }
  }

  /// Drops every cached copy: the store was flushed.
  func dropAll() {
    contents.withLock { $0 = Contents() }
  }

  private func end() {
    contents.withLock { $0 = Contents() }
    close()
  }

  /// Marks the cache as no longer used, once.
  func close() {
    if !isClosed.exchange(true, ordering: .relaxed) { owner.closed() }
  }

  // Sorts after the session mappings ("~mcdutils:"), though only the end of the transaction
  // matters to it.
  var sortKey: String { "~~mcdutils-read-cache" }
  func abort(_ transaction: Transaction) throws { end() }
  func tpcBegin(_ transaction: Transaction) throws {}
  /// A read cache writes nothing, so its commit never blocks.
  var commitExecutor: (any CommitExecutor)? { nil }
  func commit(_ transaction: Transaction) throws {}
  func tpcVote(_ transaction: Transaction) throws {}
  func tpcFinish(_ transaction: Transaction) throws { end() }
  func tpcAbort(_ transaction: Transaction) throws { end() }
  func savepoint() throws -> any DataManagerSavepoint { KeepCacheSavepoint() }
}

/// Rolling back to a savepoint keeps the cache: the copies still describe the store, and a
/// write made after the savepoint already dropped its key.
private struct KeepCacheSavepoint: DataManagerSavepoint {
  func rollback() throws {}
}
