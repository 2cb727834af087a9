/// How a ``MemcachedClient`` or ``MemcachedPool`` talks to its servers.
///
/// Every libmemcached behavior a service may need is a field here, applied to libmemcached in
/// one place. The defaults suit a session store on a local network: binary protocol, consistent
/// hashing, short timeouts, the keys of a node that is down sent to the others until a probe
/// finds it back.
///
/// ```swift
/// var configuration = try MemcachedConfiguration(serverLines: "10.0.0.5:11211\n10.0.0.6:11211")
/// configuration.keyPrefix = "myapp:"
/// configuration.receiveTimeout = .milliseconds(250)
/// ```
public struct MemcachedConfiguration: Sendable {
  /// How keys are spread over the servers.
  public enum Distribution: Sendable, Hashable {
    /// Consistent hashing (ketama, `MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA`): adding or
    /// removing a server moves only about 1/N of the keys.
    case consistent
    /// Consistent hashing weighted by ``MemcachedServer/weight``
    /// (`MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`).
    case weightedConsistent
    /// `hash(key) % N` (`MEMCACHED_DISTRIBUTION_MODULA`), as the original did: adding a server
    /// moves almost every key.
    case modula
  }

  /// SASL credentials (they require the binary protocol).
  ///
  /// The password never appears in a description, a log line or an error.
  public struct Credentials: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible
  {
    /// The SASL user name.
    public var username: String
    /// The SASL password.
    public var password: String

    /// Credentials for SASL authentication.
    public init(username: String, password: String) {
      self.username = username
      self.password = password
    }

    /// The user name, with the password hidden, so that logging a configuration leaks nothing.
    public var description: String { "Credentials(username: \(username), password: ***)" }

    /// The same as ``description``.
    public var debugDescription: String { description }
  }

  /// The servers, in the order given. An empty list makes every operation fail with
  /// ``MemcachedReturnCode/noServers``.
  public var servers: [MemcachedServer]

  /// Use memcached's binary protocol (`MEMCACHED_BEHAVIOR_BINARY_PROTOCOL`). Default `true`:
  /// `increment` with an initial value and SASL need it.
  public var binaryProtocol = true

  /// How keys are spread over the servers. Default ``Distribution/consistent``.
  public var distribution = Distribution.consistent

  /// How many further nodes hold a copy of every replicated item: MCDUtils' sessions, written
  /// to the key's node and this many more (see ``MemcachedOperations/nodes(forKey:replicas:)``).
  /// Default 0. Plain client calls never replicate: libmemcached's own replication covers only
  /// `set`, and leaves stale copies behind after a `cas`.
  public var replicas = 0

  /// Send the keys of a node that is known to be down to the next live node of their ranking,
  /// as long as it stays down. Default `true`. With `false`, calls for its keys fail at once with
  /// ``MemcachedReturnCode/serverMarkedDead`` until a probe finds the node back.
  public var failover = true

  /// How often a node that is down is probed, to put it back when it answers. Default 1 s; the
  /// first probe comes after at most 100 ms, so a blip costs little.
  public var retryTimeout: Duration = .seconds(1)

  /// How long to wait for a TCP connection (`MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT`). Default
  /// 500 ms: memcached on a healthy network answers in well under a millisecond.
  public var connectTimeout: Duration = .milliseconds(500)

  /// How long to wait for a socket to become readable or writable
  /// (`MEMCACHED_BEHAVIOR_POLL_TIMEOUT`). Default 500 ms. This bounds a call to a server that
  /// accepts connections but never answers.
  public var pollTimeout: Duration = .milliseconds(500)

  /// The socket send timeout (`MEMCACHED_BEHAVIOR_SND_TIMEOUT`). Default 500 ms.
  public var sendTimeout: Duration = .milliseconds(500)

  /// The socket receive timeout (`MEMCACHED_BEHAVIOR_RCV_TIMEOUT`). Default 500 ms.
  public var receiveTimeout: Duration = .milliseconds(500)

  /// Send small requests at once (`MEMCACHED_BEHAVIOR_TCP_NODELAY`). Default `true`.
  public var tcpNoDelay = true

  /// Enable TCP keepalive on connections (`MEMCACHED_BEHAVIOR_TCP_KEEPALIVE`). Default
  /// `false`.
  public var tcpKeepAlive = false

  /// A prefix put before every key (`MEMCACHED_CALLBACK_NAMESPACE`), so that applications can
  /// share servers. It counts towards the 250-byte key limit. Default empty; at most 128 bytes.
  public var keyPrefix = ""

  /// SASL credentials, or `nil` (the default) for none.
  public var credentials: Credentials?

  /// How many connections a ``MemcachedPool`` holds. Default 8.
  public var poolSize = 8

  /// How long ``MemcachedPool`` waits for a free connection before it throws
  /// ``MemcachedReturnCode/poolTimeout``. Default 5 s.
  public var poolCheckoutTimeout: Duration = .seconds(5)

  /// Where ``MemcachedPool``'s async operations run the blocking libmemcached call: on the
  /// calling task's thread while that is safe, or always on the connection's dispatch queue.
  /// Default ``MemcachedAsyncExecution/adaptive``.
  public var asyncExecution = MemcachedAsyncExecution.adaptive

  /// The largest value, in bytes, that a write sends; a larger one throws
  /// ``MemcachedReturnCode/e2big`` before any I/O. Default 1,048,000 bytes: what a memcached
  /// started with its default item size (1 MiB) stores, leaving room for the key and the item
  /// header.
  public var maximumValueSize = 1_048_000

  /// Put keys into error messages. Default `false`, because keys are often session ids.
  public var publicKeysInErrors = false

  /// A configuration for the given servers, with the defaults above.
  public init(servers: [MemcachedServer]) {
    self.servers = servers
  }

  /// A configuration from the original's `servers` property text: one server line per line.
  ///
  /// - Throws: ``MemcachedError`` quoting the first bad line.
  public init(serverLines: String) throws {
    self.init(servers: try MemcachedServer.parseList(serverLines))
  }
}
