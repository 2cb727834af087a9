internal import CLibMemcached

extension MemcachedConfiguration {
  /// Checks what libmemcached would otherwise accept and misbehave with.
  func validate() throws {
    func bad(_ message: String) -> MemcachedError {
      MemcachedError(
        returnCode: .invalidConfiguration, message: message, operation: "configure")
    }
    if replicas < 0 { throw bad("replicas must be 0 or more") }
    if credentials != nil && !binaryProtocol { throw bad("SASL needs the binary protocol") }
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
    for duration in [connectTimeout, pollTimeout, sendTimeout, receiveTimeout, retryTimeout]
    where duration <= .zero {
      throw bad("timeouts must be positive")
    }
  }

  /// Applies every field to a fresh `memcached_st`: the one place that sets behaviors.
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
    // libmemcached's own failure handling stays out of the way: no ejection, no replicas, and
    // no per-handle timeout state (which would refuse calls to a node for up to a second after
    // it came back). Which nodes are down is tracked once per pool, by NodeHealth.
    try set(MEMCACHED_BEHAVIOR_NUMBER_OF_REPLICAS, 0)
    try set(MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0)
    try set(MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT, UInt64(UInt32.max))
    try set(MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 0)
    try set(
      MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, max(1, connectTimeout.saturatingMicroseconds / 1000))
    try set(MEMCACHED_BEHAVIOR_POLL_TIMEOUT, max(1, pollTimeout.saturatingMicroseconds / 1000))
    try set(MEMCACHED_BEHAVIOR_SND_TIMEOUT, sendTimeout.saturatingMicroseconds)
    try set(MEMCACHED_BEHAVIOR_RCV_TIMEOUT, receiveTimeout.saturatingMicroseconds)
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
}
