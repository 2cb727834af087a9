internal import CLibMemcached
import Foundation
import Logging

/// A memcached client: one libmemcached handle (`memcached_st`) with a connection to each
/// configured server. Not thread-safe: share connections with ``MemcachedPool``.
public final class MemcachedClient: MemcachedOperations {
  /// The configuration the client was made with.
  public let configuration: MemcachedConfiguration
  let logger: Logger
  let memc: UnsafeMutablePointer<memcached_st>
  let result: UnsafeMutablePointer<memcached_result_st>
  let prefixLength: Int
  /// Which nodes are down, shared by every client of the pool.
  let health: NodeHealth
  let metrics: MemcachedMetrics
  /// One single-server client per server, for `ping`, `stats` and `version`; made on first use.
  var serverProbes: [MemcachedClient]?
  var probeIsWarm = false
  /// The node every operation goes to while ``onNode(_:_:)`` runs.
  var pinnedNode: Int?
  /// For each node, a group key that libmemcached's hash sends to that node, made on first use.
  var groupKeys: [[CChar]]?
  /// For each node, "#" and its description: what its rendezvous weight hashes after the key.
  var rankingSuffixes: [[CChar]]?
  /// The down node the current call is trying once its `retryTimeout` passed (see `route`).
  var trialNode: Int?
  /// How many calls succeeded after reopening a broken connection: how restarts are noticed.
  var reconnections = 0

  /// Creates a client that logs server failures to `logger`; it connects on first use.
  /// - Throws: ``MemcachedError`` when the configuration is invalid or libmemcached refuses it.
  public convenience init(configuration: MemcachedConfiguration, logger: Logger = .disabled)
    throws
  {
    try self.init(
      configuration: configuration, logger: logger,
      health: NodeHealth(configuration: configuration, logger: logger),
      metrics: MemcachedMetrics())
  }

  init(
    configuration: MemcachedConfiguration, logger: Logger, health: NodeHealth,
    metrics: MemcachedMetrics
  ) throws {
    try configuration.validate()
    guard let memc = memcached_create(nil) else {
      throw MemcachedError(
        returnCode: .memoryAllocationFailure, message: "memcached_create failed",
        operation: "configure")
    }
    do {
      try configuration.apply(to: memc)
    } catch {
      memcached_free(memc)
      throw error
    }
    // The result lives in memory of our own: libmemcached frees a result it allocated itself
    // when a fetch reaches the end, which would leave us a dangling pointer.
    let result = UnsafeMutablePointer<memcached_result_st>.allocate(capacity: 1)
    guard memcached_result_create(memc, result) != nil else {
      result.deallocate()
      memcached_free(memc)
      throw MemcachedError(
        returnCode: .memoryAllocationFailure, message: "memcached_result_create failed",
        operation: "configure")
    }
    self.configuration = configuration
    self.logger = logger
    self.memc = memc
    self.result = result
    self.prefixLength = configuration.keyPrefix.utf8.count
    self.health = health
    self.metrics = metrics
  }

  deinit {
    memcached_result_free(result)
    result.deallocate()
    memcached_free(memc)
  }

  // MARK: - Reads

  /// Reads one item; `nil` on a miss.
  /// The corresponding C function is `memcached_get_by_key`.
  /// - Throws: ``MemcachedError`` for a bad key or a failed server.
  public func get(_ key: String) throws -> MemcachedItem? {
    try call(.get, key, read: true) { group, groupLength, key, keyLength in
      // memcached_get sends one non-quiet GETK; an mget of one key sends GETKQ and NOOP, and
      // reading the second answer costs a third more CPU and wall time per call.
      var length = 0
      var flags: UInt32 = 0
      var rc = MEMCACHED_SUCCESS
      let value = memcached_get_by_key(
        memc, group, groupLength, key, keyLength, &length, &flags, &rc)
      defer { free(value) }
      if rc == MEMCACHED_NOTFOUND {
        metrics.misses.increment()
        return nil
      }
      guard memcached_success(rc) else { throw failure(rc) }
      metrics.hits.increment()
      let bytes =
        value.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
      // memcached_get leaves the item's CAS value in the handle's own result (a public field of
      // memcached_st), where memcached_fetch_result put it.
      let cas = withUnsafeMutablePointer(to: &memc.pointee.result) { memcached_result_cas($0) }
      return MemcachedItem(value: bytes, flags: flags, cas: cas)
    }
  }

