import Foundation

/// Encodes any `Encodable` value to a `SessionValue` tree.
public struct SessionValueEncoder: Sendable {
  /// Contextual information handed to the types being encoded through `Encoder.userInfo`.
  public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

  /// Creates an encoder.
  public init() {}

  /// Encodes `value`.
  ///
  /// - Throws: `EncodingError.invalidValue` for an unsigned integer above `Int64.max` or a second,
  ///   different container at one coding path; ``SessionValueNestingError`` when nested too deep.
  public func encode<T: Encodable>(_ value: T) throws -> SessionValue {
    let slot = try SessionValueEncodingState.encodeRoot(value, userInfo: userInfo)
    return slot.finish()
  }
}

/// A value that nests deeper than ``ValueFormat/maximumDepth`` levels of encoding.
public struct SessionValueNestingError: Error, Sendable, CustomStringConvertible {
  /// The deepest nesting allowed.
  public let limit: Int
  /// The coding path where the limit was reached, as key names.
  public let path: [String]

  /// The limit, and the start of the path.
  public var description: String {
    "the value nests deeper than \(limit) levels (a reference cycle?) at "
      + path.prefix(8).joined(separator: ".") + (path.count > 8 ? ".…" : "")
  }
}

/// What one coding path produced while encoding, converted to `SessionValue` once at the end.
enum SessionValueEncodingSlot {
  case value(SessionValue)
  case keyed(SessionValueKeyedStorage)
  case unkeyed(SessionValueUnkeyedStorage)
  /// A super encoder, which its caller may fill after the parent container took the slot.
  case deferred(SessionValueEncoderImpl)

  func finish() -> SessionValue {
    switch self {
    case .value(let value):
      return value
    case .keyed(let storage):
      var entries: [String: SessionValue] = [:]
      entries.reserveCapacity(storage.entries.count)
      for entry in storage.entries {
        entries[entry.key] = entry.slot.finish()
      }
      return .map(entries)
    case .unkeyed(let storage):
      return .array(storage.slots.map { $0.finish() })
    case .deferred(let encoder):
      return encoder.storage?.finish() ?? .map([:])
    }
  }
}

/// One encoded property (not a tuple: arrays of tuples are destroyed by slow generic code).
struct SessionValueKeyedEntry {
  let key: String
  let slot: SessionValueEncodingSlot
}

final class SessionValueKeyedStorage {
  // One `encode` call, on one thread, touches it: the costly exclusivity check is skipped.
  /// In call order; a key encoded twice keeps its last value, as with `JSONEncoder`.
  @exclusivity(unchecked) var entries: [SessionValueKeyedEntry]

  init() {
    // Most encoded types have a handful of properties; one allocation instead of five.
    entries = []
    entries.reserveCapacity(16)
  }
}

final class SessionValueUnkeyedStorage {
  // Unchecked for the same reason as `SessionValueKeyedStorage.entries`.
  @exclusivity(unchecked) var slots: [SessionValueEncodingSlot] = []
}

/// State shared by every encoder of one `encode` call.
final class SessionValueEncodingState {
  let userInfo: [CodingUserInfoKey: Any]
  /// A misuse, thrown when the top-level encode returns (`container(keyedBy:)` cannot throw).
  var misuse: (any Error)?

  init(userInfo: [CodingUserInfoKey: any Sendable]) {
    self.userInfo = userInfo.isEmpty ? [:] : userInfo.mapValues { $0 as Any }
  }

  static func encodeRoot<T: Encodable>(
    _ value: T, userInfo: [CodingUserInfoKey: any Sendable]
  ) throws -> SessionValueEncodingSlot {
    let state = SessionValueEncodingState(userInfo: userInfo)
    let root = SessionValueEncoderImpl(state: state, parent: nil, key: nil)
    let slot = try root.slot(for: value, key: nil)
    if let misuse = state.misuse { throw misuse }
    return slot
  }
}

/// The `Encoder` for one coding path, which it rebuilds from parent links only when asked.
final class SessionValueEncoderImpl: Encoder {
  let state: SessionValueEncodingState
  let parent: SessionValueEncoderImpl?
  let key: (any CodingKey)?
  /// How many encoders lie above this one: bounded, so that a cycle ends in an error.
  let depth: Int
  var storage: SessionValueEncodingSlot?

