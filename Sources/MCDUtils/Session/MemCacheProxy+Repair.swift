import Foundation
import Memcached

/// What a repair of session copies found and did: see ``MemCacheProxy/repairSessions(node:listingTimeout:progress:)``.
public struct SessionRepairSummary: Sendable, Equatable, CustomStringConvertible {
  /// The items the nodes listed, over every node listed (a key with two copies counts twice).
  public var itemsListed = 0
  /// The distinct keys that hold a session (live or ended) on at least one node.
  public var sessions = 0
  /// Copies written back: missing, or older than the newest, on a node that answered.
  public var copiesWritten = 0
  /// Copies not written because their node could not be reached: run the repair again once it
  /// answers. (A copy that a newer write reached first is left alone and counted nowhere.)
  public var copiesSkipped = 0
  /// Sessions that could not be read, and copies that could not be written for another reason
  /// than an unreachable node (each is logged).
  public var errors = 0

  /// Creates an empty summary.
  public init() {}

  /// `sessions N, copies written N, skipped N, errors N, items listed N`.
  public var description: String {
    "sessions \(sessions), copies written \(copiesWritten), skipped \(copiesSkipped), "
      + "errors \(errors), items listed \(itemsListed)"
  }
}

/// What one node holds: see ``MemCacheProxy/sessionCount(onNode:listingTimeout:)``.
public struct SessionNodeCount: Sendable, Equatable {
  /// The items the node listed.
  public var items = 0
  /// Those of them that hold a live session (neither ended nor past their deadline).
  public var sessions = 0
}

extension MemCacheProxy {
  /// Puts back every missing or stale copy of every session: on `node` alone when it is given
  /// (a node that came back empty), else on every node.
  ///
  /// The sessions are found in memcached's own key listings (see
  /// `MemcachedServer/forEachItem(timeout:_:)`): of every other node when `node` is given, of every
  /// node otherwise. Each session is then read on every node that should hold a copy, and the
  /// newest copy is written where one is missing or older, with the lifetime the listing gives
  /// it, by the same conditional writes as every session write: a copy that a request writes
  /// meanwhile is never overwritten by an older one. It is safe while the service runs and safe
  /// to run twice. Items that are not sessions (the page cache, other applications' keys, items
  /// without the store's key prefix) are left alone.
  ///
  /// - Parameters:
  ///   - node: The server that came back; it must be one of the store's servers.
  ///   - listingTimeout: How long each key listing may wait for its node.
  ///   - progress: Called after every 1,000 items listed, with the summary so far.
  /// - Returns: What was found and written.
  /// - Throws: ``MemCacheError/storeFailed(_:)`` when the store has no servers (an
  ///   ``InProcessStore``) or `node` is not one of them, or a node's listing fails (a node that
  ///   requires SASL has none: `MemcachedReturnCode.notSupported`).
  public func repairSessions(
    node: MemcachedServer? = nil, listingTimeout: Duration = .seconds(30),
    progress: (SessionRepairSummary) -> Void = { _ in }
  ) throws(MemCacheError) -> SessionRepairSummary {
    let servers = try listedServers()
    let target = try node.map { node throws(MemCacheError) in try index(of: node, in: servers) }
    var summary = SessionRepairSummary()
    var seen = Set<String>()
    for (listed, server) in servers.enumerated() where listed != target || servers.count == 1 {
      try forEachItem(on: server, timeout: listingTimeout) { key, expires in
        summary.itemsListed += 1
        if summary.itemsListed % 1_000 == 0 { progress(summary) }
        guard seen.insert(key).inserted else { return }
        repairSession(key, expires: expires, onlyOn: target, into: &summary)
      }
    }
    return summary
  }

  /// How many items and live sessions `node` holds, read from its key listing and its items.
  ///
  /// - Throws: ``MemCacheError/storeFailed(_:)`` as ``repairSessions(node:listingTimeout:progress:)``.
  public func sessionCount(onNode node: MemcachedServer, listingTimeout: Duration = .seconds(30))
    throws(MemCacheError) -> SessionNodeCount
  {
    let servers = try listedServers()
    let target = try index(of: node, in: servers)
    var count = SessionNodeCount()
    let now = Date()
    try forEachItem(on: node, timeout: listingTimeout) { key, _ in
      count.items += 1
      let item = try? run { connection in try connection.onNode(target) { try $0.get(key) } }
      guard let item, let record = try? SessionRecord(item: item, key: key, proxy: self) else {
        return
      }
      if !record.isEnded && !record.hasExpired(at: now) { count.sessions += 1 }
    }
    return count
  }

  /// Reads one session's copies everywhere and writes the newest where it is missing or older.
  private func repairSession(
    _ key: String, expires: Date?, onlyOn target: Int?, into summary: inout SessionRepairSummary
  ) {
    let expiration: MemcachedExpiration
    if let expires {
      guard expires.timeIntervalSinceNow >= 1 else { return }
      expiration = .at(expires)
    } else {
      expiration = .never
    }
    do {
      try run { connection in
        if let target, try !connection.nodes(forKey: key, replicas: store.replicas).contains(target)
        {
          return
        }
        let (copies, repair) = try SessionCopies.repairEveryCopy(
          key, on: connection, proxy: self, lifetime: .zero, expiration: expiration)
        guard copies.newest != nil else { return }
        summary.sessions += 1
        summary.copiesWritten += repair.written
        summary.copiesSkipped += repair.unreachableNodes.count
        summary.errors += repair.failed - repair.unreachableNodes.count
      }
    } catch {
      summary.errors += 1
      logger.warning(
        "could not repair a session's copies", metadata: ["error": "\(error)"])
    }
  }

  private func listedServers() throws(MemCacheError) -> [MemcachedServer] {
    guard let pool = store as? MemcachedPool, !pool.configuration.servers.isEmpty else {
      throw .storeFailed(
        MemcachedError(
          returnCode: .notSupported, message: "the store has no memcached servers to list",
          operation: "repairSessions"))
    }
    return pool.configuration.servers
  }

  private func index(of node: MemcachedServer, in servers: [MemcachedServer])
    throws(MemCacheError) -> Int
  {
    guard let index = servers.firstIndex(where: { $0.address == node.address }) else {
      throw .storeFailed(
        MemcachedError(
          returnCode: .invalidArguments,
          message: "\(node) is not one of the store's servers ("
            + servers.map(\.description).joined(separator: ",") + ")",
          operation: "repairSessions"))
    }
    return index
  }

  /// Calls `body` with every key of the store's (its prefix removed) that `server` lists, and
  /// when it expires (`nil`: never).
  private func forEachItem(
    on server: MemcachedServer, timeout: Duration, _ body: (String, Date?) -> Void
  ) throws(MemCacheError) {
    let prefix = store.keyPrefix
    do {
      try server.forEachItem(timeout: timeout) { item in
        guard item.key.hasPrefix(prefix) else { return }
        body(String(item.key.dropFirst(prefix.count)), item.expires)
      }
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }
}
