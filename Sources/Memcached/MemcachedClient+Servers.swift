internal import CLibMemcached

/// The result of pinging one server.
public struct MemcachedPingResult: Sendable {
  /// The server that was pinged.
  public let server: MemcachedServer
  /// The round-trip time, or the error the server gave.
  public let result: Result<Duration, MemcachedError>
}

/// The statistics one server reported, or why it did not.
public struct MemcachedServerStats: Sendable {
  /// The server asked.
  public let server: MemcachedServer
  /// The `stats` values by name (`pid`, `uptime`, `curr_items`, …), or the error.
  public let result: Result<[String: String], MemcachedError>
}

/// The version one server reported, or why it did not.
public struct MemcachedServerVersion: Sendable {
  /// The server asked.
  public let server: MemcachedServer
  /// The version as `major.minor.micro`, or the error.
  public let result: Result<String, MemcachedError>
}

extension MemcachedClient {
  /// Times one real round trip (a `get` of an absent key) to every server, in configuration order.
  public func ping() -> [MemcachedPingResult] {
    let probes = self.probes()
    return probes.map { probe in
      let server = probe.configuration.servers[0]
      do {
        if !probe.probeIsWarm {
          _ = try probe.get(Self.pingKey)
          probe.probeIsWarm = true
        }
        let clock = ContinuousClock()
        let start = clock.now
        _ = try probe.get(Self.pingKey)
        return MemcachedPingResult(server: server, result: .success(clock.now - start))
      } catch let error as MemcachedError {
        probe.probeIsWarm = false
        return MemcachedPingResult(server: server, result: .failure(error))
      } catch {
        return MemcachedPingResult(server: server, result: .failure(Self.unexpected(error)))
      }
    }
  }

  /// The statistics of every server, in configuration order.
  /// The corresponding C function is `memcached_stat_execute`.
  public func stats(_ group: String? = nil) -> [MemcachedServerStats] {
    probes().map { probe in
      let server = probe.configuration.servers[0]
      let collector = StatsCollector()
      let rc = withExtendedLifetime(collector) {
        memcached_stat_execute(
          probe.memc, group,
          { _, key, keyLength, value, valueLength, context in
            guard let context else { return MEMCACHED_FAILURE }
            let collector = Unmanaged<StatsCollector>.fromOpaque(context).takeUnretainedValue()
            collector.values[MemcachedClient.string(key, keyLength)] =
              MemcachedClient.string(value, valueLength)
            return MEMCACHED_SUCCESS
          }, Unmanaged.passUnretained(collector).toOpaque())
      }
      guard memcached_success(rc) else {
        return MemcachedServerStats(server: server, result: .failure(probe.error(rc, "stats")))
      }
      return MemcachedServerStats(server: server, result: .success(collector.values))
    }
  }

  /// The version of every server, in configuration order.
  /// The corresponding C function is `memcached_version`.
  public func version() -> [MemcachedServerVersion] {
    probes().map { probe in
      let server = probe.configuration.servers[0]
      let rc = memcached_version(probe.memc)
      guard memcached_success(rc),
        let instance = memcached_server_instance_by_position(probe.memc, 0)
      else {
        return MemcachedServerVersion(
          server: server, result: .failure(probe.error(rc, "version")))
      }
      let text = [
        memcached_server_major_version(instance), memcached_server_minor_version(instance),
        memcached_server_micro_version(instance),
      ].map(String.init).joined(separator: ".")
      return MemcachedServerVersion(server: server, result: .success(text))
    }
  }

  static let pingKey = "mcdutils.ping"

  private final class StatsCollector {
    var values: [String: String] = [:]
  }

  private static func string(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String {
    guard let pointer else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
  }

  private static func unexpected(_ error: any Error) -> MemcachedError {
    MemcachedError(returnCode: .failure, message: "\(error)", operation: "ping")
  }

  /// One client per server, alone in its ring, so that per-server calls report its own state.
  private func probes() -> [MemcachedClient] {
    if let serverProbes { return serverProbes }
    var made: [MemcachedClient] = []
    for server in configuration.servers {
      var single = configuration
      single.servers = [server]
      // A configuration that was valid with every server stays valid with one of them. The
      // probes keep no health of their own: each reports its server's state as it finds it.
      let health = NodeHealth(configuration: single, logger: logger, tracking: false)
      guard
        let probe = try? MemcachedClient(
          configuration: single, logger: logger, health: health, metrics: metrics)
      else { continue }
      made.append(probe)
    }
    serverProbes = made
    return made
  }
}
