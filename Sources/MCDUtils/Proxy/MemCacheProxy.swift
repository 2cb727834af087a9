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

/// Lets the writers of one key in this process take turns, first come first served: a waiting
/// task is suspended, a waiting thread blocked. The turns only spare writers conflicts they
/// would have among themselves; compare-and-swap keeps the writes right without them.
final class KeyedTurnstile: Sendable {
  /// How long a thread waits for a turn before it writes without one. A thread of Swift's
  /// cooperative pool that calls the blocking API may wait behind a task that needs such a
  /// thread to hand its turn over: the wait ends, so that this is a delay, not a deadlock.
  static let patience = DispatchTimeInterval.seconds(5)

  /// A waiting task or thread, known by its identity.
  private final class Waiter: Sendable {
    enum Wake {
      case task(CheckedContinuation<Void, Never>)
      case thread(DispatchSemaphore)
    }
    let wake: Wake

    init(_ wake: Wake) { self.wake = wake }

    func resume() {
      switch wake {
      case .task(let continuation): continuation.resume()
      case .thread(let semaphore): semaphore.signal()
      }
    }
  }

  /// The keys whose turn is held, each with its waiters in order.
  private let waiting = Mutex(Turns())

  /// The held turns: one in a slot of its own, which costs no hashing (a process mostly commits
  /// one session at a time), the others by key.
  private struct Turns: ~Copyable {
    var soleKey: String?
    var soleWaiters: [Waiter] = []
    var others: [String: [Waiter]] = [:]

    /// Takes `key`'s turn if it is free (`true`), else queues `waiter()` (`false`).
    mutating func take(_ key: String, _ waiter: () -> Waiter?) -> Bool {
      if let soleKey {
        if soleKey == key {
          if let made = waiter() { soleWaiters.append(made) }
          return false
        }
      } else if others.isEmpty || others[key] == nil {
        soleKey = key
        return true
      }
      // One hash of the key when its turn is free; a second when it is held.
      guard var queue = others.updateValue([], forKey: key) else { return true }
      if let made = waiter() { queue.append(made) }
      others[key] = queue
      return false
    }

    /// Removes `waiter` from `key`'s queue; `false` when it was not there (it was handed the
    /// turn).
    mutating func remove(_ waiter: Waiter, of key: String) -> Bool {
      if soleKey == key {
        guard let index = soleWaiters.firstIndex(where: { $0 === waiter }) else { return false }
        soleWaiters.remove(at: index)
        return true
      }
      guard let index = others[key]?.firstIndex(where: { $0 === waiter }) else { return false }
      others[key]!.remove(at: index)
      return true
    }

    /// Gives `key`'s turn to its first waiter, returned, or frees it.
    mutating func handOver(_ key: String) -> Waiter? {
      if soleKey == key {
        guard !soleWaiters.isEmpty else {
          soleKey = nil
          return nil
        }
        return soleWaiters.removeFirst()
      }
      guard var queue = others.removeValue(forKey: key), !queue.isEmpty else { return nil }
      let first = queue.removeFirst()
      others[key] = queue
      return first
    }
  }

  /// Runs `body` once every earlier holder of `key`'s turn is done, suspended meanwhile.
  /// Blocking code that `body` runs on another thread holds the turn through ``lending(_:_:)``.
  ///
  /// - Throws: what `body` throws.
  func withTurn<R, E: Error>(
    _ key: String, isolation: isolated (any Actor)? = #isolation,
    _ body: () async throws(E) -> R
  ) async throws(E) -> R {
    await take(key)
    defer { handOver(key) }
    return try await body()
  }

  /// Runs blocking `body` once every earlier holder of `key`'s turn is done, blocking this
  /// thread meanwhile (at most ``patience``); at once on a thread the turn is lent to.
  ///
  /// - Throws: what `body` throws.
  func withTurn<R, E: Error>(_ key: String, _ body: () throws(E) -> R) throws(E) -> R {
    if HeldTurns.current.contains(HeldTurn(self, key)) { return try body() }
    guard takeBlocking(key) else { return try body() }
    defer { handOver(key) }
    return try lending(key, body)
  }

