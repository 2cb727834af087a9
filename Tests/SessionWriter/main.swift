// A helper process of the session contention tests:
//
//     SessionWriter SERVERS PREFIX ID NAME THREADS TRANSACTIONS WRITERS
//
// Once WRITERS helpers have started (they meet at a counter in memcached), runs THREADS threads
// of TRANSACTIONS merging transactions each on the session ID through the blocking API, each
// transaction setting a key of its own, `NAME-THREAD-INDEX`. SERVERS are `host:port`, comma-
// separated; sessions have one replica. Prints `gave-up N slowest-ms M` (the transactions that
// failed with a conflict, and the longest a commit took, waiting included) and exits 0; prints
// an error and exits 1 on anything else.

import Dispatch
import Foundation
import MCDUtils
import Memcached
import Synchronization

let arguments = CommandLine.arguments
guard arguments.count == 8, let threads = Int(arguments[5]), let transactions = Int(arguments[6]),
  let writers = UInt64(arguments[7])
else {
  FileHandle.standardError.write(
    Data("usage: SessionWriter SERVERS PREFIX ID NAME THREADS TRANSACTIONS WRITERS\n".utf8))
  exit(2)
}
let (id, name) = (arguments[3], arguments[4])

/// What the threads found, shared under a lock.
final class Outcome: Sendable {
  struct Counts {
    var gaveUp = 0
    var slowest = Duration.zero
    var failure: String?
  }
  let counts = Mutex(Counts())
}

func run() throws {
  var configuration = try MemcachedConfiguration(
    serverLines: arguments[1].split(separator: ",").joined(separator: "\n"))
  configuration.keyPrefix = arguments[2]
  configuration.replicas = 1
  let container = MemCacheSessionDataContainer(
    proxy: try MemCacheProxy(configuration: configuration), conflictPolicy: .merge)
  let client = try MemcachedClient(configuration: configuration)
  let ready = "\(id)-ready"
  _ = try client.increment(ready, by: 1, initial: 1, expiration: .after(.seconds(600)))
  let start = ContinuousClock.now
  while true {
    let item = try client.get(ready)
    if let item, let count = UInt64(String(decoding: item.value, as: UTF8.self)), count >= writers {
      break
    }
    guard ContinuousClock.now - start < .seconds(120) else {
      throw CommandError(description: "the other writers did not start")
    }
    Thread.sleep(forTimeInterval: 0.001)
  }

  let outcome = Outcome()
  let done = DispatchGroup()
  for thread in 0..<threads {
    done.enter()
    Thread.detachNewThread {
      defer { done.leave() }
      for index in 0..<transactions {
        let began = ContinuousClock.now
        do {
          try withTransaction { _ in
            try container.newOrExisting(id)["\(name)-\(thread)-\(index)"] = .int(Int64(index))
          }
        } catch MemCacheError.conflict {
          outcome.counts.withLock { $0.gaveUp += 1 }
        } catch {
          outcome.counts.withLock { $0.failure = $0.failure ?? "\(error)" }
        }
        let took = ContinuousClock.now - began
        outcome.counts.withLock { $0.slowest = max($0.slowest, took) }
      }
    }
  }
  done.wait()
  let counts = outcome.counts.withLock { $0 }
  if let failure = counts.failure { throw CommandError(description: failure) }
  let slowest =
    Double(counts.slowest.components.seconds) * 1000
    + Double(counts.slowest.components.attoseconds) / 1e15
  print("gave-up \(counts.gaveUp) slowest-ms \(Int(slowest.rounded(.up)))")
}

struct CommandError: Error, CustomStringConvertible {
  let description: String
}

do {
  try run()
} catch {
  FileHandle.standardError.write(Data("SessionWriter: \(error)\n".utf8))
  exit(1)
}
