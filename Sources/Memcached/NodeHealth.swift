import Dispatch
import Logging
import Metrics
import Synchronization

/// What a client knows about one node: whether calls may go to it, and when it last came back.
public struct MemcachedNodeStatus: Sendable, Hashable {
  /// Whether the node is known to be down: a call failed to reach it and no probe answered since.
  public var isDown: Bool
  /// When the node last came back: a probe or a call found it answering after it was down, or
  /// a broken connection to it was reopened (it was restarted, and may have lost its items).
  public var lastRecovery: ContinuousClock.Instant?

  /// A status with the given facts.
  public init(isDown: Bool = false, lastRecovery: ContinuousClock.Instant? = nil) {
    self.isDown = isDown
    self.lastRecovery = lastRecovery
  }
}

/// Which nodes of a configuration are known to be down, shared by every client of a pool.
final class NodeHealth: Sendable {
  /// A node's status, and when a call may next try it while it is down.
  private struct Entry {
    var status = MemcachedNodeStatus()
    var nextTrial = ContinuousClock.now
  }

  private let nodes: Mutex<[Entry]>
  private let downCount = Atomic<Int>(0)
  /// One connection per node for the watch (see ``watch()``), made on its first round.
  private let watchClients: Mutex<[(client: MemcachedClient?, unreachable: Bool)]>
  private let stopped = Atomic<Bool>(false)
  private let configuration: MemcachedConfiguration
  private let logger: Logger
  /// `false` for single-server probe clients, which never mark their server down.
  private let tracking: Bool

  private static let probeQueue = DispatchQueue(
    label: "mcdutils.memcached.probe", attributes: .concurrent)

  init(configuration: MemcachedConfiguration, logger: Logger, tracking: Bool = true) {
    self.nodes = Mutex([Entry](repeating: Entry(), count: configuration.servers.count))
    self.watchClients = Mutex(
      [(client: MemcachedClient?, unreachable: Bool)](
        repeating: (nil, false), count: configuration.servers.count))
    self.configuration = configuration
    self.logger = logger
    self.tracking = tracking
    // Only copies need to know that a node lost its items: without replicas there is none.
    // The first round opens the watch's connections at once, so that a restart from then on
    // breaks them.
    if tracking && configuration.replicas > 0 { scheduleWatch(after: .zero) }
  }

  /// The longest a call may wait for a node: its timeouts together.
  private var callBound: Duration {
    configuration.connectTimeout + configuration.pollTimeout + configuration.sendTimeout
      + configuration.receiveTimeout
  }

  /// Ends the watch (the pool shut down).
  func stop() {
    stopped.store(true, ordering: .relaxed)
  }

  /// Whether any node is down: the one check on the fast path of every call.
  @inline(__always)
  var anyDown: Bool { downCount.load(ordering: .relaxed) > 0 }

  func isDown(_ node: Int) -> Bool {
    guard anyDown else { return false }
    return status(node).isDown
  }

  func status(_ node: Int) -> MemcachedNodeStatus {
    nodes.withLock { $0.indices.contains(node) ? $0[node].status : MemcachedNodeStatus() }
  }

  /// Whether a call may try `node`, which is down, now: once per `retryTimeout`, so that a node
  /// that came back is used by the next call that needs it, and a frozen one costs one timeout
  /// per interval, not one per call.
  func claimTrial(_ node: Int) -> Bool {
    guard tracking else { return false }
    let now = ContinuousClock.now
    return nodes.withLock { nodes in
      guard nodes.indices.contains(node), nodes[node].status.isDown, nodes[node].nextTrial <= now
      else { return false }
      // No other call tries the node while this one may still wait for it; when it fails, the
      // next trial comes a whole retryTimeout after its failure (markDown).
      nodes[node].nextTrial = now + configuration.retryTimeout + callBound
      return true
    }
  }

  /// Marks `node` down after a call failed to reach it, logs it, and starts its probe.
  func markDown(_ node: Int, because error: MemcachedError) {
    guard tracking else { return }
    let changed = nodes.withLock { nodes -> Bool in
      guard nodes.indices.contains(node) else { return false }
      nodes[node].nextTrial = .now + configuration.retryTimeout
      guard !nodes[node].status.isDown else { return false }
      nodes[node].status.isDown = true
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

  /// Marks `node` up after a probe or a call found it answering.
  func markUp(_ node: Int) {
    let changed = nodes.withLock { nodes -> Bool in
      guard nodes.indices.contains(node), nodes[node].status.isDown else { return false }
      nodes[node].status.isDown = false
      nodes[node].status.lastRecovery = .now
      return true
    }
    guard changed else { return }
    downCount.subtract(1, ordering: .relaxed)
    logger.info(
      "memcached node answers again",
      metadata: ["memcached.server": "\(configuration.servers[node])"])
  }

  /// Notes that a broken connection to `node` was reopened: the node was restarted, and is
  /// taken as back from now, like one a probe found back (its copies may be missing).
  func noteRestart(_ node: Int) {
    guard tracking else { return }
    let now = ContinuousClock.now
    let (wasDown, first) = nodes.withLock { nodes -> (Bool, Bool) in
      guard nodes.indices.contains(node) else { return (false, false) }
      let wasDown = nodes[node].status.isDown
      // Every connection of the pool finds the broken one of its own: one log line per restart.
      let first =
        nodes[node].status.lastRecovery.map { now - $0 > configuration.retryTimeout } ?? true
      nodes[node].status.isDown = false
      nodes[node].status.lastRecovery = now
      return (wasDown, first)
    }
    if wasDown { downCount.subtract(1, ordering: .relaxed) }
    if first {
      logger.info(
        "memcached node was restarted",
        metadata: ["memcached.server": "\(configuration.servers[node])"])
    }
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

  private func scheduleWatch(after delay: Duration) {
    Self.probeQueue.asyncAfter(deadline: .now() + delay.seconds) {
      [weak self] in
      self?.watch()
    }
  }

  /// Asks every node that is up for a key, every `retryTimeout`, over a connection kept open
  /// between rounds: a restart breaks that connection (or, caught between its stop and its
  /// start, refuses one round), and so is noticed within a round or two even when no call goes
  /// to the node. Timeouts are left to the calls and the probe; nothing is marked down here.
  private func watch() {
    guard !stopped.load(ordering: .relaxed) else { return }
    for node in configuration.servers.indices where !status(node).isDown {
      let restarted = watchClients.withLock { watched -> Bool in
        if watched[node].client == nil {
          var single = configuration
          single.servers = [configuration.servers[node]]
          watched[node].client = try? MemcachedClient(
            configuration: single, logger: logger,
            health: NodeHealth(configuration: single, logger: logger, tracking: false),
            metrics: MemcachedMetrics())
        }
        guard let client = watched[node].client else { return false }
        let reconnections = client.reconnections
        do {
          _ = try client.get(MemcachedClient.pingKey)
        } catch let error as MemcachedError where error.returnCode != .timeout {
          // Refused or dropped, between a restart's stop and start: the round that reaches the
          // node again tells of the restart.
          watched[node].unreachable = error.isUnavailable
          return false
        } catch {
          return false
        }
        defer { watched[node].unreachable = false }
        return client.reconnections != reconnections || watched[node].unreachable
      }
      if restarted { noteRestart(node) }
    }
    scheduleWatch(after: configuration.retryTimeout)
  }
}