  /// Reads many items with one request per server; returns the hits, by key.
  /// The corresponding C functions are `memcached_mget_by_key` and `memcached_fetch_result`.
  /// - Throws: ``MemcachedError`` for a bad key, or when any server failed (no partial result).
  public func getMulti(_ keys: [String]) throws -> [String: MemcachedItem] {
    if keys.isEmpty { return [:] }
    return try measured(.getMulti) { try getMultiOnce(keys) }
  }

  private func getMultiOnce(_ keys: [String]) throws -> [String: MemcachedItem] {
    trialNode = nil
    var buffer: [UInt8] = []
    var ends: [Int] = []
    ends.reserveCapacity(keys.count)
    for key in keys {
      var utf8 = key
      try utf8.withUTF8 { bytes in
        try checkKey(bytes, "getMulti", key)
        buffer.append(contentsOf: bytes)
        buffer.append(0)
      }
      ends.append(buffer.count - 1)
    }
    return try buffer.withUnsafeBufferPointer { raw in
      try raw.withMemoryRebound(to: CChar.self) { chars in
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        pointers.reserveCapacity(ends.count)
        lengths.reserveCapacity(ends.count)
        var start = 0
        for end in ends {
          pointers.append(chars.baseAddress! + start)
          lengths.append(end - start)
          start = end + 1
        }
        var found: [String: MemcachedItem] = [:]
        found.reserveCapacity(keys.count)
        var retries = Retries()
        if pinnedNode == nil && !health.anyDown {
          // Every node is up: one mget, spread by libmemcached's own hash.
          let rc = memcached_mget_by_key(memc, nil, 0, &pointers, &lengths, keys.count)
          do {
            guard memcached_success(rc) else { throw failure(rc) }
            try drainResults { found[$0.0] = $0.1 }
            return found
          } catch let failure as Failure {
            let error = self.error(failure.rc, "getMulti")
            guard
              shouldRetry(
                error, failure.rc, node: nil, key: nil, keyLength: 0, read: true, &retries)
            else { throw error }
            found.removeAll(keepingCapacity: true)
          }
        }
        while true {
          trialNode = nil
          // A node is down (or the call is pinned): one request per node the keys are routed to.
          var groups: [Int?: [Int]] = [:]
          do {
            for index in keys.indices {
              groups[try route(pointers[index]!, lengths[index]), default: []].append(index)
            }
          } catch {
            throw retries.failed ?? error
          }
          var failedGroup: Int?? = nil
          do {
            for (node, indices) in groups {
              failedGroup = node
              var groupPointers = indices.map { pointers[$0] }
              var groupLengths = indices.map { lengths[$0] }
              let rc = try withGroupKey(node) { group, groupLength in
                memcached_mget_by_key(
                  memc, group, groupLength, &groupPointers, &groupLengths, indices.count)
              }
              guard memcached_success(rc) else { throw failure(rc) }
              try drainResults { found[$0.0] = $0.1 }
            }
            if trialNode != nil || retries.reopened != nil { answered(retries) }
            return found
          } catch let failure as Failure {
            let error = self.error(failure.rc, "getMulti")
            guard
              shouldRetry(
                error, failure.rc, node: failedGroup ?? nil, key: nil, keyLength: 0, read: true,
                &retries)
            else { throw retries.failed ?? error }
            found.removeAll(keepingCapacity: true)
          }
        }
      }
    }
  }

