import CBaseline
import Foundation
import Memcached

/// Calls `body` with `key`'s UTF-8 bytes as a C string pointer and length.
func withKey<R>(_ key: String, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
  var key = key
  return key.withUTF8 { bytes in
    bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, $0.count) }
  }
}

/// The single-key and multi-get cases: get_miss, set/get of 100 B, 4 KiB and 64 KiB, exist,
/// mget_100. Each is a pair, our client's row then the C baseline's, both on the first server.
///
/// The cases that read (get, exist, mget) store their keys first, so that each can run alone.
func clientCases(client: MemcachedClient, baseline: OpaquePointer, scale: Double)
  -> [BenchmarkCase]
{
  func scaled(_ count: Int) -> Int { max(20, Int(Double(count) * scale)) }
  var cases: [BenchmarkCase] = []
  /// Adds the pair: `keys` are set to `value` before either body is made.
  func pair(
    _ name: String, count: Int, bytes: Int, storing keys: [String] = [], value: [UInt8] = [],
    ours: @escaping (Int) -> Bool, baseline: @escaping () -> (Int) -> Bool
  ) {
    func stored<Body>(_ body: () -> Body) -> Body {
      for key in keys { try? client.set(key, value: value) }
      return body()
    }
    cases.append(
      BenchmarkCase(client: "mcdutils", name: name, count: scaled(count), bytes: bytes) {
        stored { .operation(ours) }
      })
    cases.append(
      BenchmarkCase(client: "c-libmemcached", name: name, count: scaled(count), bytes: bytes) {
        stored { .operation(baseline()) }
      })
  }

  pair(
    "get_miss", count: 20_000, bytes: 0,
    ours: { index in
      do {
        return try client.get("bench:miss:\(index)") == nil
      } catch {
        return false
      }
    },
    baseline: {
      { index in
        var length = 0
        return withKey("bench:miss:\(index)") { cbaseline_get(baseline, $0, $1, &length) } == 0
      }
    })
  let small = (0..<100).map { "bench:100:\($0)" }
  let smallValue = [UInt8](repeating: 0x61, count: 100)
  for (label, size, count) in [("100", 100, 20_000), ("4k", 4_096, 20_000), ("64k", 65_536, 2_000)]
  {
    let value = [UInt8](repeating: 0x61, count: size)
    let keys = (0..<100).map { "bench:\(label):\($0)" }
    pair(
      "set_\(label)", count: count, bytes: size,
      ours: { index in (try? client.set(keys[index % 100], value: value)) != nil },
      baseline: {
        { index in
          value.withUnsafeBytes { bytes in
            withKey(keys[index % 100]) {
              cbaseline_set(baseline, $0, $1, bytes.baseAddress, bytes.count, 0)
            }
          } == 0
        }
      })
    pair(
      "get_\(label)", count: count, bytes: size, storing: keys, value: value,
      ours: { index in (try? client.get(keys[index % 100]))??.value.count == size },
      baseline: {
        { index in
          var length = 0
          let hit = withKey(keys[index % 100]) { cbaseline_get(baseline, $0, $1, &length) }
          return hit == 1 && length == size
        }
      })
  }
  pair(
    "exist", count: 20_000, bytes: 100, storing: small, value: smallValue,
    ours: { index in (try? client.exists("bench:100:\(index % 100)")) == true },
    baseline: {
      { index in withKey("bench:100:\(index % 100)") { cbaseline_exist(baseline, $0, $1) } == 1 }
    })
  pair(
    "mget_100", count: 2_000, bytes: 100 * 100, storing: small, value: smallValue,
    ours: { _ in (try? client.getMulti(small))?.count == 100 },
    baseline: {
      // Kept for the life of the process: the harness runs each case a few times and exits.
      let pointers: [UnsafePointer<CChar>?] = small.map { UnsafePointer(strdup($0)) }
      let lengths = small.map { $0.utf8.count }
      return { _ in cbaseline_mget(baseline, pointers, lengths, pointers.count) == 100 }
    })
  return cases
}
