import Logging
import Memcached

// Placeholder until the shared repair primitive lands.
extension SessionCopies {
  struct Repair {
    var written = 0
    var skipped = 0
    var failed = 0
  }

  func repair(
    expiration: MemcachedExpiration, on connection: any MemcachedOperations, proxy: MemCacheProxy,
    logger: Logger
  ) -> Repair {
    var repair = Repair()
    guard let nodes, let newest, let (bytes, flags) = try? proxy.encode(newest.record, key: key)
    else { return repair }
    for (index, node) in nodes.enumerated() where index != newest.index {
      do {
        switch copies[index] {
        case .unreachable:
          repair.skipped += 1
        case .missing:
          if try connection.onNode(
            node, { try $0.add(key, value: bytes, flags: flags, expiration: expiration) })
          {
            repair.written += 1
          }
        case .present(let cas, let record):
          if case .success(let record) = record, !newest.record.isNewer(than: record) { continue }
          if try connection.onNode(
            node, { try $0.cas(key, value: bytes, cas: cas, flags: flags, expiration: expiration) })
            == .stored
          {
            repair.written += 1
          }
        }
      } catch {
        repair.failed += 1
      }
    }
    return repair
  }
}
