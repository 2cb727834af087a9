import Foundation
import Memcached
import MemcachedTestSupport
import Testing

@Suite("A cluster of real memcached processes")
struct ClusterTests {
  @Test func keysSpreadOverAllNodesAndAFourthNodeMovesFewerThan40Percent() async throws {
    try await withMemcached(count: 4) { servers in
      let three = try MemcachedClient(
        configuration: .init(servers: servers.prefix(3).map(\.server)))
      let four = try MemcachedClient(configuration: .init(servers: servers.map(\.server)))
      let keys = (0..<10_000).map { "session-\($0)" }
      var perNode: [MemcachedServer: Int] = [:]
      var moved = 0
      for key in keys {
        let before = try three.server(forKey: key)
        perNode[before, default: 0] += 1
        if try four.server(forKey: key) != before { moved += 1 }
      }
      #expect(perNode.count == 3)
      #expect(perNode.values.allSatisfy { $0 > 2_000 })
      let fraction = Double(moved) / Double(keys.count)
      print("adding a fourth node moved \(moved) of \(keys.count) keys (\(fraction))")
      #expect(fraction < 0.40)
      #expect(fraction > 0.10)
    }
  }

  @Test func valuesLandOnTheServerTheHashPicks() async throws {
    try await withMemcached(count: 3) { servers in
      let client = try makeClient(servers)
      let raw = servers.map { try? makeClient([$0], prefix: client.configuration.keyPrefix) }
      for index in 0..<30 {
        let key = "k\(index)"
        try client.set(key, value: [UInt8(index)])
        let owner = try client.server(forKey: key)
        for (process, single) in zip(servers, raw) {
          let found = try single?.get(key) != nil
          #expect(found == (process.server == owner))
        }
      }
    }
  }

  @Test func nodesForAKeyAreDistinctPrimaryFirstAndOnNodeWritesThere() async throws {
    try await withMemcached(count: 3) { servers in
      let client = try makeClient(servers)
      let singles = try servers.map { try makeClient([$0], prefix: client.configuration.keyPrefix) }
      for index in 0..<30 {
        let key = "n\(index)"
        let nodes = try client.nodes(forKey: key, replicas: 2)
        #expect(Set(nodes).count == 3)
        #expect(client.configuration.servers[nodes[0]] == (try client.server(forKey: key)))
        #expect(try client.nodes(forKey: key, replicas: 1) == Array(nodes.prefix(2)))
        // A copy written on each of the other nodes lands there and nowhere else.
        let replica = nodes[1]
        try client.onNode(replica) { try $0.set(key, value: [UInt8(index)]) }
        for (node, single) in singles.enumerated() {
          #expect((try single.get(key) != nil) == (node == replica))
        }
      }
      #expect(try client.nodes(forKey: "k", replicas: 5).count == 3)
    }
  }

  @Test func aKilledNodeCostsAtMostOneFailedWriteAndComesBackAfterAProbe() async throws {
    try await withMemcached(count: 3) { servers in
      let client = try makeClient(servers) { $0.retryTimeout = .milliseconds(300) }
      let keys = (0..<300).map { "f\($0)" }
      let victimProcess = servers[1]
      let victim = victimProcess.server
      let onVictim = try keys.filter { try client.server(forKey: $0) == victim }
      #expect(!onVictim.isEmpty)
      victimProcess.stop()
      let died = ContinuousClock.now

      // The first touch of the dead node fails; after that its keys go to the other nodes.
      var failures = 0
      for key in keys {
        do {
          try client.set(key, value: [1])
          #expect(try client.get(key)?.value == [1])
        } catch let error as MemcachedError {
          failures += 1
          #expect(error.server == victim, "\(error)")
        }
      }
      #expect(failures <= 1)
      #expect(ContinuousClock.now - died < .seconds(2), "no call waited for the dead node")
      #expect(client.nodeStatus(1).isDown)
      #expect(try onVictim.allSatisfy { try client.server(forKey: $0) != victim })

      try victimProcess.start()
      // A background probe finds the node back; no call has to.
      let deadline = ContinuousClock.now + .seconds(10)
      while client.nodeStatus(1).isDown && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
      }
      #expect(!client.nodeStatus(1).isDown)
      #expect(client.nodeStatus(1).lastRecovery != nil)
      #expect(try onVictim.allSatisfy { try client.server(forKey: $0) == victim })
      for key in onVictim { try client.set(key, value: [2]) }
      let single = try makeClient([victimProcess], prefix: client.configuration.keyPrefix)
      #expect(try single.getMulti(onVictim).count == onVictim.count)
    }
  }

  @Test func withoutFailoverTheKeysOfADeadNodeFailFast() async throws {
    try await withMemcached(count: 2) { servers in
      let client = try makeClient(servers) { $0.failover = false }
      let keys = try (0..<40).map { "x\($0)" }.filter {
        try client.server(forKey: $0) == servers[0].server
      }
      servers[0].stop()
      _ = try? client.get(keys[0])
      let start = ContinuousClock.now
      for key in keys.dropFirst() {
        let error = try #require(throws: MemcachedError.self) { try client.set(key, value: [1]) }
        #expect(error.returnCode == .serverMarkedDead)
        #expect(error.server == servers[0].server)
      }
      #expect(ContinuousClock.now - start < .seconds(1))
    }
  }

  @Test func getMultiFindsKeysThatFailedOverToOtherNodes() async throws {
    try await withMemcached(count: 3) { servers in
      let client = try makeClient(servers)
      let keys = (0..<60).map { "m\($0)" }
      servers[2].stop()
      _ = try? client.get(
        try #require(try keys.first { try client.server(forKey: $0) == servers[2].server }))
      for key in keys { try client.set(key, value: Array(key.utf8)) }
      let found = try client.getMulti(keys)
      #expect(found.count == keys.count)
      #expect(found.allSatisfy { $0.value.value == Array($0.key.utf8) })
    }
  }
}
