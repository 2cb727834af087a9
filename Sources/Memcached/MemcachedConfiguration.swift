/// How a ``MemcachedClient`` or ``MemcachedPool`` talks to its servers; see <doc:Configuration>.
public struct MemcachedConfiguration: Sendable {
  /// How keys are spread over the servers.
  public enum Distribution: Sendable, Hashable {
    /// Consistent hashing (ketama, `MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA`).
    case consistent
    /// Ketama weighted by ``MemcachedServer/weight`` (`MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`).
    case weightedConsistent
    /// `hash(key) % N` (`MEMCACHED_DISTRIBUTION_MODULA`).
    case modula
  }

  /// SASL credentials (they require the binary protocol); the password is never shown.
  public struct Credentials: Sendable, Hashable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
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

    /// The user name, with the password hidden.
    public var description: String { "Credentials(username: \(username), password: ***)" }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// The user name and a hidden password, for `dump` and debuggers.
    public var customMirror: Mirror {
      Mirror(self, children: ["username": username, "password": "***"], displayStyle: .struct)
    }
  }

  /// The servers, in the order given; with none, every operation fails.
  public var servers: [MemcachedServer]

  /// Use memcached's binary protocol (`MEMCACHED_BEHAVIOR_BINARY_PROTOCOL`). Default `true`;
  /// `false` behind a proxy that speaks the text protocol only, where SASL is refused.
  public var binaryProtocol = true

  /// How keys are spread over the servers. Default ``Distribution/consistent``.
  public var distribution = Distribution.consistent

  /// How many further nodes hold a copy of a replicated item (MCDUtils' sessions). Default 0.
  public var replicas = 0

  /// Send the keys of a node that is down to the next live node. Default `true`.
  public var failover = true

  /// How often a node that is down is probed, to put it back when it answers, and tried again
  /// by a call pinned to it (see <doc:NodeFailures>). Default 1 s.
  public var retryTimeout: Duration = .seconds(1)

  /// How long to connect (`MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT`). Default 500 ms.
  public var connectTimeout: Duration = .milliseconds(500)

  /// How long to wait for a socket to be ready (`MEMCACHED_BEHAVIOR_POLL_TIMEOUT`). Default 500 ms.
  public var pollTimeout: Duration = .milliseconds(500)

  /// The socket send timeout (`MEMCACHED_BEHAVIOR_SND_TIMEOUT`). Default 500 ms.
  public var sendTimeout: Duration = .milliseconds(500)

  /// The socket receive timeout (`MEMCACHED_BEHAVIOR_RCV_TIMEOUT`). Default 500 ms.
  public var receiveTimeout: Duration = .milliseconds(500)

  /// Send small requests at once (`MEMCACHED_BEHAVIOR_TCP_NODELAY`). Default `true`.
  public var tcpNoDelay = true

  /// Enable TCP keepalive (`MEMCACHED_BEHAVIOR_TCP_KEEPALIVE`). Default `false`.
  public var tcpKeepAlive = false

  /// A prefix put before every key (`MEMCACHED_CALLBACK_NAMESPACE`). Default empty.
  public var keyPrefix = ""

  /// SASL credentials, or `nil` (the default) for none.
  public var credentials: Credentials?

  /// How many connections a ``MemcachedPool`` holds. Default 8.
  public var poolSize = 8

  /// How long ``MemcachedPool`` waits for a free connection. Default 5 s.
  public var poolCheckoutTimeout: Duration = .seconds(5)

  /// Where ``MemcachedPool``'s async calls block. Default ``MemcachedAsyncExecution/adaptive``.
  public var asyncExecution = MemcachedAsyncExecution.adaptive

  /// The largest value, in bytes, that a write sends. Default 1,048,000.
  public var maximumValueSize = 1_048_000

  /// Put keys into error messages. Default `false`.
  public var publicKeysInErrors = false

  /// A configuration for the given servers, with the defaults above.
  public init(servers: [MemcachedServer]) {
    self.servers = servers
  }

  /// A configuration from server lines, one per line (see ``MemcachedServer/init(parsing:)``).
  /// - Throws: ``MemcachedError`` quoting the first bad line.
  public init(serverLines: String) throws {
    self.init(servers: try MemcachedServer.parseList(serverLines))
  }
}
