import CBaseline
import Foundation
import MCDUtils
import Memcached

/// The session and page-cache cases, and the C rows that emulate a session's round trips.
final class SessionCases: @unchecked Sendable {
  // @unchecked: the harness runs the cases one after another from the main task.
  let proxy: MemCacheProxy
  let pool: MemcachedPool
  let container: MemCacheSessionDataContainer
  let count: Int
  let sessionSize: Int
  let zcache: MemCacheZCache
  let page = CacheablePath(["site", "folder", "document-42"])
  let pageValue = String(repeating: "p", count: 4_096)

  init(configuration: MemcachedConfiguration, scale: Double) throws {
    var configuration = configuration
    configuration.keyPrefix = "bench:"
    let pool = try MemcachedPool(configuration: configuration)
    self.pool = pool
    proxy = MemCacheProxy(store: pool)
    let container = MemCacheSessionDataContainer(proxy: proxy)
    self.container = container
    count = max(20, Int(5_000 * scale))
    for index in 0..<100 {
      try withTransaction { _ in Self.fill(try container.newOrExisting("sess-\(index)"), 0) }
    }
    sessionSize = (try pool.withConnection { try $0.get("sess-0") })?.value.count ?? 0
    var manager = MemCacheZCacheManager(title: "bench", proxy: proxy)
    manager.requestNames = ["lang", "theme"]
    zcache = try manager.cache()
  }

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

  static func read(_ session: MemCacheMapping) -> Bool {
    session["user_id"] == 4711 && session["user_name"] == "alice.example"
      && session["lang"] != nil && session["theme"] != nil && session["score"] != nil
      && session["visits"] != nil && session["roles"] != nil && session["last_path"] != nil
      && session["recent_ids"] != nil && session["csrf"] != nil
  }

  func writeCycle(_ index: Int) -> Bool {
    (try? withTransaction { _ in
      Self.fill(try container.newOrExisting("sess-\(index % 100)"), index)
    }) != nil
  }

  func readCycle(_ index: Int) -> Bool {
    (try? withTransaction { _ in
      try container.get("sess-\(index % 100)").map(Self.read) ?? false
    }) ?? false
  }

  func writeCycleAsync(_ index: Int) async -> Bool {
    (try? await withTransaction { _ in
      Self.fill(try await container.newOrExisting("sess-\(index % 100)"), index)
    }) != nil
  }

  func readCycleAsync(_ index: Int) async -> Bool {
    (try? await withTransaction { _ in
      try await container.get("sess-\(index % 100)").map(Self.read) ?? false
    }) ?? false
  }

  func run(rep: Int, baseline: OpaquePointer, selected: (String) -> Bool) async {
    func emit(_ client: String, _ name: String, _ measurement: Measurement) {
      print(row(client: client, name: name, rep: rep, measurement))
    }
    if selected("session_write") {
      emit("mcdutils", "session_write", measure(count: count, bytes: sessionSize, writeCycle))
    }
    if selected("sess_write_emul") {
      let value = [UInt8](repeating: 0x73, count: sessionSize)
      emit(
        "c-libmemcached", "sess_write_emul",
        measure(count: count, bytes: sessionSize) { index in
          var length = 0
          let key = "bench:emul-\(index % 100)"
          _ = withKey(key) { cbaseline_get(baseline, $0, $1, &length) }
          return value.withUnsafeBytes { bytes in
            withKey(key) { cbaseline_set(baseline, $0, $1, bytes.baseAddress, bytes.count, 0) }
          } == 0
        })
    }
    if selected("session_read") {
      emit("mcdutils", "session_read", measure(count: count, bytes: sessionSize, readCycle))
    }
    if selected("sess_read_emul") {
      emit(
        "c-libmemcached", "sess_read_emul",
        measure(count: count, bytes: sessionSize) { index in
          var length = 0
          return withKey("bench:emul-\(index % 100)") {
            cbaseline_get(baseline, $0, $1, &length)
          } == 1 && length == sessionSize
        })
    }
    if selected("session_write_async") {
      emit(
        "mcdutils", "session_write_async",
        await measureAsync(count: count, bytes: sessionSize) { await self.writeCycleAsync($0) })
    }
    if selected("session_read_async") {
      emit(
        "mcdutils", "session_read_async",
        await measureAsync(count: count, bytes: sessionSize) { await self.readCycleAsync($0) })
    }
    if selected("session_write_c16") {
      emit("mcdutils", "session_write_c16", await concurrentWrites(tasks: 16))
    }
    if selected("zcache_set") {
      emit(
        "mcdutils", "zcache_set",
        measure(count: count, bytes: pageValue.utf8.count) { index in
          (try? self.zcache.set(
            self.pageValue, for: self.page, view: "index_html",
            request: ["lang": "en", "theme": "t\(index % 10)"])) != nil
        })
    }
    if selected("zcache_get") {
      emit(
        "mcdutils", "zcache_get",
        measure(count: count, bytes: pageValue.utf8.count) { index in
          let request = ["lang": "en", "theme": "t\(index % 10)"]
          if self.zcache.get(String.self, for: self.page, view: "index_html", request: request)
            == self.pageValue
          {
            return true
          }
          // Refill after an invalidation from the rep before.
          try? self.zcache.set(self.pageValue, for: self.page, view: "index_html", request: request)
          return self.zcache.get(
            String.self, for: self.page, view: "index_html", request: request) == self.pageValue
        })
    }
    if selected("zcache_invalidate") {
      emit(
        "mcdutils", "zcache_invalidate",
        measure(count: count, bytes: 0) { _ in (try? self.zcache.invalidate(self.page)) != nil })
    }
  }

  private func concurrentWrites(tasks: Int) async -> Measurement {
    let perTask = max(1, count / tasks)
    for index in 0..<max(10, count / 10) { _ = writeCycle(index) }
    let cpuStart = cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    let errors = await withTaskGroup(of: Int.self) { group in
      for task in 0..<tasks {
        group.addTask {
          var errors = 0
          for step in 0..<perTask where !(await self.writeCycleAsync(task * perTask + step)) {
            errors += 1
          }
          return errors
        }
      }
      return await group.reduce(0, +)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return Measurement(
      operations: perTask * tasks, seconds: seconds, cpuSeconds: cpuSeconds() - cpuStart,
      errors: errors, bytes: sessionSize)
  }
}
