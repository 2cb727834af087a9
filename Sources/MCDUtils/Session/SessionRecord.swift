import Foundation
import Memcached

/// What one copy of a session item holds: the "Sessions" section of `docs/wire-format.md`.
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
  /// When a typed session expires; `nil` for never.
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

  /// Writes the record as a MessagePack map with sorted keys, without building the map first.
  func write(to writer: inout MessagePackWriter) throws(SessionValueFormatError) {
    func field(_ name: String, _ value: SessionValue, _ writer: inout MessagePackWriter)
      throws(SessionValueFormatError)
    {
      try writer.writeString(name)
      try writer.write(value, depth: 1)
    }
    let epoch = SessionValue.int(Int64(clamping: epoch))
    let version = SessionValue.int(Int64(clamping: version))
    if isEnded {
      try writer.writeMapHeader(count: 4)
      try field("e", epoch, &writer)
      try field("ended", true, &writer)
    } else {
      try writer.writeMapHeader(count: 6 + (expires == nil ? 0 : 1) + (lifetime == nil ? 0 : 1))
      try field("accessed", .double(accessed.timeIntervalSince1970), &writer)
      try field("created", .double(created.timeIntervalSince1970), &writer)
      try field("data", data, &writer)
      try field("e", epoch, &writer)
      if let expires { try field("expires", .double(expires.timeIntervalSince1970), &writer) }
    }
    try field("n", version, &writer)
    if !isEnded, let lifetime { try field("ttl", .double(lifetime), &writer) }
    try field("v", .int(Self.version), &writer)
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

  /// Whether the record's own deadline has passed, to the fraction of a second.
  func hasExpired(at now: Date) -> Bool {
    expires.map { $0 <= now } ?? false
  }

  /// Reads a record from an item stored under `key` through `proxy`.
  ///
  /// - Throws: ``MemCacheError/undecodable(_:)`` or ``MemCacheError/notASession(reason:)``.
  init(item: MemcachedItem, key: String, proxy: MemCacheProxy) throws(MemCacheError) {
    // The record's own map is read field by field, without building it: only the session's
    // entries become a dictionary.
    var fields = Fields()
    let isMap: Bool
    do {
      isMap = try ValueFormat.read(
        item.value, flags: item.flags, sealing: proxy.sealing, key: proxy.store.prefixedKey(key)
      ) { reader throws(SessionValueFormatError) in
        try reader.readFields { name, offset, value throws(SessionValueFormatError) in
          try fields.accept(name, at: offset, value)
        }
      }
    } catch {
      throw .undecodable(error)
    }
    guard isMap else { throw .notASession(reason: "it is not a map") }
    try self.init(fields)
  }

  /// Checks the fields of a stored record; nothing stored can trap.
  private init(_ fields: Fields) throws(MemCacheError) {
    let shape = fields.shape?.intValue
    guard shape == 1 || shape == Self.version else {
      throw .notASession(reason: "its version \"v\" is missing or not 1 or \(Self.version)")
    }
    epoch = try Self.count(fields.epoch, "e")
    version = try Self.count(fields.version, "n")
    if fields.ended?.boolValue == true {
      version = Self.ended
      created = Date(timeIntervalSince1970: 0)
      accessed = created
      data = .nil
      expires = nil
      lifetime = nil
      return
    }
    guard let data = fields.data else { throw .notASession(reason: "its \"data\" is missing") }
    guard let created = Self.seconds(fields.created), let accessed = Self.seconds(fields.accessed)
    else {
      throw .notASession(reason: "its \"created\" or \"accessed\" time is missing or not a number")
    }
    self.data = data
    self.created = Date(timeIntervalSince1970: created)
    self.accessed = Date(timeIntervalSince1970: accessed)
    self.expires = Self.seconds(fields.expires).map { Date(timeIntervalSince1970: $0) }
    self.lifetime = Self.seconds(fields.lifetime).flatMap { $0 > 0 ? $0 : nil }
  }

  /// The fields of a stored record, by their keys; other keys are ignored.
  private struct Fields {
    var shape, epoch, version, ended, data, created, accessed, expires, lifetime: SessionValue?

    /// Takes the value of the key whose UTF-8 bytes are `name`; a field given twice is refused.
    mutating func accept(
      _ name: UnsafeBufferPointer<UInt8>, at offset: Int, _ value: SessionValue
    ) throws(SessionValueFormatError) {
      func take(_ field: inout SessionValue?) throws(SessionValueFormatError) {
        guard field == nil else {
          throw .duplicateKey(String(decoding: name, as: UTF8.self), offset: offset)
        }
        field = value
      }
      func matches(_ literal: StaticString) -> Bool {
        // memcmp: a fraction of what elementsEqual costs on this path.
        literal.withUTF8Buffer { bytes in
          guard let literal = bytes.baseAddress, let other = name.baseAddress else { return false }
          return bytes.count == name.count && memcmp(literal, other, bytes.count) == 0
        }
      }
      switch name.count {
      case 1 where name[0] == UInt8(ascii: "v"): try take(&shape)
      case 1 where name[0] == UInt8(ascii: "e"): try take(&epoch)
      case 1 where name[0] == UInt8(ascii: "n"): try take(&version)
      case 3 where matches("ttl"): try take(&lifetime)
      case 4 where matches("data"): try take(&data)
      case 5 where matches("ended"): try take(&ended)
      case 7 where matches("created"): try take(&created)
      case 7 where matches("expires"): try take(&expires)
      case 8 where matches("accessed"): try take(&accessed)
      default: return
      }
    }
  }

  /// A count: an absent one is 0 (version 1 records), a negative one is refused.
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
