import CBaseline
import Foundation
import Memcached

/// A case measured for our client and for the C baseline in the same rep, back to back.
struct PairedCase {
  let name: String
  let count: Int
  let bytes: Int
  let ours: (MemcachedClient) -> (Int) -> Bool
  let baseline: (OpaquePointer) -> (Int) -> Bool
}

func withKey<R>(_ key: String, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
  var key = key
  return key.withUTF8 { bytes in
    bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!, $0.count) }
  }
}

/// The single-key and multi-get cases: get_miss, set/get of 100 B, 4 KiB and 64 KiB, exist,
/// mget_100.
func clientCases(scale: Double) -> [PairedCase] {
  func scaled(_ count: Int) -> Int { max(20, Int(Double(count) * scale)) }
  var cases: [PairedCase] = []
  cases.append(
    PairedCase(
      name: "get_miss", count: scaled(20_000), bytes: 0,
      ours: { client in
        { index in
          do {
            return try client.get("bench:miss:\(index)") == nil
          } catch {
            return false
          }
        }
      },
      baseline: { handle in
        { index in
          var length = 0
          return withKey("bench:miss:\(index)") { cbaseline_get(handle, $0, $1, &length) } == 0
        }
      }))
  for (label, size, count) in [("100", 100, 20_000), ("4k", 4_096, 20_000), ("64k", 65_536, 2_000)]
  {
    let value = [UInt8](repeating: 0x61, count: size)
    let keys = (0..<100).map { "bench:\(label):\($0)" }
    cases.append(
      PairedCase(
        name: "set_\(label)", count: scaled(count), bytes: size,
        ours: { client in
          { index in (try? client.set(keys[index % 100], value: value)) != nil }
        },
        baseline: { handle in
          { index in
            value.withUnsafeBytes { bytes in
              withKey(keys[index % 100]) {
                cbaseline_set(handle, $0, $1, bytes.baseAddress, bytes.count, 0)
              }
            } == 0
          }
        }))
    cases.append(
      PairedCase(
        name: "get_\(label)", count: scaled(count), bytes: size,
        ours: { client in
          { index in (try? client.get(keys[index % 100]))??.value.count == size }
        },
        baseline: { handle in
          { index in
            var length = 0
            let hit = withKey(keys[index % 100]) { cbaseline_get(handle, $0, $1, &length) }
            return hit == 1 && length == size
          }
        }))
  }
  cases.append(
    PairedCase(
      name: "exist", count: scaled(20_000), bytes: 100,
      ours: { client in { index in (try? client.exists("bench:100:\(index % 100)")) == true } },
      baseline: { handle in
        { index in withKey("bench:100:\(index % 100)") { cbaseline_exist(handle, $0, $1) } == 1 }
      }))
  let multiKeys = (0..<100).map { "bench:100:\($0)" }
  cases.append(
    PairedCase(
      name: "mget_100", count: scaled(2_000), bytes: 100 * 100,
      ours: { client in { _ in (try? client.getMulti(multiKeys))?.count == 100 } },
      baseline: { handle in
        // Kept for the life of the process: the harness runs each case a few times and exits.
        let pointers: [UnsafePointer<CChar>?] = multiKeys.map { UnsafePointer(strdup($0)) }
        let lengths = multiKeys.map { $0.utf8.count }
        return { _ in cbaseline_mget(handle, pointers, lengths, pointers.count) == 100 }
      }))
  return cases
}
