import Foundation
import Memcached
import TestSupport
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

  @Test func withOneReplicaAValueSurvivesTheDeathOfItsNode() async throws {
    try await withMemcached(count: 3) { servers in
      let client = try makeClient(servers) {
        $0.replicas = 1
        $0.retryTimeout = .seconds(1)
      }
      #expect(client.configuration.removeFailedServers == false)
      let keys = (0..<200).map { "r\($0)" }
      for key in keys { try client.set(key, value: Array(key.utf8)) }
      let victim = try client.server(forKey: keys[0])
      let process = try #require(servers.first { $0.server == victim })
      let onVictim = try keys.filter { try client.server(forKey: $0) == victim }
      process.stop()
      for key in onVictim {
        let item = try client.get(key)
        #expect(item?.value == Array(key.utf8), "key on the dead node")
      }
    }
  }

  @Test func withFailoverOperationsContinueAndTheNodeReturnsAfterTheDeadTimeout() async throws {
    try await withMemcached(count: 3) { servers in
      let client = try makeClient(servers) {
        $0.serverFailureLimit = 1
        $0.retryTimeout = .seconds(1)
        $0.deadTimeout = .seconds(2)
      }
      let keys = (0..<60).map { "f\($0)" }
      let victimProcess = servers[1]
      let victim = victimProcess.server
      let onVictim = try keys.filter { try client.server(forKey: $0) == victim }
      #expect(!onVictim.isEmpty)
      victimProcess.stop()
      let died = ContinuousClock.now

      // The first touch of the dead node fails; after that its keys go to the other nodes.
      var failures = 0
      for key in onVictim {
        do {
          try client.set(key, value: [1])
          #expect(try client.get(key)?.value == [1])
        } catch let error as MemcachedError {
          failures += 1
          #expect(
            error.server == victim || error.isNoServerAvailable
              || error.returnCode == .connectionFailure)
        }
      }
      #expect(failures <= 1)
      #expect(
        ContinuousClock.now - died < .seconds(1), "operations continued within the retry timeout")
      #expect(try onVictim.allSatisfy { try client.server(forKey: $0) != victim })

      try victimProcess.start()
      try await Task.sleep(for: .milliseconds(3_200))
      // The first operation after the dead timeout puts the node back into the ring.
      _ = try? client.get(onVictim[0])
      _ = try? client.get(onVictim[0])
      #expect(try onVictim.contains { try client.server(forKey: $0) == victim })
      for key in onVictim { try client.set(key, value: [2]) }
      let single = try makeClient([victimProcess], prefix: client.configuration.keyPrefix)
      #expect(
        try single.getMulti(onVictim).isEmpty == false, "the restarted node stores keys again")
    }
  }
}
