// Micro suites for the paths that need no network: the codec, SessionValue Codable bridging,
// aggregateKey and the short storage key, key checking and InProcessStore. Every benchmark runs
// its operation `benchmark.scaledIterations` (1,000) times per sample; the plugin's text output
// divides the metrics marked `*` by that factor, so they read per operation (`--scale` shows them
// per sample instead).

import Benchmark
import MCDUtils
import Memcached

/// The session items of the harness's `session_write` case plus a 1,000-character note, as a
/// Codable struct.
struct SessionPayload: Codable, Equatable {
  var userID: Int
  var userName: String
  var lang: String
  var theme: String
  var score: Double
  var visits: Int
  var roles: [String]
  var lastPath: String
  var recentIDs: [Int]
  var csrf: String
  var note: String

  enum CodingKeys: String, CodingKey {
    case userID = "user_id"
    case userName = "user_name"
    case lang, theme, score, visits, roles
    case lastPath = "last_path"
    case recentIDs = "recent_ids"
    case csrf, note
  }

  static let sample = SessionPayload(
    userID: 4711, userName: "alice.example", lang: "en-GB", theme: "dark", score: 1234.5678,
    visits: 17, roles: ["Member", "Reviewer", "Editor"], lastPath: "/site/folder/document-42/view",
    recentIDs: [101, 202, 303, 404, 505], csrf: "4f9c2d7e8a1b3c5d6e7f8a9b0c1d2e3f",
    note: String(repeating: "n", count: 1000))
}

/// Stops the run with a message when a benchmark's operation gives a wrong result.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
  if !condition { fatalError("MicroSuites: \(message())") }
}

/// The benchmarks of this suite, found by the benchmark plugin.
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
    scalingFactor: .kilo,
    maxDuration: .seconds(2),
    maxIterations: 1000)

  codecBenchmarks()
  bridgingBenchmarks()
  keyBenchmarks()
  storeBenchmarks()
}

/// `ValueFormat.encode`/`decode` of the session map and of the Codable struct.
func codecBenchmarks() {
  let payload = SessionPayload.sample
  let map = try! SessionValueEncoder().encode(payload)
  let mapEncoded = try! ValueFormat.encode(map)
  let structEncoded = try! ValueFormat.encode(payload)
  check(mapEncoded.bytes == structEncoded.bytes, "map and struct encode differently")
  check(map.mapValue?.count == 11, "the map has \(map.mapValue?.count ?? 0) entries")

  Benchmark("codec encode SessionValue map (\(mapEncoded.bytes.count) B)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try! ValueFormat.encode(map))
    }
  }
  Benchmark("codec decode SessionValue map (\(mapEncoded.bytes.count) B)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try! ValueFormat.decode(mapEncoded.bytes, flags: mapEncoded.flags))
    }
  }
  Benchmark("codec encode Codable struct (\(structEncoded.bytes.count) B)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try! ValueFormat.encode(payload))
    }
  }
  Benchmark("codec decode Codable struct (\(structEncoded.bytes.count) B)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(
        try! ValueFormat.decode(
          SessionPayload.self, from: structEncoded.bytes, flags: structEncoded.flags))
    }
  }
}

/// `SessionValueEncoder` and `SessionValueDecoder` on the Codable struct.
func bridgingBenchmarks() {
  let payload = SessionPayload.sample
  let value = try! SessionValueEncoder().encode(payload)
  check(
    try! SessionValueDecoder().decode(SessionPayload.self, from: value) == payload,
    "the struct does not survive bridging")

  Benchmark("SessionValueEncoder.encode struct") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try! SessionValueEncoder().encode(payload))
    }
  }
  Benchmark("SessionValueDecoder.decode struct") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try! SessionValueDecoder().decode(SessionPayload.self, from: value))
    }
  }
}

/// `aggregateKey`, the short (SHA-256) storage key of a long path, and `MemcachedKey.validate`.
func keyBenchmarks() {
  let path = ["site", "folder", "document-42"]
  let request = ["lang": "en-GB", "skin": "plone", "unused": "x"]
  let requestNames = ["lang", "skin"]
  check(
    aggregateKey(path: path, view: "index_html", request: request, requestNames: requestNames)
      == "site/folder/document-42|index_html|lang:en-GB,skin:plone|",
    "unexpected aggregate key")

  let zcache = MemCacheZCache(store: InProcessStore(), requestNames: requestNames)
  let longPath = CacheablePath(
    ["", "site"] + (0..<30).map { "folder-with-a-long-name-\($0)" } + ["document-42"])
  let shortKey = zcache.storageKey(
    for: longPath, view: "index_html", request: request)
  check(shortKey.contains("#sha256:"), "the long key is not shortened: \(shortKey)")
  check(shortKey.utf8.count <= MemcachedKey.maximumLength, "the short key is too long")

  let sessionID = "a3f1c9e27b4d5086f1e2d3c4b5a69788d0e1f2a3"
  check(sessionID.utf8.count == 40, "the session id is not 40 bytes")

  Benchmark("aggregateKey document-42, 2 request names") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(
        aggregateKey(path: path, view: "index_html", request: request, requestNames: requestNames)
      )
    }
  }
  Benchmark("aggregateKey long path (\(longPath.physicalPath.count) components)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(
        aggregateKey(
          path: longPath.physicalPath, view: "index_html", request: request,
          requestNames: requestNames))
    }
  }
  Benchmark("storageKey long path (SHA-256 short form)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(zcache.storageKey(for: longPath, view: "index_html", request: request))
    }
  }
  Benchmark("MemcachedKey.validate 40-byte session id") { benchmark in
    for _ in benchmark.scaledIterations {
      try! MemcachedKey.validate(sessionID)
    }
  }
}

/// `InProcessStore` set, get and cas of a 1 KiB value.
func storeBenchmarks() {
  let value = [UInt8](repeating: 0x61, count: 1024)
  let key = "session:a3f1c9e27b4d5086f1e2d3c4b5a69788d0e1f2a3"

  Benchmark("InProcessStore set 1 KiB") { benchmark in
    let store = InProcessStore()
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      try! store.set(key, value: value, flags: 0, expiration: .never)
    }
  }
  Benchmark("InProcessStore get 1 KiB") { benchmark in
    let store = InProcessStore()
    try! store.set(key, value: value, flags: 0, expiration: .never)
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      let item = try! store.get(key)
      check(item?.value.count == 1024, "get missed")
      blackHole(item)
    }
  }
  Benchmark("InProcessStore cas 1 KiB") { benchmark in
    let store = InProcessStore()
    try! store.set(key, value: value, flags: 0, expiration: .never)
    var cas = try! store.get(key)!.cas
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      let result = try! store.cas(key, value: value, cas: cas, flags: 0, expiration: .never)
      check(result == .stored, "cas did not store: \(result)")
      // Each write takes the store's next CAS value, and nothing else writes to this store.
      cas += 1
    }
    benchmark.stopMeasurement()
    check(try! store.get(key)!.cas == cas, "the CAS values are not consecutive")
  }
}
