import Foundation
import Logging
import Memcached
import Synchronization

/// The client a session container and a service share: the whole memcached API over `Codable`
/// values, with a per-transaction read cache (see <doc:ProxyAndReadCache>).
public final class MemCacheProxy: Sendable {
  /// Where the bytes are kept.
  public let store: any MemCacheStore
  /// The keys every value is sealed with, or `nil` (see ``SealingKeyRing``).
  public let sealing: SealingKeyRing?
  let logger: Logger
  let readCache = ProxyReadCache()
  /// Async commits of one session in this process take turns, so as not to fight over its CAS.
  let commitTurns = KeyedTurnstile()
  /// Roughly how often this process wrote each session: a copy read before the latest write is
  /// stale, and is read again before its write rather than after a failed CAS.
  let sessionWrites = WriteCounts()
  /// Session copies to put back in the background (see `SessionCopies+Repair.swift`).
  let repairs = SessionRepairs()
  /// Whether an item refused by sealing was logged already (as a warning; later ones at debug).
  private let sealingRejected = Atomic(false)

  /// A proxy over any store, such as a `MemcachedPool` or an ``InProcessStore``.
  public init(store: any MemCacheStore, sealing: SealingKeyRing? = nil, logger: Logger = .disabled)
  {
    self.store = store
    self.sealing = sealing
    self.logger = logger
  }

