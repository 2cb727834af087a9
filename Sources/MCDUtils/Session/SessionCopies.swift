import Logging
import Memcached

/// The copies of one session item in the store: where they live, what reading them found, and
/// how a write reaches them all (see <doc:WhenMemcachedFails>).
struct SessionCopies {
  /// What one copy held when it was read.
  enum Copy {
    case missing
    case present(cas: UInt64, record: Result<SessionRecord, MemCacheError>)
    case unreachable
  }

  let key: String
  /// The nodes holding copies, primary first; `nil` when the store keeps one copy.
  let nodes: [Int]?
  private(set) var copies: [Copy]
  /// The proxy the copies were read through, which repairs them; `nil` for copies made up.
  var proxy: MemCacheProxy?
  /// The session lifetime the reader gave: how long a repaired copy of a record without a
  /// deadline of its own lives after its last access.
  var lifetime: Duration = .zero

  /// The newest readable record, and the index of its copy.
  var newest: (record: SessionRecord, index: Int)? {
    var best: (record: SessionRecord, index: Int)?
    for (index, copy) in copies.enumerated() {
      guard case .present(_, .success(let record)) = copy else { continue }
      if best == nil || record.isNewer(than: best!.record) { best = (record, index) }
    }
    return best
  }

  /// The newest record, or, when no copy is readable, the error of the first unreadable one
  /// that sealing did not refuse.
  ///
  /// - Throws: ``MemCacheError/undecodable(_:)`` or ``MemCacheError/notASession(reason:)``.
  func newestRecord() throws(MemCacheError) -> SessionRecord? {
    if let newest { return newest.record }
    for case .present(_, .failure(let error)) in copies {
      if case .undecodable(let format) = error, format.isSealingRejection { continue }
      throw error
    }
    return nil
  }

  /// Copies that say nothing yet: every node missing, for a session this request creates.
  static func empty(_ key: String, nodes: [Int]?) -> SessionCopies {
    SessionCopies(
      key: key, nodes: nodes, copies: Array(repeating: .missing, count: nodes?.count ?? 1),
      proxy: nil)
  }

  // MARK: Reading

  /// Reads the copies of `key`: every copy when `everyCopy` is set or while a node holding one
  /// came back less than `window` ago, else the primary alone if it holds the session.
  ///
  /// A read that is not `everyCopy` (a lookup) and finds the newest copy missing or older on a
  /// live node has it repaired in the background (<doc:WhenMemcachedFails>).
  ///
  /// - Throws: ``MemCacheError/unavailable(_:)`` when no copy could be reached, or what the
  ///   store throws for a bad key.
  static func read(
    _ key: String, on connection: any MemcachedOperations, proxy: MemCacheProxy,
    window: Duration, everyCopy: Bool = false
  ) throws(MemCacheError) -> SessionCopies {
    let replicas = proxy.store.replicas
    guard replicas > 0 else {
      let item: MemcachedItem?
      do {
        item = try connection.get(key)
      } catch {
        throw MemCacheError.wrapping(error)
      }
      return SessionCopies(
        key: key, nodes: nil, copies: [copy(item, key, proxy)], proxy: proxy, lifetime: window)
    }
    let nodes: [Int]
    do {
      nodes = try connection.nodes(forKey: key, replicas: replicas)
    } catch {
      throw MemCacheError.wrapping(error)
    }
    var result = SessionCopies(
      key: key, nodes: nodes, copies: Array(repeating: .unreachable, count: nodes.count),
      proxy: proxy, lifetime: window)
    var lastError: MemcachedError?
    var first = 0
    if !everyCopy {
      proxy.repairs.resumeIfDue(proxy, on: connection)
      // A node that came back may lack copies (restarted) or hold old ones (frozen): while
      // that is recent, every copy is read, the newest wins, and the others are repaired.
      let now = ContinuousClock.now
      let recentlyBack = nodes.contains { node in
        connection.nodeStatus(node).lastRecovery.map { now - $0 < window } ?? false
      }
      if !recentlyBack && !connection.nodeStatus(nodes[0]).isDown {
        result.copies[0] = try readCopy(key, nodes[0], on: connection, proxy, &lastError)
        if case .present(_, .success) = result.copies[0] { return result }
        first = 1
      }
    }
    for index in first..<nodes.count {
      result.copies[index] = try readCopy(key, nodes[index], on: connection, proxy, &lastError)
    }
    if let lastError,
      result.copies.allSatisfy({ if case .unreachable = $0 { true } else { false } })
    {
      throw .unavailable(lastError)
    }
    if !everyCopy && result.needsRepair { proxy.repairs.repairInBackground(result) }
    return result
  }

