import Foundation
import Memcached

/// What one session item holds: a map with a format version, the created and last-accessed
/// times (Unix seconds) and the session's own entries. Written down in the "Sessions" section
/// of `docs/wire-format.md`:
///
/// ```
/// {"v": 1, "created": 1764236400.25, "accessed": 1764236460.5, "data": {"cart": [...]}}
/// ```
struct SessionRecord: Sendable, Equatable {
  /// The version of this shape; a reader refuses any other.
  static let version: Int64 = 1

  var created: Date
  var accessed: Date
  var data: [String: SessionValue]

  /// The record as the value that is stored.
  var value: SessionValue {
    .map([
      "v": .int(Self.version),
      "created": .double(created.timeIntervalSince1970),
      "accessed": .double(accessed.timeIntervalSince1970),
      "data": .map(data),
    ])
  }

  init(created: Date, accessed: Date, data: [String: SessionValue]) {
    self.created = created
    self.accessed = accessed
    self.data = data
  }

  /// Reads a record from a stored item.
  ///
  /// - Throws: ``MemCacheError/undecodable(_:)`` for bytes that are not an MCDUtils value,
  ///   ``MemCacheError/notASession(reason:)`` for a value that is not a session.
  init(item: MemcachedItem) throws(MemCacheError) {
    let value: SessionValue
    do {
      value = try ValueFormat.decode(item.value, flags: item.flags)
    } catch {
      throw .undecodable(error)
    }
    try self.init(value: value)
  }

  init(value: SessionValue) throws(MemCacheError) {
    guard let map = value.mapValue else { throw .notASession(reason: "it is not a map") }
    // One pass over the few fields instead of a hashed lookup per field.
    var version: SessionValue?
    var dataValue: SessionValue?
    var createdValue: SessionValue?
    var accessedValue: SessionValue?
    for (key, field) in map {
      switch key {
      case "v": version = field
      case "data": dataValue = field
      case "created": createdValue = field
      case "accessed": accessedValue = field
      default: break
      }
    }
    guard version?.intValue == Self.version else {
      throw .notASession(reason: "its version \"v\" is missing or not \(Self.version)")
    }
    guard let data = dataValue?.mapValue else {
      throw .notASession(reason: "its \"data\" is missing or not a map")
    }
    guard let created = Self.seconds(createdValue), let accessed = Self.seconds(accessedValue)
    else {
      throw .notASession(reason: "its \"created\" or \"accessed\" time is missing or not a number")
    }
    self.init(
      created: Date(timeIntervalSince1970: created),
      accessed: Date(timeIntervalSince1970: accessed), data: data)
  }

  private static func seconds(_ value: SessionValue?) -> Double? {
    switch value {
    case .double(let seconds) where seconds.isFinite: return seconds
    case .int(let seconds): return Double(seconds)
    default: return nil
    }
  }
}
