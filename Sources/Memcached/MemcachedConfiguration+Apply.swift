internal import CLibMemcached

extension MemcachedConfiguration {
  /// The configuration with the adjustments libmemcached needs, and the notes to log about them.
  func effective() -> (configuration: MemcachedConfiguration, notes: [String]) {
    var copy = self
    var notes: [String] = []
    if copy.replicas > 0 && copy.removeFailedServers {
      // Taking a server out rebuilds the ring, after which reads no longer find the replica
      // (measured with libmemcached 1.1.4): replicas only help with the server left in place.
      copy.removeFailedServers = false
      notes.append("replicas > 0: removeFailedServers turned off so that replicas stay readable")
    }
    return (copy, notes)
  }

  /// Checks what libmemcached would otherwise accept and misbehave with.
  func validate() throws {
    func bad(_ message: String) -> MemcachedError {
      MemcachedError(
        returnCode: .invalidConfiguration, message: message, operation: "configure")
    }
    if replicas < 0 { throw bad("replicas must be 0 or more") }
    if replicas > 0 && !binaryProtocol { throw bad("replicas need the binary protocol") }
    if credentials != nil && !binaryProtocol { throw bad("SASL needs the binary protocol") }
    if serverFailureLimit < 1 { throw bad("serverFailureLimit must be 1 or more") }
    if poolSize < 1 { throw bad("poolSize must be 1 or more") }
    if asyncExecution.allowsInline
      && (asyncExecution.slowCallThreshold <= .zero || asyncExecution.backoff < .zero)
    {
      throw bad("asyncExecution needs a positive slowCallThreshold and a backoff of 0 or more")
    }
    if maximumValueSize < 0 { throw bad("maximumValueSize must be 0 or more") }
    if keyPrefix.utf8.count > 128 { throw bad("keyPrefix is longer than 128 bytes") }
    if !keyPrefix.isEmpty {
      do {
        try MemcachedKey.validate(keyPrefix)
      } catch {
        throw bad("keyPrefix contains a space or a control character")
      }
    }
    for duration in [connectTimeout, pollTimeout, sendTimeout, receiveTimeout]
    where duration <= .zero {
      throw bad("timeouts must be positive")
    }
  }

  /// Applies every field to a fresh `memcached_st`: the one place where the configuration
  /// becomes libmemcached behaviors.
  func apply(to memc: UnsafeMutablePointer<memcached_st>) throws {
    func set(_ behavior: memcached_behavior_t, _ value: UInt64) throws {
      let rc = memcached_behavior_set(memc, behavior, value)
      guard memcached_success(rc) else {
        throw MemcachedError(
          returnCode: MemcachedReturnCode(rc),
          message: "cannot set \(String(cString: libmemcached_string_behavior(behavior)))",
          operation: "configure")
      }
    }
    try set(MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, binaryProtocol ? 1 : 0)
    try set(MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1)
    switch distribution {
    case .consistent:
      try set(MEMCACHED_BEHAVIOR_KETAMA, 1)
    case .weightedConsistent:
      try set(MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1)
    case .modula:
      try set(MEMCACHED_BEHAVIOR_DISTRIBUTION, UInt64(MEMCACHED_DISTRIBUTION_MODULA.rawValue))
    }
    if binaryProtocol {
      try set(MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, UInt64(replicas))
    }
    try set(MEMCACHED_BEHAVIOR_RANDOMIZE_REPLICA_READ, randomizeReplicaReads ? 1 : 0)
    try set(MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, removeFailedServers ? 1 : 0)
    try set(MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, UInt64(serverFailureLimit))
    try set(MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, Self.wholeSeconds(retryTimeout))
    try set(MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, Self.wholeSeconds(deadTimeout))
    try set(MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, Self.milliseconds(connectTimeout))
    try set(MEMCACHED_BEHAVIOR_POLL_TIMEOUT, Self.milliseconds(pollTimeout))
    try set(MEMCACHED_BEHAVIOR_SND_TIMEOUT, Self.microseconds(sendTimeout))
    try set(MEMCACHED_BEHAVIOR_RCV_TIMEOUT, Self.microseconds(receiveTimeout))
    try set(MEMCACHED_BEHAVIOR_TCP_NODELAY, tcpNoDelay ? 1 : 0)
    try set(MEMCACHED_BEHAVIOR_TCP_KEEPALIVE, tcpKeepAlive ? 1 : 0)

    if !keyPrefix.isEmpty {
      let rc = keyPrefix.withCString {
        memcached_callback_set(memc, MEMCACHED_CALLBACK_NAMESPACE, $0)
      }
      guard memcached_success(rc) else {
        throw MemcachedError(
          returnCode: MemcachedReturnCode(rc), message: "libmemcached refused the key prefix",
          operation: "configure")
      }
    }
    if let credentials {
      let rc = memcached_set_sasl_auth_data(memc, credentials.username, credentials.password)
      guard memcached_success(rc) else {
        throw MemcachedError(
          returnCode: MemcachedReturnCode(rc), message: "cannot set the SASL credentials",
          operation: "configure")
      }
    }
    for server in servers {
      let rc: memcached_return_t
      switch server.address {
      case .tcp(let host, let port):
        rc = memcached_server_add_with_weight(memc, host, in_port_t(port), UInt32(server.weight))
      case .unixSocket(let path):
        rc = memcached_server_add_unix_socket_with_weight(memc, path, UInt32(server.weight))
      }
      guard memcached_success(rc) else {
        throw MemcachedError(
          returnCode: MemcachedReturnCode(rc), message: "libmemcached refused the server",
          operation: "configure", server: server)
      }
    }
  }

  private static func wholeSeconds(_ duration: Duration) -> UInt64 {
    UInt64(max(0, duration.components.seconds))
  }

  private static func milliseconds(_ duration: Duration) -> UInt64 {
    max(1, microseconds(duration) / 1000)
  }

  private static func microseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000_000
  }
}
