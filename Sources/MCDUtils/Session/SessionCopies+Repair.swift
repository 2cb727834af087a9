import Foundation
import Memcached

/// What one repair of a session's copies did.
package struct SessionRepairCounts: Sendable, Equatable {
  /// Copies written back: each was missing or older than the newest, and still so.
  package var written = 0
  /// Copies left alone: another write changed them first, they could not be read, or the
  /// session's lifetime is over.
  package var skipped = 0
  /// Copies whose write failed.
  package var failed = 0
  /// The nodes of the failed writes that could not be reached, to try again when they answer.
  package var unreachableNodes: [Int] = []

  /// No copy written, skipped or failed yet.
  package init() {}

  /// Adds the counts of another repair.
  package static func += (total: inout SessionRepairCounts, more: SessionRepairCounts) {
    total.written += more.written
    total.skipped += more.skipped
    total.failed += more.failed
    total.unreachableNodes += more.unreachableNodes
  }
}

// Putting a session's newest copy back where it is missing or older: the one primitive that
// write repair, read repair and an operator's repair all call (<doc:WhenMemcachedFails>).
extension SessionCopies {
  /// Reads every copy of the session stored under `key`, then repairs them (see
  /// ``repair(on:now:expiration:)``).
  ///
  /// - Throws: ``MemCacheError/unavailable(_:)`` when no copy could be reached, or what the
  ///   store throws for a bad key.
  static func repairEveryCopy(
    _ key: String, on connection: any MemcachedOperations, proxy: MemCacheProxy,
    lifetime: Duration, expiration: MemcachedExpiration? = nil
  ) throws(MemCacheError) -> (copies: SessionCopies, counts: SessionRepairCounts) {
    let copies = try read(key, on: connection, proxy: proxy, window: lifetime, everyCopy: true)
    return (copies, copies.repair(on: connection, expiration: expiration))
  }

  /// Whether a copy on a node that answered is missing or older than the newest.
  var needsRepair: Bool {
    guard nodes != nil, let newest else { return false }
    for (index, copy) in copies.enumerated() where index != newest.index {
      switch copy {
      case .missing: return true
      case .present(_, .success(let record)) where newest.record.isNewer(than: record):
        return true
      default: continue
      }
    }
    return false
  }

  /// Writes the newest copy to the nodes where it is missing or older, never over a newer one:
  /// with `add` where the read found nothing (or could not reach the node), and with `cas` on
  /// what the read found where it found an older copy, so that a write since the read wins.
  ///
  /// A copy that cannot be read is left alone; so is every copy once the session's lifetime
  /// is over (a repair never makes a session live longer). `expiration`, when given, is what
  /// memcached is told instead: the lifetime a node's key listing gives the surviving copy.
  func repair(
    on connection: any MemcachedOperations, now: Date = Date(),
    expiration given: MemcachedExpiration? = nil
  ) -> SessionRepairCounts {
    var counts = SessionRepairCounts()
    guard let nodes, let proxy, let newest else { return counts }
    var targets: [Int] = []
    for (index, copy) in copies.enumerated() where index != newest.index {
      switch copy {
      case .missing, .unreachable:
        targets.append(index)
      case .present(_, .success(let record)):
        if newest.record.isNewer(than: record) { targets.append(index) }
      case .present(_, .failure):
        counts.skipped += 1
      }
    }
    guard !targets.isEmpty else { return counts }
    guard let expiration = given ?? repairExpiration(of: newest.record, now: now) else {
      counts.skipped += targets.count
      return counts
    }
    let bytes: [UInt8]
    let flags: UInt32
    do {
      (bytes, flags) = try proxy.encode(newest.record, key: key)
    } catch {
      proxy.logger.debug("a session copy could not be repaired", metadata: ["error": "\(error)"])
      counts.failed += targets.count
      return counts
    }
    for index in targets {
      do {
        let stored = try connection.onNode(nodes[index]) { node -> Bool in
          switch copies[index] {
          case .present(let cas, _):
            try node.cas(key, value: bytes, cas: cas, flags: flags, expiration: expiration)
              == .stored
          case .missing, .unreachable:
            try node.add(key, value: bytes, flags: flags, expiration: expiration)
          }
        }
        if stored { counts.written += 1 } else { counts.skipped += 1 }
      } catch {
        counts.failed += 1
        if let error = error as? MemcachedError, error.isUnavailable {
          counts.unreachableNodes.append(nodes[index])
        }
        proxy.logger.debug(
          "a session copy could not be repaired",
          metadata: ["memcached.node": "\(nodes[index])", "error": "\(error)"])
      }
    }
    return counts
  }

  /// What memcached is told for a repaired copy: the time left until the record's deadline, or
  /// until its last access plus ``lifetime``; `nil` when that has passed.
  private func repairExpiration(of record: SessionRecord, now: Date) -> MemcachedExpiration? {
    // A tombstone keeps no access time: it lives a lifetime from now, as when it was written.
    if record.isEnded && record.expires == nil { return .after(lifetime) }
    let deadline = record.expires ?? record.accessed.addingTimeInterval(lifetime.seconds)
    let left = deadline.timeIntervalSince(now)
    guard left > 0 else { return nil }
    return .after(Duration(saturatingSeconds: left))
  }
}

extension MemCacheProxy {
  /// Puts the newest copy of the session stored under `key` (its storage key: the browser id
  /// or its keyed hash) back on the nodes where it is missing or older, never over a newer
  /// one: what an operator's repair runs for each session. A copy without a deadline of its own
  /// lives `lifetime` after the session's last access.
  ///
  /// - Throws: ``MemCacheError/unavailable(_:)`` when no copy could be reached, or what the
  ///   store throws for a bad key.
  package func repairSession(storedAt key: String, lifetime: Duration) throws(MemCacheError)
    -> SessionRepairCounts
  {
    try run { connection in
      try SessionCopies.repairEveryCopy(key, on: connection, proxy: self, lifetime: lifetime)
        .counts
    }
  }
}