  /// Fetches every pending result of an `mget`, then checks how the fetch ended.
  private func drainResults(_ body: ((String, MemcachedItem)) -> Void) throws {
    var rc = MEMCACHED_SUCCESS
    while memcached_fetch_result(memc, result, &rc) != nil {
      let length = memcached_result_length(result)
      let value: [UInt8]
      if length == 0 {
        value = []
      } else {
        value = [UInt8](
          UnsafeRawBufferPointer(start: memcached_result_value(result), count: length))
      }
      let keyBytes = UnsafeRawBufferPointer(
        start: memcached_result_key_value(result), count: memcached_result_key_length(result))
      let key = String(decoding: keyBytes, as: UTF8.self)
      body(
        (
          key,
          MemcachedItem(
            value: value, flags: memcached_result_flags(result), cas: memcached_result_cas(result))
        ))
    }
    guard rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND || memcached_success(rc) else {
      throw failure(rc)
    }
  }

  /// Whether an item exists, without reading its value.
  /// The corresponding C function is `memcached_exist_by_key`.
  /// - Throws: ``MemcachedError`` for a bad key or a failed server.
  public func exists(_ key: String) throws -> Bool {
    try call(.exists, key, read: true) { group, groupLength, key, keyLength in
      let rc = memcached_exist_by_key(memc, group, groupLength, key, keyLength)
      if rc == MEMCACHED_NOTFOUND { return false }
      guard memcached_success(rc) else { throw failure(rc) }
      return true
    }
  }

  // MARK: - Writes

  /// Stores an item, whether or not it exists.
  /// The corresponding C function is `memcached_set_by_key`.
  /// - Throws: ``MemcachedError`` for a bad key, a value over the maximum, or a failed server.
  public func set(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) throws {
    try store(.set, key, value) {
      memcached_set_by_key($0, $1, $2, $3, $4, $5, $6, expiration.wireValue, flags)
    } interpret: {
      guard memcached_success($0) else { throw failure($0) }
    }
  }

  /// Stores an item only if the key does not exist; returns whether it was stored.
  /// The corresponding C function is `memcached_add_by_key`.
  /// - Throws: ``MemcachedError`` as ``set(_:value:flags:expiration:)``.
  @discardableResult
  public func add(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) throws -> Bool {
    try store(.add, key, value) {
      memcached_add_by_key($0, $1, $2, $3, $4, $5, $6, expiration.wireValue, flags)
    } interpret: {
      try stored($0)
    }
  }

  /// Stores an item only if the key exists; returns whether it was stored.
  /// The corresponding C function is `memcached_replace_by_key`.
  /// - Throws: ``MemcachedError`` as ``set(_:value:flags:expiration:)``.
  @discardableResult
  public func replace(
    _ key: String, value: [UInt8], flags: UInt32 = 0, expiration: MemcachedExpiration = .never
  ) throws -> Bool {
    try store(.replace, key, value) {
      memcached_replace_by_key($0, $1, $2, $3, $4, $5, $6, expiration.wireValue, flags)
    } interpret: {
      try stored($0)
    }
  }

  /// Appends bytes to an existing item; returns `false` when the key does not exist.
  /// The corresponding C function is `memcached_append_by_key`.
  /// - Throws: ``MemcachedError`` as ``set(_:value:flags:expiration:)``.
  @discardableResult
  public func append(_ key: String, value: [UInt8]) throws -> Bool {
    try store(.append, key, value) {
      memcached_append_by_key($0, $1, $2, $3, $4, $5, $6, 0, 0)
    } interpret: {
      try stored($0)
    }
  }

  /// Prepends bytes to an existing item; returns `false` when the key does not exist.
  /// The corresponding C function is `memcached_prepend_by_key`.
  /// - Throws: ``MemcachedError`` as ``set(_:value:flags:expiration:)``.
  @discardableResult
  public func prepend(_ key: String, value: [UInt8]) throws -> Bool {
    try store(.prepend, key, value) {
      memcached_prepend_by_key($0, $1, $2, $3, $4, $5, $6, 0, 0)
    } interpret: {
      try stored($0)
    }
  }