  /// A proxy for the servers of `configuration`; with none, over an ``InProcessStore``.
  /// - Throws: ``MemCacheError/storeFailed(_:)`` when the configuration is invalid.
  public convenience init(
    configuration: MemcachedConfiguration, sealing: SealingKeyRing? = nil,
    logger: Logger = .disabled
  ) throws(MemCacheError) {
    guard !configuration.servers.isEmpty else {
      logger.warning(
        "no memcached servers configured; using an in-process store, nothing persists")
      self.init(
        store: InProcessStore(maximumValueSize: configuration.maximumValueSize),
        sealing: sealing, logger: logger)
      return
    }
    do {
      self.init(
        store: try MemcachedPool(configuration: configuration, logger: logger), sealing: sealing,
        logger: logger)
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// A proxy for the original's `servers` property: one `host:port` line per server.
  /// - Throws: ``MemCacheError/storeFailed(_:)`` for a bad line or an invalid configuration.
  public convenience init(
    servers: String, configure: (inout MemcachedConfiguration) -> Void = { _ in },
    sealing: SealingKeyRing? = nil, logger: Logger = .disabled
  ) throws(MemCacheError) {
    var configuration: MemcachedConfiguration
    do {
      configuration = try MemcachedConfiguration(serverLines: servers)
    } catch {
      throw MemCacheError.wrapping(error)
    }
    configure(&configuration)
    try self.init(configuration: configuration, sealing: sealing, logger: logger)
  }

  /// Whether items outlive this process (false for an ``InProcessStore``).
  public var isPersistent: Bool { store.isPersistent }

  /// Runs a blocking operation on a connection of the store, turning its errors into
  /// ``MemCacheError``.
  func run<R>(_ body: (any MemcachedOperations) throws -> R) throws(MemCacheError) -> R {
    do {
      return try store.withConnection { (connection: any MemcachedOperations) in
        try body(connection)
      }
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// Runs an operation on a connection of the store where async code may block, turning its
  /// errors into ``MemCacheError``.
  func run<R: Sendable>(_ body: @escaping @Sendable (any MemcachedOperations) throws -> R)
    async throws(MemCacheError) -> R
  {
    do {
      return try await store.withConnection { (connection: any MemcachedOperations) in
        try body(connection)
      }
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// Encodes `value` for storage under `key`, sealed and checked against the size limit.
  func encode(_ value: some Encodable, key: String) throws(MemCacheError) -> (
    bytes: [UInt8], flags: UInt32
  ) {
    try checked {
      try ValueFormat.encode(value, sealing: sealing, key: self.store.prefixedKey(key))
    }
  }

  /// Encodes a session record for storage under `key`, as ``encode(_:key:)`` does a value.
  func encode(_ record: SessionRecord, key: String) throws(MemCacheError) -> (
    bytes: [UInt8], flags: UInt32
  ) {
    try checked {
      try ValueFormat.write(sealing: sealing, key: self.store.prefixedKey(key)) {
        writer throws(SessionValueFormatError) in try record.write(to: &writer)
      }
    }
  }

  /// What `encode` made, within the store's size limit.
  private func checked(_ encode: () throws -> (bytes: [UInt8], flags: UInt32))
    throws(MemCacheError) -> (bytes: [UInt8], flags: UInt32)
  {
    let encoded: (bytes: [UInt8], flags: UInt32)
    do {
      encoded = try encode()
    } catch {
      throw MemCacheError.encoding(error)
    }
    guard encoded.bytes.count <= store.maximumValueSize else {
      throw .valueTooLarge(size: encoded.bytes.count, maximum: store.maximumValueSize)
    }
    return encoded
  }

  /// Decodes an item stored under `key` as `type` (opening it when the proxy seals).
  func decode<T: Decodable>(_ item: MemcachedItem, as type: T.Type, key: String)
    throws(MemCacheError) -> T
  {
    do {
      return try ValueFormat.decode(
        type, from: item.value, flags: item.flags, sealing: sealing, key: store.prefixedKey(key))
    } catch {
      throw MemCacheError.wrapping(error)
    }
  }

  /// Logs an item that sealing refused.
  func noteSealingRejection(_ error: SessionValueFormatError) {
    let message: Logger.Message = "an item was refused by sealing and taken as absent"
    if sealingRejected.exchange(true, ordering: .relaxed) {
      logger.debug(message, metadata: ["error": "\(error)"])
    } else {
      logger.warning(message, metadata: ["error": "\(error)"])
    }
  }

  /// Drops the current transaction's copy of `key`, which is being written.
  func dropCached(_ key: String, in transaction: Transaction? = Transaction.current) {
    readCache.cache(for: transaction, create: false)?.drop(key)
  }
}

/// Counts writes per key in 1024 slots; keys that share a slot cost only a needless read.
final class WriteCounts: Sendable {
  private let slots = Mutex([UInt64](repeating: 0, count: 1024))

  /// The count of `key`'s slot.
  func count(_ key: String) -> UInt64 {
    slots.withLock { $0[Self.slot(key)] }
  }

  /// Counts a write of `key`.
  func add(_ key: String) {
    slots.withLock { $0[Self.slot(key)] &+= 1 }
  }

  private static func slot(_ key: String) -> Int {
    key.hashValue & 1023
  }
}

/// Lets tasks take turns per key; a waiter is suspended, not blocking a thread.
final class KeyedTurnstile: Sendable {
  private let waiting = Mutex([String: [CheckedContinuation<Void, Never>]]())

  /// Runs `body` once every earlier holder of `key`'s turn is done.
  func withTurn<R>(
    _ key: String, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> R
  ) async throws -> R {
    await take(key)
    defer { handOver(key) }
    return try await body()
  }

  private func take(_ key: String) async {
    let mustWait = waiting.withLock { waiting -> Bool in
      guard waiting[key] != nil else {
        waiting[key] = []
        return false
      }
      return true
    }
    guard mustWait else { return }
    await withCheckedContinuation { continuation in
      let resumeNow = waiting.withLock { waiting -> Bool in
        // The holder may have left between the two looks: then the turn is free again.
        guard waiting[key] != nil else {
          waiting[key] = []
          return true
        }
        waiting[key]!.append(continuation)
        return false
      }
      if resumeNow { continuation.resume() }
    }
  }

  private func handOver(_ key: String) {
    let next = waiting.withLock { waiting -> CheckedContinuation<Void, Never>? in
      guard var queue = waiting[key], !queue.isEmpty else {
        waiting[key] = nil
        return nil
      }
      let first = queue.removeFirst()
      waiting[key] = queue
      return first
    }
    next?.resume()
  }
}