  init(
    state: SessionValueEncodingState, parent: SessionValueEncoderImpl?, key: (any CodingKey)?
  ) {
    self.state = state
    self.parent = parent
    self.key = key
    self.depth = (parent?.depth ?? -1) + 1
  }

  /// Throws once this encoder is deeper than the stored format allows.
  func checkDepth() throws {
    guard depth > ValueFormat.maximumDepth else { return }
    throw SessionValueNestingError(
      limit: ValueFormat.maximumDepth, path: codingPath.prefix(16).map(\.stringValue))
  }

  var codingPath: [any CodingKey] {
    var path: [any CodingKey] = []
    var encoder: SessionValueEncoderImpl? = self
    while let current = encoder {
      if let key = current.key { path.append(key) }
      encoder = current.parent
    }
    return path.reversed()
  }

  var userInfo: [CodingUserInfoKey: Any] { state.userInfo }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    let storage: SessionValueKeyedStorage
    switch self.storage {
    case .keyed(let existing):
      storage = existing
    case nil:
      storage = SessionValueKeyedStorage()
      self.storage = .keyed(storage)
    default:
      storage = SessionValueKeyedStorage()
      recordMisuse("a keyed container")
    }
    return KeyedEncodingContainer(
      SessionValueKeyedEncodingContainer<Key>(encoder: self, storage: storage))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    let storage: SessionValueUnkeyedStorage
    switch self.storage {
    case .unkeyed(let existing):
      storage = existing
    case nil:
      storage = SessionValueUnkeyedStorage()
      self.storage = .unkeyed(storage)
    default:
      storage = SessionValueUnkeyedStorage()
      recordMisuse("an unkeyed container")
    }
    return SessionValueUnkeyedEncodingContainer(encoder: self, storage: storage)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    SessionValueSingleValueEncodingContainer(encoder: self)
  }

  func recordMisuse(_ what: String) {
    guard state.misuse == nil else { return }
    state.misuse = EncodingError.invalidValue(
      what,
      EncodingError.Context(
        codingPath: codingPath,
        debugDescription: "Requested \(what) after encoding a different kind of value here."))
  }

  func rangeError<T>(_ value: T, key: (any CodingKey)?) -> EncodingError {
    var path = codingPath
    if let key { path.append(key) }
    return EncodingError.invalidValue(
      value,
      EncodingError.Context(
        codingPath: path,
        debugDescription: "\(value) does not fit in a signed 64-bit integer."))
  }

  /// Converts an unsigned or wide integer, throwing when it does not fit in `Int64`.
  @inline(__always)
  func integer<T: FixedWidthInteger>(
    _ value: T, key: (any CodingKey)?
  ) throws -> SessionValue {
    guard let integer = Int64(exactly: value) else { throw rangeError(value, key: key) }
    return .int(integer)
  }

  /// Encodes a value of any type below this encoder's path, extended by `key`.
  func slot<T: Encodable>(
    for value: T, key: (any CodingKey)?
  ) throws -> SessionValueEncodingSlot {
    if let special = Self.specialValue(value) { return .value(special) }
    let child = key == nil ? self : SessionValueEncoderImpl(state: state, parent: self, key: key)
    try child.checkDepth()
    try value.encode(to: child)
    return child.storage ?? .value(.map([:]))
  }

  /// The value of a type stored natively (or cheaply), or `nil` for the other types.
  @inline(__always)
  static func specialValue<T: Encodable>(_ value: T) -> SessionValue? {
    // Each branch first compares metatypes, so `unsafeBitCast` only converts a value to its own
    // type (a dynamic cast would cost more than the encoding); arrays of strings and numbers
    // skip the child encoder their conformance would cost.
    let type = ObjectIdentifier(T.self)
    if T.self == String.self {
      return .string(unsafeBitCast(value, to: String.self))
    } else if T.self == Int.self {
      return .int(Int64(unsafeBitCast(value, to: Int.self)))
    } else if T.self == Double.self {
      return .double(unsafeBitCast(value, to: Double.self))
    } else if T.self == Bool.self {
      return .bool(unsafeBitCast(value, to: Bool.self))
    } else if T.self == Int64.self {
      return .int(unsafeBitCast(value, to: Int64.self))
    } else if type == SessionValueCodableTypes.stringArray {
      return .array(unsafeBitCast(value, to: [String].self).map { .string($0) })
    } else if type == SessionValueCodableTypes.intArray {
      return .array(unsafeBitCast(value, to: [Int].self).map { .int(Int64($0)) })
    } else if type == SessionValueCodableTypes.doubleArray {
      return .array(unsafeBitCast(value, to: [Double].self).map { .double($0) })
    } else if T.self == SessionValue.self {
      return unsafeBitCast(value, to: SessionValue.self)
    } else if T.self == Date.self {
      return .double(unsafeBitCast(value, to: Date.self).timeIntervalSince1970)
    } else if T.self == Data.self {
      return .bytes([UInt8](unsafeBitCast(value, to: Data.self)))
    } else if type == SessionValueCodableTypes.byteArray {
      return .bytes(unsafeBitCast(value, to: [UInt8].self))
    } else if T.self == URL.self {
      return .string(unsafeBitCast(value, to: URL.self).absoluteString)
    } else if T.self == Decimal.self {
      return .string(unsafeBitCast(value, to: Decimal.self).description)
    }
    return nil
  }
}