  /// Runs blocking `body` on this thread in `key`'s turn, which the caller holds: the turns of
  /// `key` that `body` asks for are had at once.
  ///
  /// - Throws: what `body` throws.
  func lending<R, E: Error>(_ key: String, _ body: () throws(E) -> R) throws(E) -> R {
    let held = HeldTurns.current
    let turn = HeldTurn(self, key)
    let lent = held.insert(turn)
    defer { if lent { held.remove(turn) } }
    return try body()
  }

  /// Takes the turn at once if it is free; else queues `waiter()` and returns it.
  private func enqueue(_ key: String, _ waiter: () -> Waiter) -> Waiter? {
    waiting.withLock { turns -> Waiter? in
      var made: Waiter?
      return turns.take(key) {
        made = waiter()
        return made
      } ? nil : made
    }
  }

  private func take(_ key: String) async {
    let mustWait = waiting.withLock { turns in !turns.take(key) { nil } }
    guard mustWait else { return }
    await withCheckedContinuation { continuation in
      // The holder may have left between the two looks: then the turn is free again.
      if enqueue(key, { Waiter(.task(continuation)) }) == nil { continuation.resume() }
    }
  }

  /// Takes the turn, blocking; `false` when ``patience`` ran out first.
  private func takeBlocking(_ key: String) -> Bool {
    // The semaphore is made only when the turn is held: a free turn costs no allocation.
    var made: DispatchSemaphore?
    let queued = enqueue(key) {
      let semaphore = DispatchSemaphore(value: 0)
      made = semaphore
      return Waiter(.thread(semaphore))
    }
    guard let waiter = queued, let semaphore = made else { return true }
    if semaphore.wait(timeout: .now() + Self.patience) == .success { return true }
    let gaveUp = waiting.withLock { turns in turns.remove(waiter, of: key) }
    guard gaveUp else {
      // Handed the turn as the wait ran out: the signal is on its way.
      semaphore.wait()
      return true
    }
    return false
  }

  private func handOver(_ key: String) {
    let next = waiting.withLock { turns in turns.handOver(key) }
    next?.resume()
  }
}

/// A turn of one key of one turnstile.
private struct HeldTurn: Hashable {
  let turnstile: ObjectIdentifier
  let key: String

  init(_ turnstile: KeyedTurnstile, _ key: String) {
    self.turnstile = ObjectIdentifier(turnstile)
    self.key = key
  }
}

/// The turns lent to the current thread.
private final class HeldTurns {
  /// A list rather than a set: a thread holds one turn or two, and comparing them costs less
  /// than hashing a key.
  private var turns: [HeldTurn] = []

  /// The current thread's, made on first use. Kept in a pthread key rather than Foundation's
  /// `threadDictionary`, which costs microseconds on every session write.
  static var current: HeldTurns {
    if let raw = pthread_getspecific(threadKey) {
      return Unmanaged<HeldTurns>.fromOpaque(raw).takeUnretainedValue()
    }
    let held = HeldTurns()
    pthread_setspecific(threadKey, Unmanaged.passRetained(held).toOpaque())
    return held
  }

  /// The key of each thread's turns; the thread's reference is released when it exits.
  private static let threadKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { raw in
      guard let raw else { return }
      Unmanaged<HeldTurns>.fromOpaque(raw).release()
    }
    return key
  }()

  func contains(_ turn: HeldTurn) -> Bool { turns.contains(turn) }

  /// Adds `turn`; `false` when it was held already.
  func insert(_ turn: HeldTurn) -> Bool {
    guard !turns.contains(turn) else { return false }
    turns.append(turn)
    return true
  }

  func remove(_ turn: HeldTurn) {
    if let index = turns.lastIndex(of: turn) { turns.remove(at: index) }
  }
}
