import Foundation
import Memcached
import MemcachedTestSupport
import Testing

/// A node restarted on its port is used again at once, by the pool's open connections.
@Suite struct RestartTests {
  @Test func aWriteAfterARestartReopensItsConnectionAndReachesTheNode() async throws {
    try await withMemcached(count: 2) { processes in
      let pool = try makePool(processes.map(\.server)) { $0.retryTimeout = .seconds(30) }
      // Every write goes to node 0, over a connection opened before the restart.
      try await pool.withConnection { client in
        try client.onNode(0) { try $0.set("before", value: [1]) }
      }
      try await onOwnThread { try processes[0].restart() }
      try await pool.withConnection { client in
        try client.onNode(0) { try $0.set("after", value: [2]) }
        #expect(try client.onNode(0) { try $0.get("after") }?.value == [2])
        // Not marked down (its probe would come only 30 s later), and taken as back now: it
        // may have lost its items.
        #expect(!client.nodeStatus(0).isDown)
        #expect(client.nodeStatus(0).lastRecovery != nil)
      }
    }
  }
}