struct SessionValueKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let encoder: SessionValueEncoderImpl
  let storage: SessionValueKeyedStorage

  var codingPath: [any CodingKey] { encoder.codingPath }

  @inline(__always)
  private func put(_ value: SessionValue, _ key: Key) {
    storage.entries.append(SessionValueKeyedEntry(key: key.stringValue, slot: .value(value)))
  }

  mutating func encodeNil(forKey key: Key) throws { put(.nil, key) }
  mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
  mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
  mutating func encode(_ value: Double, forKey key: Key) throws { put(.double(value), key) }
  mutating func encode(_ value: Float, forKey key: Key) throws { put(.double(Double(value)), key) }
  mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int8, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int16, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int32, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: Int64, forKey key: Key) throws { put(.int(value), key) }
  mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.int(Int64(value)), key) }
  mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.int(Int64(value)), key) }

  mutating func encode(_ value: UInt, forKey key: Key) throws {
    put(try encoder.integer(value, key: key), key)
  }

  mutating func encode(_ value: UInt64, forKey key: Key) throws {
    put(try encoder.integer(value, key: key), key)
  }

  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
    // Checked before `slot(for:key:)`, whose existential key argument would cost a box.
    if let special = SessionValueEncoderImpl.specialValue(value) {
      put(special, key)
      return
    }
    storage.entries.append(
      SessionValueKeyedEntry(key: key.stringValue, slot: try encoder.slot(for: value, key: key)))
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type, forKey key: Key
  ) -> KeyedEncodingContainer<NestedKey> {
    let nested = SessionValueKeyedStorage()
    storage.entries.append(SessionValueKeyedEntry(key: key.stringValue, slot: .keyed(nested)))
    let child = SessionValueEncoderImpl(state: encoder.state, parent: encoder, key: key)
    child.storage = .keyed(nested)
    return KeyedEncodingContainer(
      SessionValueKeyedEncodingContainer<NestedKey>(encoder: child, storage: nested))
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    let nested = SessionValueUnkeyedStorage()
    storage.entries.append(SessionValueKeyedEntry(key: key.stringValue, slot: .unkeyed(nested)))
    let child = SessionValueEncoderImpl(state: encoder.state, parent: encoder, key: key)
    child.storage = .unkeyed(nested)
    return SessionValueUnkeyedEncodingContainer(encoder: child, storage: nested)
  }

  mutating func superEncoder() -> any Encoder {
    superEncoder(key: SessionValueCodingKey.superKey, name: "super")
  }

  mutating func superEncoder(forKey key: Key) -> any Encoder {
    superEncoder(key: key, name: key.stringValue)
  }

  private func superEncoder(key: any CodingKey, name: String) -> any Encoder {
    let child = SessionValueEncoderImpl(state: encoder.state, parent: encoder, key: key)
    storage.entries.append(SessionValueKeyedEntry(key: name, slot: .deferred(child)))
    return child
  }
}

struct SessionValueUnkeyedEncodingContainer: UnkeyedEncodingContainer {
  let encoder: SessionValueEncoderImpl
  let storage: SessionValueUnkeyedStorage

  var codingPath: [any CodingKey] { encoder.codingPath }
  var count: Int { storage.slots.count }

  private var nextKey: SessionValueCodingKey { SessionValueCodingKey(intValue: count) }

  @inline(__always)
  private func put(_ value: SessionValue) {
    storage.slots.append(.value(value))
  }