  /// Stores an item only if nobody wrote it since `cas` was read (compare-and-swap).
  /// The corresponding C function is `memcached_cas_by_key`.
  /// - Throws: ``MemcachedError`` as ``set(_:value:flags:expiration:)``.
  public func cas(
    _ key: String, value: [UInt8], cas: UInt64, flags: UInt32 = 0,
    expiration: MemcachedExpiration = .never
  ) throws -> MemcachedCASResult {
    try store(.cas, key, value) {
      memcached_cas_by_key($0, $1, $2, $3, $4, $5, $6, expiration.wireValue, flags, cas)
    } interpret: { rc in
      switch rc {
      case MEMCACHED_DATA_EXISTS: return .conflict
      case MEMCACHED_NOTFOUND: return .notFound
      default:
        guard memcached_success(rc) else { throw failure(rc) }
        return .stored
      }
    }
  }

  /// Deletes an item; returns whether it existed.
  /// The corresponding C function is `memcached_delete_by_key`.
  /// - Throws: ``MemcachedError`` for a bad key or a failed server.
  @discardableResult
  public func delete(_ key: String) throws -> Bool {
    try call(.delete, key, read: false) { group, groupLength, key, keyLength in
      let rc = memcached_delete_by_key(memc, group, groupLength, key, keyLength, 0)
      if rc == MEMCACHED_NOTFOUND { return false }
      guard memcached_success(rc) else { throw failure(rc) }
      return true
    }
  }

