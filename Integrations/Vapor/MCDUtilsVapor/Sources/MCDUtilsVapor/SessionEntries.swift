import MCDUtils
import Vapor

/// How Vapor's `SessionData` (a map of strings) lives in a ``MCDUtils/MemCacheMapping``: each
/// key is a session entry holding a `SessionValue.string`, so that `mcdutils session show`,
/// Python and the other MCDUtils integrations read it.
enum SessionEntries {
  /// The strings Vapor is handed for a session's entries. An entry another program stored as a
  /// number, a boolean or a structure is shown as its text (`4711`, `true`, `["a", "b"]`) and
  /// stays as it is in memcached unless the request changes that key.
  static func strings(_ entries: [String: SessionValue]) -> [String: String] {
    entries.mapValues { $0.stringValue ?? $0.description }
  }

  /// The keys set (to their new string) or removed (`nil`) between what Vapor was handed and
  /// what it gives back.
  static func changes(from old: [String: String], to new: [String: String]) -> [String: String?] {
    var changes: [String: String?] = [:]
    for (key, value) in new where old[key] != value { changes[key] = .some(value) }
    for key in old.keys where new[key] == nil { changes[key] = .some(nil) }
    return changes
  }

  /// Writes `changes` into `mapping` (which joins the current transaction, if any, when they
  /// are not empty).
  static func apply(_ changes: [String: String?], to mapping: MemCacheMapping) {
    for (key, value) in changes { mapping[key] = value.map(SessionValue.string) }
  }
}
