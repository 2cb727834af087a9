import Memcached
import Metrics
import Synchronization

/// The session copies a proxy puts back in the background: those its writes could not reach,
/// once their node answers again, and those its reads found missing or older.
final class SessionRepairs: Sendable {
  /// How many skipped copies are remembered; beyond, the next write of the session (or an
  /// operator's repair) puts them back.
  static let rememberedLimit = 10_000
  /// How many reads' repairs wait at most; a read that finds more leaves it to a later read.
  static let readQueueLimit = 1_000
  /// How many tasks run read repairs at once.
  static let readWorkerLimit = 4

  /// What a remembered copy needs: its session's key and the lifetime its reader gave.
  private struct Remembered: Sendable {
    let key: String
    let lifetime: Duration
    let node: Int
  }

  private struct State {
    /// By node, the sessions whose copy there a write could not reach, with their lifetimes.
    var skipped: [Int: [String: Duration]] = [:]
    var skippedCount = 0
    /// The sessions with a repair in flight: at most one each.
    var inFlight: Set<String> = []
    /// What reads found to repair, waiting for a worker.
    var readQueue: [SessionCopies] = []
    var readWorkers = 0
  }

  private let state = Mutex(State())
  /// Whether `skipped` holds anything: the one check every session operation makes.
  private let hasSkipped = Atomic<Bool>(false)
  /// Copies a session write could not write.
  let skippedCopies = Counter(label: "mcdutils_session_copies_skipped")
  private let repairedAfterWrite = Counter(
    label: "mcdutils_session_copies_repaired", dimensions: [("trigger", "write")])
  private let repairedAfterRead = Counter(
    label: "mcdutils_session_copies_repaired", dimensions: [("trigger", "read")])

  /// Counts a copy a write could not reach, and remembers it to put back when its node answers.
  func skipped(_ key: String, node: Int, lifetime: Duration) {
    skippedCopies.increment()
    state.withLock { state in
      guard state.skippedCount < Self.rememberedLimit,
        state.skipped[node, default: [:]].updateValue(lifetime, forKey: key) == nil
      else { return }
      state.skippedCount += 1
    }
    hasSkipped.store(true, ordering: .relaxed)
  }

  /// Starts putting back the remembered copies of every node that answers again.
  func resumeIfDue(_ proxy: MemCacheProxy, on connection: any MemcachedOperations) {
    guard hasSkipped.load(ordering: .relaxed) else { return }
    let waiting = state.withLock { Array($0.skipped.keys) }
    let back = waiting.filter { !connection.nodeStatus($0).isDown }
    guard !back.isEmpty else { return }
    let batch = state.withLock { state -> [Remembered] in
      var batch: [Remembered] = []
      for node in back {
        guard let sessions = state.skipped.removeValue(forKey: node) else { continue }
        state.skippedCount -= sessions.count
        for (key, lifetime) in sessions where state.inFlight.insert(key).inserted {
          batch.append(Remembered(key: key, lifetime: lifetime, node: node))
        }
      }
      if state.skipped.isEmpty { hasSkipped.store(false, ordering: .relaxed) }
      return batch
    }
    guard !batch.isEmpty else { return }
    Task.detached {
      await self.repairRemembered(batch, proxy)
    }
  }

  /// Puts back the newest copy of each remembered session, read again from every node.
  private func repairRemembered(_ batch: [Remembered], _ proxy: MemCacheProxy) async {
    do {
      // The body throws nothing: when `run` throws, it never ran.
      try await proxy.run { connection in
        for remembered in batch {
          defer { self.finish(remembered.key) }
          do throws(MemCacheError) {
            let counts = try SessionCopies.repairEveryCopy(
              remembered.key, on: connection, proxy: proxy, lifetime: remembered.lifetime
            ).counts
            self.repairedAfterWrite.increment(by: counts.written)
            for node in counts.unreachableNodes {
              self.skipped(remembered.key, node: node, lifetime: remembered.lifetime)
            }
          } catch {
            if error.isUnavailable {
              self.skipped(remembered.key, node: remembered.node, lifetime: remembered.lifetime)
            }
            proxy.logger.debug(
              "a session copy could not be repaired", metadata: ["error": "\(error)"])
          }
        }
      }
    } catch {
      proxy.logger.debug("session copies could not be repaired", metadata: ["error": "\(error)"])
      for remembered in batch { finish(remembered.key) }
    }
  }

  /// Repairs, after the read that found them, the copies that `copies` shows missing or older:
  /// queued (``readQueueLimit`` at most, one per session), and run by ``readWorkerLimit``
  /// tasks at most, so that no request waits for them.
  func repairInBackground(_ copies: SessionCopies) {
    guard let proxy = copies.proxy else { return }
    let startWorker = state.withLock { state -> Bool in
      guard state.readQueue.count < Self.readQueueLimit, state.inFlight.insert(copies.key).inserted
      else { return false }
      state.readQueue.append(copies)
      guard state.readWorkers < Self.readWorkerLimit else { return false }
      state.readWorkers += 1
      return true
    }
    guard startWorker else { return }
    Task.detached {
      await self.drainReadQueue(proxy)
    }
  }

  /// Repairs queued reads' copies until the queue is empty.
  private func drainReadQueue(_ proxy: MemCacheProxy) async {
    while let copies = nextQueued() {
      defer { finish(copies.key) }
      do {
        let counts = try await proxy.run { copies.repair(on: $0) }
        repairedAfterRead.increment(by: counts.written)
      } catch {
        proxy.logger.debug("a session copy could not be repaired", metadata: ["error": "\(error)"])
      }
    }
  }

  /// The next queued repair, or `nil` (and one worker fewer) when there is none.
  private func nextQueued() -> SessionCopies? {
    state.withLock { state in
      guard !state.readQueue.isEmpty else {
        state.readWorkers -= 1
        return nil
      }
      return state.readQueue.removeFirst()
    }
  }

  private func finish(_ key: String) {
    _ = state.withLock { $0.inFlight.remove(key) }
  }
}
