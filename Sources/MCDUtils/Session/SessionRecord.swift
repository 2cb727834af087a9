import Foundation
import Memcached

/// What one copy of a session item holds, written down in the "Sessions" section of
/// `docs/wire-format.md`:
///
/// ```
/// {"v": 2, "e": 0, "n": 7, "created": 1764236400.25, "accessed": 1764236460.5, "data": {...}}
/// {"v": 2, "e": 0, "n": 9223372036854775807, "ended": true}
/// ```
///
/// `e` (the epoch) counts the sessions that lived under one key: a session created over an
/// ended one gets the next epoch. `n` counts the writes of one epoch; an ended session (a
/// tombstone) has the largest `n`, so no copy of its epoch can look newer. Of several copies the
/// one with the largest `(e, n)` is the session. Version 1 records (no `e` or `n`) read as epoch
/// and version 0.
struct SessionRecord: Sendable, Equatable {
  /// The version of this shape; a reader refuses any other (and reads version 1).
  static let version: Int64 = 2
  /// The `n` of a tombstone.
  static let ended = UInt64(Int64.max)

  var epoch: UInt64
  var version: UInt64
  var created: Date
  var accessed: Date
  /// The session's entries (a map for a ``MemCacheMapping``, any value for a typed store).
  var data: SessionValue
  /// When a typed session expires, for writes that keep its lifetime and reads that must not
  /// see it a moment too long; `nil` for none.
  var expires: Date?
  /// The lifetime a typed session was given, for a sliding refresh; `nil` for none.
  var lifetime: Double?

  /// The version the next write of a live record gets: one more, short of a tombstone's.
  var nextVersion: UInt64 { min(version, Self.ended - 2) + 1 }

  /// Whether this is a tombstone: the session was invalidated.
  var isEnded: Bool { version == Self.ended }

  /// Orders copies: the newest has the largest epoch, then the largest version.
  func isNewer(than other: SessionRecord) -> Bool {
    (epoch, version) > (other.epoch, other.version)
  }

  /// A tombstone for this record's epoch.
  var tombstone: SessionRecord {
    SessionRecord(
      epoch: epoch, version: Self.ended, created: created, accessed: accessed, data: .nil,
      expires: nil)
  }

  /// The record as the value that is stored.
  var value: SessionValue {
    var map: [String: SessionValue] = [
      "v": .int(Self.version), "e": .int(Int64(clamping: epoch)),
      "n": .int(Int64(clamping: version)),
    ]
    if isEnded {
      map["ended"] = true
    } else {
      map["created"] = .double(created.timeIntervalSince1970)
      map["accessed"] = .double(accessed.timeIntervalSince1970)
      map["data"] = data
      if let expires { map["expires"] = .double(expires.timeIntervalSince1970) }
      if let lifetime { map["ttl"] = .double(lifetime) }
    }
    return .map(map)
  }

  init(
    epoch: UInt64, version: UInt64, created: Date, accessed: Date, data: SessionValue,
    expires: Date? = nil, lifetime: Double? = nil
  ) {
    self.epoch = epoch
    self.version = version
    self.created = created
    self.accessed = accessed
    self.data = data
    self.expires = expires
    self.lifetime = lifetime
  }

  /// Whether the record's own deadline has passed (memcached counts whole seconds; this does
  /// not).
  func hasExpired(at now: Date) -> Bool {
    expires.map { $0 <= now } ?? false
  }

  /// Reads a record from an item stored under `key` through `proxy` (which opens it when it
  /// seals).
  ///
  /// - Throws: ``MemCacheError/undecodable(_:)`` for bytes that are not an MCDUtils value (or
  ///   that sealing refuses), ``MemCacheError/notASession(reason:)`` for a value that is not a
  ///   session.
  init(item: MemcachedItem, key: String, proxy: MemCacheProxy) throws(MemCacheError) {
    let value: SessionValue
    do {
      value = try ValueFormat.decode(
        item.value, flags: item.flags, sealing: proxy.sealing, key: proxy.store.keyPrefix + key)
    } catch {
      throw .undecodable(error)
    }
    try self.init(value: value)
  }

  /// Reads a record from a stored value. Every number is checked or converted with
  /// saturation: nothing stored can trap.
  init(value: SessionValue) throws(MemCacheError) {
    guard let map = value.mapValue else { throw .notASession(reason: "it is not a map") }
    // One pass over the few fields instead of a hashed lookup per field.
    var fields = [SessionValue?](repeating: nil, count: Field.allCases.count)
    for (key, field) in map {
      if let known = Field(rawValue: key) { fields[known.index] = field }
    }
    let shape = fields[Field.shape.index]?.intValue
    guard shape == 1 || shape == Self.version else {
      throw .notASession(reason: "its version \"v\" is missing or not 1 or \(Self.version)")
    }
    epoch = try Self.count(fields[Field.epoch.index], "e")
    version = try Self.count(fields[Field.version.index], "n")
    if fields[Field.ended.index]?.boolValue == true {
      version = Self.ended
      created = Date(timeIntervalSince1970: 0)
      accessed = created
      data = .nil
      expires = nil
      lifetime = nil
      return
    }
    guard let data = fields[Field.data.index] else {
      throw .notASession(reason: "its \"data\" is missing")
    }
    guard let created = Self.seconds(fields[Field.created.index]),
      let accessed = Self.seconds(fields[Field.accessed.index])
    else {
      throw .notASession(reason: "its \"created\" or \"accessed\" time is missing or not a number")
    }
    self.data = data
    self.created = Date(timeIntervalSince1970: created)
    self.accessed = Date(timeIntervalSince1970: accessed)
    self.expires = Self.seconds(fields[Field.expires.index]).map { Date(timeIntervalSince1970: $0) }
    self.lifetime = Self.seconds(fields[Field.lifetime.index]).flatMap { $0 > 0 ? $0 : nil }
  }

  /// The fields of a stored record, by their keys.
  private enum Field: String, CaseIterable {
    case shape = "v"
    case epoch = "e"
    case version = "n"
    case ended
    case data
    case created
    case accessed
    case expires
    case lifetime = "ttl"

    var index: Int {
      switch self {
      case .shape: 0
      case .epoch: 1
      case .version: 2
      case .ended: 3
      case .data: 4
      case .created: 5
      case .accessed: 6
      case .expires: 7
      case .lifetime: 8
      }
    }
  }

  /// A count: an absent one is 0 (version 1 records), a negative one is refused, and every
  /// integer is below `Int64.max` already.
  private static func count(_ value: SessionValue?, _ name: String) throws(MemCacheError) -> UInt64
  {
    switch value {
    case nil: return 0
    case .int(let count) where count >= 0: return UInt64(count)
    default: throw .notASession(reason: "its \"\(name)\" is not a count")
    }
  }

  /// Seconds since 1970: any finite double or integer; NaN and infinities are refused.
  private static func seconds(_ value: SessionValue?) -> Double? {
    switch value {
    case .double(let seconds) where seconds.isFinite: return seconds
    case .int(let seconds): return Double(seconds)
    default: return nil
    }
  }
}
