internal import CLibMemcached

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// Which node a call goes to, and what a failed call does next; see NodeFailures.md.
extension MemcachedClient {
  /// How many nodes the configuration spreads keys over.
  public var nodeCount: Int { configuration.servers.count }

  /// The nodes that hold the copies of `key`: its primary, then up to `replicas` other nodes.
  /// - Throws: ``MemcachedError`` for a bad key or an empty server list.
  public func nodes(forKey key: String, replicas: Int) throws -> [Int] {
    try withKey(key, "nodes(forKey:)") { key, keyLength in
      try ranking(key, keyLength, count: 1 + max(0, replicas))
    }
  }

  /// Runs `body` with every operation sent to node `node`, whatever the key.
  public func onNode<R>(_ node: Int, _ body: (MemcachedClient) throws -> R) rethrows -> R {
    let previous = pinnedNode
    pinnedNode = node
    defer { pinnedNode = previous }
    return try body(self)
  }

  /// The server a key's operations go to now, failover included.
  /// - Throws: ``MemcachedError`` for a bad key, or when no server is configured or up.
  public func server(forKey key: String) throws -> MemcachedServer {
    try withKey(key, "server(forKey:)") { key, keyLength in
      let node = try route(key, keyLength) ?? primary(key, keyLength)
      return configuration.servers[node]
    }
  }

  /// Whether the configured server at `node` is known to be down, and when it last came back.
  public func nodeStatus(_ node: Int) -> MemcachedNodeStatus {
    health.status(node)
  }

  // MARK: - Routing

  /// The node libmemcached's hash picks for a key.
  func primary(_ key: UnsafePointer<CChar>, _ keyLength: Int) throws -> Int {
    guard nodeCount > 0 else { throw noServers() }
    return Int(memcached_generate_hash(memc, key, keyLength))
  }

  /// The key's primary, then every other node by descending rendezvous weight, `count` at most.
  func ranking(_ key: UnsafePointer<CChar>, _ keyLength: Int, count: Int) throws -> [Int] {
    let first = try primary(key, keyLength)
    guard count > 1, nodeCount > 1 else { return [first] }
    var others: [(weight: UInt32, node: Int)] = []
    others.reserveCapacity(nodeCount - 1)
    let suffixes = rankingSuffixes ?? makeRankingSuffixes()
    for node in 0..<nodeCount where node != first {
      // The weight hashes the key, "#" and the node's description, in a buffer on the stack.
      let suffix = suffixes[node]
      let weight = withUnsafeTemporaryAllocation(
        of: CChar.self, capacity: keyLength + suffix.count
      ) { seed in
        _ = seed.initialize(from: UnsafeBufferPointer(start: key, count: keyLength))
        _ = UnsafeMutableBufferPointer(rebasing: seed[keyLength...]).initialize(from: suffix)
        return memcached_generate_hash_value(seed.baseAddress, seed.count, MEMCACHED_HASH_MD5)
      }
      others.append((weight, node))
    }
    others.sort { $0.weight != $1.weight ? $0.weight > $1.weight : $0.node < $1.node }
    return [first] + others.prefix(count - 1).map(\.node)
  }

  /// The node a call for `key` goes to: the pinned node, a failover node, or `nil` for the hash's.
  /// - Throws: ``MemcachedError`` when the key's node is down without failover, or all are down.
  @inline(__always)
  func route(_ key: UnsafePointer<CChar>, _ keyLength: Int) throws -> Int? {
    if let pinnedNode {
      if health.isDown(pinnedNode) {
        // The caller needs this node (it keeps a copy there): try it once per retryTimeout.
        guard health.claimTrial(pinnedNode) else { throw nodeDown(pinnedNode) }
        trialNode = pinnedNode
      }
      return pinnedNode
    }
    guard health.anyDown else { return nil }
    return try reroute(key, keyLength)
  }

  private func makeRankingSuffixes() -> [[CChar]] {
    let suffixes = configuration.servers.map { server in
      [0x23] + Array(server.description.utf8CString.dropLast())  // "#"
    }
    rankingSuffixes = suffixes
    return suffixes
  }

  private func reroute(_ key: UnsafePointer<CChar>, _ keyLength: Int) throws -> Int? {
    let first = try primary(key, keyLength)
    guard health.isDown(first) else { return nil }
    guard configuration.failover else { throw nodeDown(first) }
    for node in try ranking(key, keyLength, count: nodeCount).dropFirst()
    where !health.isDown(node) {
      return node
    }
    throw noServers(message: "every memcached node is down")
  }

  /// Runs `body` with the group key that sends a call to `node`; `nil` lets libmemcached hash.
  @inline(__always)
  func withGroupKey<R>(
    _ node: Int?, _ body: (UnsafePointer<CChar>?, Int) throws -> R
  ) throws -> R {
    guard let node else { return try body(nil, 0) }
    let keys = try groupKeysForNodes()
    return try keys[node].withUnsafeBufferPointer { try body($0.baseAddress, $0.count) }
  }