  mutating func encodeNil() throws { put(.nil) }
  mutating func encode(_ value: Bool) throws { put(.bool(value)) }
  mutating func encode(_ value: String) throws { put(.string(value)) }
  mutating func encode(_ value: Double) throws { put(.double(value)) }
  mutating func encode(_ value: Float) throws { put(.double(Double(value))) }
  mutating func encode(_ value: Int) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int8) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int16) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int32) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: Int64) throws { put(.int(value)) }
  mutating func encode(_ value: UInt8) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: UInt16) throws { put(.int(Int64(value))) }
  mutating func encode(_ value: UInt32) throws { put(.int(Int64(value))) }

  mutating func encode(_ value: UInt) throws {
    put(try encoder.integer(value, key: nextKey))
  }

  mutating func encode(_ value: UInt64) throws {
    put(try encoder.integer(value, key: nextKey))
  }

  mutating func encode<T: Encodable>(_ value: T) throws {
    if let special = SessionValueEncoderImpl.specialValue(value) {
      put(special)
      return
    }
    storage.slots.append(try encoder.slot(for: value, key: nextKey))
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type
  ) -> KeyedEncodingContainer<NestedKey> {
    let nested = SessionValueKeyedStorage()
    let child = SessionValueEncoderImpl(state: encoder.state, parent: encoder, key: nextKey)
    child.storage = .keyed(nested)
    storage.slots.append(.keyed(nested))
    return KeyedEncodingContainer(
      SessionValueKeyedEncodingContainer<NestedKey>(encoder: child, storage: nested))
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
    let nested = SessionValueUnkeyedStorage()
    let child = SessionValueEncoderImpl(state: encoder.state, parent: encoder, key: nextKey)
    child.storage = .unkeyed(nested)
    storage.slots.append(.unkeyed(nested))
    return SessionValueUnkeyedEncodingContainer(encoder: child, storage: nested)
  }

  mutating func superEncoder() -> any Encoder {
    let child = SessionValueEncoderImpl(state: encoder.state, parent: encoder, key: nextKey)
    storage.slots.append(.deferred(child))
    return child
  }
}

struct SessionValueSingleValueEncodingContainer: SingleValueEncodingContainer {
  let encoder: SessionValueEncoderImpl

  var codingPath: [any CodingKey] { encoder.codingPath }

  private func put(_ slot: SessionValueEncodingSlot) {
    if encoder.storage != nil {
      encoder.recordMisuse("a second value")
      return
    }
    encoder.storage = slot
  }

  mutating func encodeNil() throws { put(.value(.nil)) }
  mutating func encode(_ value: Bool) throws { put(.value(.bool(value))) }
  mutating func encode(_ value: String) throws { put(.value(.string(value))) }
  mutating func encode(_ value: Double) throws { put(.value(.double(value))) }
  mutating func encode(_ value: Float) throws { put(.value(.double(Double(value)))) }
  mutating func encode(_ value: Int) throws { put(.value(.int(Int64(value)))) }
  mutating func encode(_ value: Int8) throws { put(.value(.int(Int64(value)))) }
  mutating func encode(_ value: Int16) throws { put(.value(.int(Int64(value)))) }
  mutating func encode(_ value: Int32) throws { put(.value(.int(Int64(value)))) }
  mutating func encode(_ value: Int64) throws { put(.value(.int(value))) }
  mutating func encode(_ value: UInt8) throws { put(.value(.int(Int64(value)))) }
  mutating func encode(_ value: UInt16) throws { put(.value(.int(Int64(value)))) }
  mutating func encode(_ value: UInt32) throws { put(.value(.int(Int64(value)))) }

  mutating func encode(_ value: UInt) throws {
    put(.value(try encoder.integer(value, key: nil)))
  }

  mutating func encode(_ value: UInt64) throws {
    put(.value(try encoder.integer(value, key: nil)))
  }

  mutating func encode<T: Encodable>(_ value: T) throws {
    if let special = SessionValueEncoderImpl.specialValue(value) {
      put(.value(special))
      return
    }
    // A child below this encoder, so that a value encoding itself through single-value
    // containers still deepens (and ends in an error, not a stack overflow).
    let child = SessionValueEncoderImpl(state: encoder.state, parent: encoder, key: nil)
    try child.checkDepth()
    try value.encode(to: child)
    put(child.storage ?? .value(.map([:])))
  }
}
