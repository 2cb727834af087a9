import CBaseline
import Foundation
import MCDUtils
import Memcached

/// Sessions on one pool: 100 stored sessions and the request cycles the session cases time.
struct SessionRequests: Sendable {
  let pool: MemcachedPool
  let proxy: MemCacheProxy
  let container: MemCacheSessionDataContainer
  /// The size of a stored session, in bytes.
  let sessionSize: Int

  /// Opens a pool on `configuration` and stores the sessions `sess-0` to `sess-99`, sealed
  /// with `sealing` when it is given.
  init(configuration: MemcachedConfiguration, sealing: SealingKeyRing? = nil) throws {
    let pool = try MemcachedPool(configuration: configuration)
    self.pool = pool
    proxy = MemCacheProxy(store: pool, sealing: sealing)
    let container = MemCacheSessionDataContainer(proxy: proxy)
    self.container = container
    for index in 0..<100 {
      try withTransaction { _ in Self.fill(try container.newOrExisting("sess-\(index)"), 0) }
    }
    sessionSize = (try pool.withConnection { try $0.get("sess-0") })?.value.count ?? 0
  }

  /// Stores a session's ten items; only `visits` changes from one request to the next.
  static func fill(_ session: MemCacheMapping, _ visits: Int) {
    session["user_id"] = 4711
    session["user_name"] = "alice.example"
    session["lang"] = "en-GB"
    session["theme"] = "dark"
    session["score"] = 1234.5678
    session["visits"] = .int(Int64(visits))
    session["roles"] = ["Member", "Reviewer", "Editor"]
    session["last_path"] = "/site/folder/document-42/view"
    session["recent_ids"] = [101, 202, 303, 404, 505]
    session["csrf"] = "4f9c2d7e8a1b3c5d6e7f8a9b0c1d2e3f"
  }

  /// Whether `session` holds what ``fill(_:_:)`` stores.
  static func isComplete(_ session: MemCacheMapping) -> Bool {
    session["user_id"] == 4711 && session["user_name"] == "alice.example"
      && session["lang"] != nil && session["theme"] != nil && session["score"] != nil
      && session["visits"] != nil && session["roles"] != nil && session["last_path"] != nil
      && session["recent_ids"] != nil && session["csrf"] != nil
  }

  /// A request that writes its session: read it, change every item, commit.
  func write(_ index: Int) -> Bool {
    (try? withTransaction { _ in
      Self.fill(try container.newOrExisting("sess-\(index % 100)"), index)
    }) != nil
  }

  /// A request that reads its session and changes nothing.
  func read(_ index: Int) -> Bool {
    (try? withTransaction { _ in
      try container.get("sess-\(index % 100)").map(Self.isComplete) ?? false
    }) ?? false
  }

  /// The async form of ``write(_:)``.
  func writeAsync(_ index: Int) async -> Bool {
    (try? await withTransaction { _ in
      Self.fill(try await container.newOrExisting("sess-\(index % 100)"), index)
    }) != nil
  }

  /// The async form of ``read(_:)``.
  func readAsync(_ index: Int) async -> Bool {
    (try? await withTransaction { _ in
      try await container.get("sess-\(index % 100)").map(Self.isComplete) ?? false
    }) ?? false
  }
}

/// The session and page-cache cases, and the C rows that emulate a session's round trips.
///
/// The session cases run on a pool of every server given (`replicas = 0`); with two servers or
/// more, the `_r1` cases repeat the blocking ones on a second pool with `replicas = 1`. The C
/// emulation runs on the first server alone, as the client cases do.
final class SessionCases: Sendable {
  /// The pool the session cases run on, without replicas.
  let sessions: SessionRequests
  /// The same servers with `replicas = 1`; `nil` with one server.
  let replicated: SessionRequests?
  /// The same servers, without replicas, with every session sealed (AES-GCM).
  let sealed: SessionRequests
  let zcache: MemCacheZCache
  let count: Int
  let page = CacheablePath(["site", "folder", "document-42"])
  let pageValue = String(repeating: "p", count: 4_096)

  /// - Parameter configuration: the servers and the async execution; the pools get a pool size
  ///   of 16 (for the concurrent case), their own key prefix and their replicas here.
  init(configuration: MemcachedConfiguration, scale: Double) throws {
    var configuration = configuration
    configuration.poolSize = 16
    configuration.keyPrefix = "bench:"
    configuration.replicas = 0
    sessions = try SessionRequests(configuration: configuration)
    var sealedConfiguration = configuration
    sealedConfiguration.keyPrefix = "bench:sealed:"
    sealed = try SessionRequests(configuration: sealedConfiguration, sealing: Self.randomRing())
    if configuration.servers.count >= 2 {
      configuration.keyPrefix = "bench:r1:"
      configuration.replicas = 1
      replicated = try SessionRequests(configuration: configuration)
    } else {
      replicated = nil
    }
    count = max(20, Int(5_000 * scale))
    var manager = MemCacheZCacheManager(title: "bench", proxy: sessions.proxy)
    manager.requestNames = ["lang", "theme"]
    zcache = try manager.cache()
  }