  /// For each node, the first of `mcdutils-node-0`, `mcdutils-node-1`, … that hashes to it.
  private func groupKeysForNodes() throws -> [[CChar]] {
    if let groupKeys { return groupKeys }
    var found = [[CChar]?](repeating: nil, count: nodeCount)
    var missing = nodeCount
    var candidate = 0
    while missing > 0 && candidate < 1_000_000 {
      let name = Array("mcdutils-node-\(candidate)".utf8CString.dropLast())
      let node = name.withUnsafeBufferPointer {
        Int(memcached_generate_hash(memc, $0.baseAddress, $0.count))
      }
      if node < nodeCount, found[node] == nil {
        found[node] = name
        missing -= 1
      }
      candidate += 1
    }
    guard missing == 0 else {
      throw MemcachedError(
        returnCode: .invalidConfiguration,
        message: "a node has no share of the hash ring (weight 0?)", operation: "route")
    }
    let keys = found.map { $0! }
    groupKeys = keys
    return keys
  }

  // MARK: - Failures

  /// What one call tried again so far (NodeFailures.md).
  struct Retries {
    /// The first error, which says more than those after it.
    var failed: MemcachedError?
    /// The node whose broken connection the call reopened, once.
    var reopened: Int?
    var movedOn = false
  }

  /// Says whether to try a failed call again: once on the same node when its connection was
  /// broken (the node was restarted), else, marking the node down, once on the next live node
  /// when that cannot apply the call twice (NodeFailures.md).
  func shouldRetry(
    _ error: MemcachedError, _ rc: memcached_return_t, node routed: Int?,
    key: UnsafePointer<CChar>?, keyLength: Int, read: Bool, _ retries: inout Retries
  ) -> Bool {
    guard error.isUnavailable, error.returnCode != .noServers else { return false }
    if retries.failed == nil { retries.failed = error }
    let node = routed ?? failedNode(key, keyLength)
    if retries.reopened == nil, trialNode == nil, connectionWasBroken(rc), let node {
      retries.reopened = node
      return true
    }
    if let node { health.markDown(node, because: error) }
    guard pinnedNode == nil, !retries.movedOn else { return false }
    retries.movedOn = true
    return read || requestWasNotSent(rc)
  }

  /// Notes what a call that succeeded after trying a down node, or reopening a broken
  /// connection, showed: the node answers.
  func answered(_ retries: Retries) {
    if let trialNode {
      health.markUp(trialNode)
      self.trialNode = nil
    }
    if let node = retries.reopened {
      reconnections += 1
      health.noteRestart(node)
    }
  }

  /// Whether a call failed because the server closed a connection that was open: a restarted
  /// node's old connections fail so, and a new one reaches the new process, which never saw the
  /// request. A timeout (a frozen node) is not such a failure.
  private func connectionWasBroken(_ rc: memcached_return_t) -> Bool {
    switch rc {
    case MEMCACHED_CONNECTION_FAILURE, MEMCACHED_WRITE_FAILURE, MEMCACHED_READ_FAILURE,
      MEMCACHED_UNKNOWN_READ_FAILURE, MEMCACHED_ERRNO:
      let code = memcached_last_error_errno(memc)
      return code == 0 || code == ECONNRESET || code == EPIPE
    default:
      return false
    }
  }

  /// The node a failed call was talking to: the last one disconnected, else the key's primary.
  private func failedNode(_ key: UnsafePointer<CChar>?, _ keyLength: Int) -> Int? {
    if let instance = memcached_server_get_last_disconnect(memc) {
      let name = memcached_server_name(instance).map { String(cString: $0) } ?? ""
      let port = Int(memcached_server_port(instance))
      if let index = configuration.servers.firstIndex(where: { $0.matches(name, port) }) {
        return index
      }
    }
    guard let key else { return nil }
    return try? primary(key, keyLength)
  }

  /// Whether a failed call never reached a server, so that trying again cannot apply it twice.
  private func requestWasNotSent(_ rc: memcached_return_t) -> Bool {
    switch rc {
    case MEMCACHED_SERVER_MARKED_DEAD, MEMCACHED_SERVER_TEMPORARILY_DISABLED:
      return true
    case MEMCACHED_CONNECTION_FAILURE, MEMCACHED_ERRNO:
      return memcached_last_error_errno(memc) == ECONNREFUSED
    default:
      return false
    }
  }

  private func nodeDown(_ node: Int) -> MemcachedError {
    MemcachedError(
      returnCode: .serverMarkedDead,
      message: "the node is down; a probe or a later call will put it back when it answers",
      operation: "route", server: configuration.servers[node])
  }

  private func noServers(message: String = "no memcached server is configured") -> MemcachedError {
    MemcachedError(returnCode: .noServers, message: message, operation: "route")
  }
}

extension MemcachedServer {
  /// Whether this server is the one libmemcached names `name` and `port` (0 for a socket).
  func matches(_ name: String, _ port: Int) -> Bool {
    switch address {
    case .tcp(let host, let serverPort): return host == name && serverPort == port
    case .unixSocket(let path): return path == name
    }
  }
}
