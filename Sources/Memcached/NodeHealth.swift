import Dispatch
import Logging
import Metrics
import Synchronization

/// What a client knows about one node: whether calls may go to it, and when it last came back.
public struct MemcachedNodeStatus: Sendable, Hashable {
  /// Whether the node is known to be down: a call failed to reach it and no probe answered since.
  public var isDown: Bool
  /// When a probe last found the node back after it was down, if ever.
  public var lastRecovery: ContinuousClock.Instant?

  /// A status with the given facts.
  public init(isDown: Bool = false, lastRecovery: ContinuousClock.Instant? = nil) {
    self.isDown = isDown
    self.lastRecovery = lastRecovery
  }
}

/// Which nodes of a configuration are known to be down, shared by every client of a pool.
final class NodeHealth: Sendable {
  private let nodes: Mutex<[MemcachedNodeStatus]>
  private let downCount = Atomic<Int>(0)
  private let configuration: MemcachedConfiguration
  private let logger: Logger
  /// `false` for single-server probe clients, which never mark their server down.
  private let tracking: Bool

  private static let probeQueue = DispatchQueue(
    label: "mcdutils.memcached.probe", attributes: .concurrent)

  init(configuration: MemcachedConfiguration, logger: Logger, tracking: Bool = true) {
    self.nodes = Mutex(
      [MemcachedNodeStatus](repeating: MemcachedNodeStatus(), count: configuration.servers.count))
    self.configuration = configuration
    self.logger = logger
    self.tracking = tracking
  }

  /// Whether any node is down: the one check on the fast path of every call.
  @inline(__always)
  var anyDown: Bool { downCount.load(ordering: .relaxed) > 0 }

  func isDown(_ node: Int) -> Bool {
    guard anyDown else { return false }
    return status(node).isDown
  }

  func status(_ node: Int) -> MemcachedNodeStatus {
    nodes.withLock { $0.indices.contains(node) ? $0[node] : MemcachedNodeStatus() }
  }

  /// Marks `node` down after a call failed to reach it, logs it, and starts its probe.
  func markDown(_ node: Int, because error: MemcachedError) {
    guard tracking else { return }
    let changed = nodes.withLock { nodes -> Bool in
      guard nodes.indices.contains(node), !nodes[node].isDown else { return false }
      nodes[node].isDown = true
      return true
    }
    guard changed else { return }
    downCount.add(1, ordering: .relaxed)
    Counter(
      label: "mcdutils_memcached_node_down",
      dimensions: [("server", "\(configuration.servers[node])")]
    ).increment()
    logger.warning(
      "memcached node down",
      metadata: [
        "memcached.server": "\(configuration.servers[node])",
        "memcached.code": "\(error.returnCode)", "memcached.message": "\(error.message)",
      ])
    scheduleProbe(node, after: min(configuration.retryTimeout, .milliseconds(100)))
  }

  private func markUp(_ node: Int) {
    let changed = nodes.withLock { nodes -> Bool in
      guard nodes[node].isDown else { return false }
      nodes[node].isDown = false
      nodes[node].lastRecovery = .now
      return true
    }
    guard changed else { return }
    downCount.subtract(1, ordering: .relaxed)
    logger.info(
      "memcached node answers again",
      metadata: ["memcached.server": "\(configuration.servers[node])"])
  }

  private func scheduleProbe(_ node: Int, after delay: Duration) {
    Self.probeQueue.asyncAfter(deadline: .now() + delay.seconds) { [weak self] in
      self?.probe(node)
    }
  }

  /// Asks the node for a key over a connection of its own; any answer means it is back.
  private func probe(_ node: Int) {
    guard status(node).isDown else { return }
    var single = configuration
    single.servers = [configuration.servers[node]]
    let answered: Bool
    do {
      let client = try MemcachedClient(
        configuration: single, logger: logger,
        health: NodeHealth(configuration: single, logger: logger, tracking: false),
        metrics: MemcachedMetrics())
      _ = try client.get(MemcachedClient.pingKey)
      answered = true
    } catch let error as MemcachedError where !error.isUnavailable {
      // A refusal (a wrong SASL password, say) is an answer: the node is reachable, and
      // probing it again would only repeat the refusal every retryTimeout.
      answered = true
    } catch {
      answered = false
    }
    if answered {
      markUp(node)
    } else {
      scheduleProbe(node, after: configuration.retryTimeout)
    }
  }
}
