import Memcached
import Synchronization

/// The proxy's per-transaction read cache: what one transaction read, dropped when that
/// transaction ends. The original's `MemCacheProxy._cached` with its forced refresh.
///
/// Each open transaction that reads through the proxy gets one ``TransactionReadCache``, which
/// joins the transaction as a data manager so that the transaction's end (commit, abort, or a
/// failed commit) drops it. Copies are never shared between transactions, and without a
/// transaction nothing is cached.
final class ProxyReadCache: Sendable {
  private let caches = Mutex([ObjectIdentifier: TransactionReadCache]())

  /// The cache of `transaction`, made and joined on first use; `nil` when the transaction no
  /// longer accepts data managers (it is committing or has ended), so reads made during a
  /// commit always go to the store.
  func cache(for transaction: Transaction?, create: Bool) -> TransactionReadCache? {
    guard let transaction else { return nil }
    let id = ObjectIdentifier(transaction)
    let (cache, isNew) = caches.withLock { caches -> (TransactionReadCache?, Bool) in
      // A transaction that was never ended and was freed may have left its cache behind, and
      // its identifier may have been reused: the weak reference tells them apart.
      if let cache = caches[id], cache.transaction === transaction { return (cache, false) }
      caches = caches.filter { $0.value.transaction != nil }
      guard create else { return (nil, false) }
      let cache = TransactionReadCache(transaction: transaction, owner: self)
      caches[id] = cache
      return (cache, true)
    }
    guard let cache, isNew else { return cache }
    do {
      try transaction.join(cache)
      return cache
    } catch {
      remove(cache)
      return nil
    }
  }

  /// Forgets `cache`, whose transaction ended.
  func remove(_ cache: TransactionReadCache) {
    caches.withLock { caches in
      if let index = caches.firstIndex(where: { $0.value === cache }) {
        caches.remove(at: index)
      }
    }
  }

  /// How many transactions currently hold cached copies (for the tests).
  var openCacheCount: Int { caches.withLock { $0.count } }
}

/// The copies one transaction read: items (or misses) and the session mappings built from them.
final class TransactionReadCache: DataManager {
  struct Contents {
    /// `.some(nil)` is a cached miss.
    var items: [String: MemcachedItem?] = [:]
    var sessions: [String: MemCacheMapping] = [:]
  }

  weak let transaction: Transaction?
  private let owner: ProxyReadCache
  private let contents = Mutex(Contents())

  init(transaction: Transaction, owner: ProxyReadCache) {
    self.transaction = transaction
    self.owner = owner
  }

  /// The cached item: `nil` when not cached, `.some(nil)` for a cached miss.
  func item(_ key: String) -> MemcachedItem?? {
    contents.withLock { $0.items[key] }
  }

  func store(_ item: MemcachedItem?, forKey key: String) {
    contents.withLock { $0.items[key] = .some(item) }
  }

  func session(_ key: String) -> MemCacheMapping? {
    contents.withLock { $0.sessions[key] }
  }

  func store(session: MemCacheMapping, forKey key: String) {
    contents.withLock { $0.sessions[key] = session }
  }

  /// Drops the cached copies of `key`: it was written.
  func drop(_ key: String) {
    contents.withLock {
      $0.items[key] = nil
      $0.sessions[key] = nil
    }
  }

  /// Drops every cached copy: the store was flushed.
  func dropAll() {
    contents.withLock { $0 = Contents() }
  }

  private func end() {
    contents.withLock { $0 = Contents() }
    owner.remove(self)
  }

  // Sorts after the session mappings ("~mcdutils:"), though only the end of the transaction
  // matters to it.
  var sortKey: String { "~~mcdutils-read-cache" }
  func abort(_ transaction: Transaction) throws { end() }
  func tpcBegin(_ transaction: Transaction) throws {}
  /// A read cache writes nothing, so its commit never blocks.
  var commitMayBlock: Bool { false }
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