  /// The cases in the harness's order. `baseline` is the C handle on the first server, and
  /// `first` that server's address, for the C emulation's own threads.
  func cases(baseline: OpaquePointer, first: (host: String, port: Int)) -> [BenchmarkCase] {
    let (count, sessions, sessionSize) = (count, sessions, sessions.sessionSize)
    /// A blocking session case: `body` of `requests`.
    func sessionCase(
      _ name: String, _ requests: SessionRequests,
      _ body: @escaping (SessionRequests) -> (Int) -> Bool
    ) -> BenchmarkCase {
      BenchmarkCase(
        name: name, count: count, bytes: requests.sessionSize, operation: body(requests))
    }
    let value = [UInt8](repeating: 0x73, count: sessionSize)
    /// The C emulation of a session write: the session's get, then its set.
    let emulatedWrite = { (index: Int) -> Bool in
      value.withUnsafeBytes { bytes in
        withKey("bench:emul-\(index % 100)") {
          cbaseline_session_write(baseline, $0, $1, bytes.baseAddress, bytes.count)
        }
      } == 0
    }
    var cases = [
      sessionCase("session_write", sessions, SessionRequests.write),
      BenchmarkCase(
        client: "c-libmemcached", name: "sess_write_emul", count: count, bytes: sessionSize,
        operation: emulatedWrite),
      sessionCase("session_read", sessions, SessionRequests.read),
      BenchmarkCase(
        client: "c-libmemcached", name: "sess_read_emul", count: count, bytes: sessionSize
      ) {
        // The sessions it reads are the ones sess_write_emul writes: every one of them.
        for index in 0..<100 { _ = emulatedWrite(index) }
        return .operation { index in
          var length = 0
          return withKey("bench:emul-\(index % 100)") {
            cbaseline_get(baseline, $0, $1, &length)
          } == 1 && length == sessionSize
        }
      },
    ]
    cases += [
      sessionCase("session_write_sealed", sealed, SessionRequests.write),
      sessionCase("session_read_sealed", sealed, SessionRequests.read),
    ]
    if let replicated {
      cases += [
        sessionCase("session_write_r1", replicated, SessionRequests.write),
        sessionCase("session_read_r1", replicated, SessionRequests.read),
      ]
    }
    cases += [
      BenchmarkCase(
        client: "mcdutils", name: "session_write_async", count: count, bytes: sessionSize
      ) { .asyncOperation(sessions.writeAsync) },
      BenchmarkCase(
        client: "mcdutils", name: "session_read_async", count: count, bytes: sessionSize
      ) { .asyncOperation(sessions.readAsync) },
      BenchmarkCase(client: "mcdutils", name: "session_write_c16", count: count, bytes: sessionSize)
      {
        .timed {
          await measure(count: count, bytes: sessionSize) { indices in
            await concurrently(tasks: 16, over: indices, sessions.writeAsync)
          }
        }
      },
      BenchmarkCase(
        client: "c-libmemcached", name: "sess_write_emul_c16", count: count, bytes: sessionSize
      ) {
        .timed {
          let run = cbaseline_session_write_threads(
            first.host, Int32(first.port), 16, count, sessionSize)
          return Measurement(
            operations: run.operations, seconds: run.seconds, cpuSeconds: run.cpu_seconds,
            errors: run.errors, bytes: sessionSize)
        }
      },
    ]
    cases += zcacheCases()
    return cases
  }

  /// A ring of one random key, as a key file gives it.
  private static func randomRing() throws -> SealingKeyRing {
    var generator = SystemRandomNumberGenerator()
    let key = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    return try SealingKeyRing(keyFileContents: Data(key).base64EncodedString())
  }

  /// zcache_set, zcache_get and zcache_invalidate: a 4 KiB page under ten request variants.
  private func zcacheCases() -> [BenchmarkCase] {
    let (zcache, page, pageValue) = (zcache, page, pageValue)
    let bytes = pageValue.utf8.count
    return [
      BenchmarkCase(name: "zcache_set", count: count, bytes: bytes) { index in
        (try? zcache.set(
          pageValue, for: page, view: "index_html",
          request: ["lang": "en", "theme": "t\(index % 10)"])) != nil
      },
      BenchmarkCase(name: "zcache_get", count: count, bytes: bytes) { index in
        let request = ["lang": "en", "theme": "t\(index % 10)"]
        if zcache.get(String.self, for: page, view: "index_html", request: request) == pageValue {
          return true
        }
        // Refill after an invalidation from the rep before.
        try? zcache.set(pageValue, for: page, view: "index_html", request: request)
        return zcache.get(String.self, for: page, view: "index_html", request: request)
          == pageValue
      },
      BenchmarkCase(name: "zcache_invalidate", count: count, bytes: 0) { _ in
        (try? zcache.invalidate(page)) != nil
      },
    ]
  }
}

/// Runs `body` for every index of `indices` from `tasks` concurrent tasks, task `t` taking the
/// indices `t`, `t + tasks`, … from the start; returns how many results did not check out.
func concurrently(
  tasks: Int, over indices: Range<Int>, _ body: @escaping @Sendable (Int) async -> Bool
) async -> Int {
  await withTaskGroup(of: Int.self) { group in
    for task in 0..<tasks {
      group.addTask {
        let share = stride(from: indices.lowerBound + task, to: indices.upperBound, by: tasks)
        return await failures(awaiting: body, over: share)
      }
    }
    return await group.reduce(0, +)
  }
}