  private static func readCopy(
    _ key: String, _ node: Int, on connection: any MemcachedOperations, _ proxy: MemCacheProxy,
    _ lastError: inout MemcachedError?
  ) throws(MemCacheError) -> Copy {
    guard !connection.nodeStatus(node).isDown else { return .unreachable }
    do {
      return copy(try connection.onNode(node) { try $0.get(key) }, key, proxy)
    } catch let error as MemcachedError where error.isUnavailable {
      lastError = error
      return .unreachable
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  private static func copy(_ item: MemcachedItem?, _ key: String, _ proxy: MemCacheProxy) -> Copy {
    guard let item else { return .missing }
    let record = Result { () throws(MemCacheError) -> SessionRecord in
      try SessionRecord(item: item, key: key, proxy: proxy)
    }
    if case .failure(.undecodable(let format)) = record, format.isSealingRejection {
      proxy.noteSealingRejection(format)
    }
    return .present(cas: item.cas, record: record)
  }

  // MARK: Writing

  /// What a write found at the first reachable copy.
  enum Written {
    /// Every reachable copy holds the record now.
    case stored
    /// The first reachable copy changed since it was read: read again and decide.
    case conflict
  }

  /// Writes `bytes` to every reachable copy: to the first only if it still holds what was read.
  ///
  /// - Throws: ``MemCacheError/unavailable(_:)`` when no copy could be written, or what the
  ///   store throws otherwise.
  func write(
    _ bytes: [UInt8], flags: UInt32, expiration: MemcachedExpiration,
    on connection: any MemcachedOperations, logger: Logger
  ) throws(MemCacheError) -> Written {
    do {
      guard let nodes else {
        return try writeFirst(copies[0], bytes, flags, expiration, on: connection)
      }
      var lastError: MemcachedError?
      for (index, node) in nodes.enumerated() {
        if case .unreachable = copies[index] { continue }
        if connection.nodeStatus(node).isDown { continue }
        let written: Written
        do {
          written = try connection.onNode(node) {
            try writeFirst(copies[index], bytes, flags, expiration, on: $0)
          }
        } catch let error as MemcachedError where error.isUnavailable {
          lastError = error
          continue
        }
        guard case .stored = written else { return written }
        // Every other copy, those skipped above included: a node that is down is tried once
        // its retryTimeout passed, and fails at once before.
        for (other, otherNode) in nodes.enumerated() where other != index {
          do {
            try connection.onNode(otherNode) {
              try $0.set(key, value: bytes, flags: flags, expiration: expiration)
            }
          } catch {
            // One copy fewer, said so: the node, if it is down, is known to be down now, and
            // the copy is put back when it answers again.
            proxy?.repairs.skipped(key, node: otherNode, lifetime: lifetime)
            logger.debug(
              "a session copy was not written",
              metadata: ["memcached.node": "\(otherNode)", "error": "\(error)"])
          }
        }
        if let proxy { proxy.repairs.resumeIfDue(proxy, on: connection) }
        return .stored
      }
      throw lastError.map(MemCacheError.unavailable) ?? .unavailable(Self.noCopy)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  private func writeFirst<Connection: MemcachedOperations>(
    _ copy: Copy, _ bytes: [UInt8], _ flags: UInt32, _ expiration: MemcachedExpiration,
    on connection: Connection
  ) throws -> Written {
    switch copy {
    case .present(let cas, _):
      let result = try connection.cas(
        key, value: bytes, cas: cas, flags: flags, expiration: expiration)
      return result == .stored ? .stored : .conflict
    case .missing, .unreachable:
      let added = try connection.add(key, value: bytes, flags: flags, expiration: expiration)
      return added ? .stored : .conflict
    }
  }

  private static let noCopy = MemcachedError(
    returnCode: .noServers, message: "every node holding a copy of the session is down",
    operation: "write session")
}