  /// Adds to a counter and returns its new value; `nil` when the key does not exist and no
  /// initial value is given.
  /// C functions: `memcached_increment_by_key`, `memcached_increment_with_initial_by_key`.
  /// - Throws: ``MemcachedError`` for a bad key, an item that is not a number, or a failed server.
  @discardableResult
  public func increment(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws -> UInt64? {
    try counter(.increment, key, delta, initial, expiration, up: true)
  }

  /// Subtracts from a counter (stopping at 0) and returns its new value; `nil` when the key does
  /// not exist and no initial value is given.
  /// C functions: `memcached_decrement_by_key`, `memcached_decrement_with_initial_by_key`.
  /// - Throws: ``MemcachedError`` as ``increment(_:by:initial:expiration:)``.
  @discardableResult
  public func decrement(
    _ key: String, by delta: UInt64 = 1, initial: UInt64? = nil,
    expiration: MemcachedExpiration = .never
  ) throws -> UInt64? {
    try counter(.decrement, key, delta, initial, expiration, up: false)
  }

  private func counter(
    _ operation: MemcachedMetrics.Operation, _ name: String, _ delta: UInt64, _ initial: UInt64?,
    _ expiration: MemcachedExpiration, up: Bool
  ) throws -> UInt64? {
    if let initial, !configuration.binaryProtocol {
      return try textCounter(operation, name, delta, initial, expiration, up: up)
    }
    let counted = try call(operation, name, read: false) {
      group, groupLength, key, keyLength -> UInt64?? in
      var value: UInt64 = 0
      let rc: memcached_return_t
      switch (initial, up) {
      case (let initial?, true):
        rc = memcached_increment_with_initial_by_key(
          memc, group, groupLength, key, keyLength, delta, initial, expiration.wireValue, &value)
      case (let initial?, false):
        rc = memcached_decrement_with_initial_by_key(
          memc, group, groupLength, key, keyLength, delta, initial, expiration.wireValue, &value)
      case (nil, true):
        rc = memcached_increment_by_key(memc, group, groupLength, key, keyLength, delta, &value)
      case (nil, false):
        rc = memcached_decrement_by_key(memc, group, groupLength, key, keyLength, delta, &value)
      }
      if rc == MEMCACHED_NOTFOUND { return .some(nil) }
      // The binary protocol's "non-numeric value" status reaches us as an unknown read failure
      // on a connection that is still fine; it is told apart below by reading the item.
      if rc == MEMCACHED_UNKNOWN_READ_FAILURE && memcached_last_error_errno(memc) == 0 {
        return nil
      }
      guard memcached_success(rc) else { throw failure(rc) }
      return .some(value)
    }
    if let counted { return counted }
    if let item = try get(name),
      UInt64(String(decoding: item.value, as: UTF8.self).trimmingCharacters(in: .whitespaces))
        == nil
    {
      throw MemcachedError.notANumber(operation: operation.name)
    }
    throw MemcachedError(
      returnCode: .unknownReadFailure, message: "the server's answer could not be read",
      operation: operation.name)
  }

  /// A counter with an initial value over the text protocol, which has none: `incr` or `decr`,
  /// and for a missing key an `add` of the initial value. An `add` that finds the key means
  /// another client created it in between, so the counting is tried again.
  private func textCounter(
    _ operation: MemcachedMetrics.Operation, _ name: String, _ delta: UInt64, _ initial: UInt64,
    _ expiration: MemcachedExpiration, up: Bool
  ) throws -> UInt64 {
    // Each round ends unless another client deleted the key between our `add` and our count.
    for _ in 0..<Self.textCounterRounds {
      if let value = try counter(operation, name, delta, nil, expiration, up: up) { return value }
      if try add(name, value: Array(String(initial).utf8), flags: 0, expiration: expiration) {
        return initial
      }
    }
    throw MemcachedError(
      returnCode: .notStored,
      message: "the counter was created and deleted by others \(Self.textCounterRounds) times",
      operation: operation.name)
  }

  private static let textCounterRounds = 10

  /// Sets a new expiration on an item without reading it; returns whether it existed.
  /// The corresponding C function is `memcached_touch_by_key`.
  /// - Throws: ``MemcachedError`` for a bad key or a failed server.
  @discardableResult
  public func touch(_ key: String, expiration: MemcachedExpiration) throws -> Bool {
    try call(.touch, key, read: false) { group, groupLength, key, keyLength in
      let rc = memcached_touch_by_key(
        memc, group, groupLength, key, keyLength, expiration.wireValue)
      if rc == MEMCACHED_NOTFOUND { return false }
      // libmemcached 1.1.4's touch reports every failure to connect, a refused SASL
      // authentication included, as MEMCACHED_WRITE_FAILURE, which reads as a node that is
      // down. Asking whether the key exists connects again and names the real cause.
      if rc == MEMCACHED_WRITE_FAILURE && configuration.credentials != nil {
        let cause = memcached_exist_by_key(memc, group, groupLength, key, keyLength)
        if cause == MEMCACHED_AUTH_FAILURE || cause == MEMCACHED_AUTH_PROBLEM {
          throw failure(cause)
        }
      }
      guard memcached_success(rc) else { throw failure(rc) }
      return true
    }
  }

  /// Invalidates every item on every server, now or after a delay.
  /// The corresponding C function is `memcached_flush`.
  /// - Throws: ``MemcachedError`` when a server failed.
  public func flush(after delay: MemcachedExpiration = .never) throws {
    try measured(.flush) {
      let rc = memcached_flush(memc, delay.wireValue)
      guard memcached_success(rc) else { throw error(commonServerCause(of: rc), "flush") }
    }
  }

  /// For MEMCACHED_SOME_ERRORS, the one code every failed server gave, if they agree.
  private func commonServerCause(of rc: memcached_return_t) -> memcached_return_t {
    guard rc == MEMCACHED_SOME_ERRORS else { return rc }
    var causes: Set<UInt32> = []
    for index in 0..<memcached_server_count(memc) {
      guard let instance = memcached_server_instance_by_position(memc, index) else { continue }
      let cause = memcached_server_error_return(instance)
      if !memcached_success(cause) { causes.insert(cause.rawValue) }
    }
    guard causes.count == 1, let cause = causes.first else { return rc }
    return memcached_return_t(rawValue: cause)
  }

  // MARK: - Plumbing

  /// Checks a key and hands its UTF-8 bytes to `body`.
  @inline(__always)
  func withKey<R>(
    _ key: String, _ operation: String,
    _ body: (UnsafePointer<CChar>, Int) throws -> R
  ) throws -> R {
    var utf8 = key
    return try utf8.withUTF8 { bytes in
      try checkKey(bytes, operation, key)
      return try bytes.withMemoryRebound(to: CChar.self) { chars in
        // withUTF8 never hands out an empty buffer without a base address once checked non-empty.
        try body(chars.baseAddress!, chars.count)
      }
    }
  }

  @inline(__always)
  private func checkKey(_ bytes: UnsafeBufferPointer<UInt8>, _ operation: String, _ key: String)
    throws
  {
    do {
      try MemcachedKey.validate(bytes: bytes, prefixLength: prefixLength)
    } catch {
      throw error.error(operation: operation, key: configuration.publicKeysInErrors ? key : nil)
    }
  }

  /// A failed return code, which ``call(_:_:read:_:)`` turns into a ``MemcachedError``.
  struct Failure: Error {
    let rc: memcached_return_t
  }

  @inline(__always)
  func failure(_ rc: memcached_return_t) -> Failure { Failure(rc: rc) }

  /// Runs one keyed call on the key's node (``route(_:_:)``), retrying once where allowed.
  @inline(__always)
  func call<R>(
    _ operation: MemcachedMetrics.Operation, _ name: String, read: Bool,
    _ body: (UnsafePointer<CChar>, Int, UnsafePointer<CChar>, Int) throws -> R
  ) throws -> R {
    try measured(operation) { try attempt(operation, name, read: read, body) }
  }

  /// Runs an operation and reports its duration and failure to the metrics.
  @inline(__always)
  func measured<R>(_ operation: MemcachedMetrics.Operation, _ body: () throws -> R) throws -> R {
    let start = MemcachedMetrics.start()
    do {
      let result = try body()
      metrics.record(operation, since: start)
      return result
    } catch {
      metrics.record(operation, since: start, error: error as? MemcachedError)
      throw error
    }
  }

  @inline(__always)
  private func attempt<R>(
    _ operation: MemcachedMetrics.Operation, _ name: String, read: Bool,
    _ body: (UnsafePointer<CChar>, Int, UnsafePointer<CChar>, Int) throws -> R
  ) throws -> R {
    try withKey(name, operation.name) { key, keyLength in
      var retries = Retries()
      while true {
        trialNode = nil
        let node: Int?
        do {
          node = try route(key, keyLength)
        } catch {
          // Nowhere left to try again: what went wrong first says more than "no server".
          throw retries.failed ?? error
        }
        do {
          let result: R
          if let node {
            result = try withGroupKey(node) { group, groupLength in
              try body(group!, groupLength, key, keyLength)
            }
          } else {
            result = try body(key, keyLength, key, keyLength)
          }
          if trialNode != nil || retries.reopened != nil { answered(retries) }
          return result
        } catch let failure as Failure {
          let error = self.error(failure.rc, operation.name, key: name)
          guard
            shouldRetry(
              error, failure.rc, node: node, key: key, keyLength: keyLength, read: read,
              &retries)
          else { throw retries.failed ?? error }
        }
      }
    }
  }

  /// Checks the value size, then runs one storage call through ``call(_:_:read:_:)``.
  @inline(__always)
  private func store<R>(
    _ operation: MemcachedMetrics.Operation, _ name: String, _ value: [UInt8],
    _ send: (
      UnsafeMutablePointer<memcached_st>, UnsafePointer<CChar>, Int, UnsafePointer<CChar>, Int,
      UnsafePointer<CChar>?, Int
    ) -> memcached_return_t,
    interpret: (memcached_return_t) throws -> R
  ) throws -> R {
    guard value.count <= configuration.maximumValueSize else {
      try withKey(name, operation.name) { _, _ in }
      throw MemcachedError.itemTooLarge(
        size: value.count, maximum: configuration.maximumValueSize, operation: operation.name)
    }
    return try call(operation, name, read: false) { group, groupLength, key, keyLength in
      let rc = value.withUnsafeBytes { bytes in
        send(
          memc, group, groupLength, key, keyLength,
          bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
      }
      return try interpret(rc)
    }
  }

  private func stored(_ rc: memcached_return_t) throws -> Bool {
    switch rc {
    case MEMCACHED_NOTSTORED, MEMCACHED_DATA_EXISTS, MEMCACHED_NOTFOUND:
      return false
    default:
      guard memcached_success(rc) else { throw failure(rc) }
      return true
    }
  }
}

@available(*, unavailable, message: "MemcachedClient is not thread-safe; share a MemcachedPool")
extension MemcachedClient: Sendable {}
