import Foundation

/// Decodes any `Decodable` value from a `SessionValue` tree, the inverse of
/// `SessionValueEncoder`.
public struct SessionValueDecoder: Sendable {
  /// Contextual information handed to the types being decoded through `Decoder.userInfo`.
  public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

  /// Creates a decoder.
  public init() {}

  /// Decodes a value of `type` from `value`.
  ///
  /// - Throws: `DecodingError` when `value` does not have the shape `type` expects.
  public func decode<T: Decodable>(_ type: T.Type, from value: SessionValue) throws -> T {
    let root = SessionValueDecoderImpl(
      value: value, parent: nil, key: nil,
      userInfo: userInfo.isEmpty ? [:] : userInfo.mapValues { $0 as Any })
    if let special = try root.specialValue(T.self, from: value, key: nil) { return special }
    return try T(from: root)
  }
}

/// The `Decoder` for one coding path, linked to its parent rather than copying the path.
final class SessionValueDecoderImpl: Decoder {
  let value: SessionValue
  let parent: SessionValueDecoderImpl?
  let key: (any CodingKey)?
  let userInfo: [CodingUserInfoKey: Any]

  init(
    value: SessionValue, parent: SessionValueDecoderImpl?, key: (any CodingKey)?,
    userInfo: [CodingUserInfoKey: Any]
  ) {
    self.value = value
    self.parent = parent
    self.key = key
    self.userInfo = userInfo
  }

  var codingPath: [any CodingKey] {
    var path: [any CodingKey] = []
    var decoder: SessionValueDecoderImpl? = self
    while let current = decoder {
      if let key = current.key { path.append(key) }
      decoder = current.parent
    }
    return path.reversed()
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .map(let entries) = value else {
      throw typeMismatch([String: SessionValue].self, value, key: nil)
    }
    return KeyedDecodingContainer(
      SessionValueKeyedDecodingContainer<Key>(decoder: self, entries: entries))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let elements) = value else {
      throw typeMismatch([SessionValue].self, value, key: nil)
    }
    return SessionValueUnkeyedDecodingContainer(decoder: self, elements: elements)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer {
    SessionValueSingleValueDecodingContainer(decoder: self)
  }

  func child(_ value: SessionValue, key: (any CodingKey)?) -> SessionValueDecoderImpl {
    SessionValueDecoderImpl(value: value, parent: self, key: key, userInfo: userInfo)
  }

  private func path(_ key: (any CodingKey)?) -> [any CodingKey] {
    var path = codingPath
    if let key { path.append(key) }
    return path
  }

  func typeMismatch(
    _ type: Any.Type, _ value: SessionValue, key: @autoclosure () -> (any CodingKey)?
  ) -> DecodingError {
    DecodingError.typeMismatch(
      type,
      DecodingError.Context(
        codingPath: path(key()),
        debugDescription: "Expected to decode \(type) but found \(Self.kind(of: value)) instead."))
  }

  func corrupted(
    _ message: String, key: @autoclosure () -> (any CodingKey)?
  ) -> DecodingError {
    DecodingError.dataCorrupted(
      DecodingError.Context(codingPath: path(key()), debugDescription: message))
  }

  static func kind(of value: SessionValue) -> String {
    switch value {
    case .nil: return "nil"
    case .bool: return "a boolean"
    case .int: return "an integer"
    case .double: return "a double"
    case .string: return "a string"
    case .bytes: return "bytes"
    case .array: return "an array"
    case .map: return "a map"
    }
  }

  func bool(_ value: SessionValue, key: @autoclosure () -> (any CodingKey)?) throws -> Bool {
    guard case .bool(let flag) = value else { throw typeMismatch(Bool.self, value, key: key()) }
    return flag
  }

  func string(
    _ value: SessionValue, key: @autoclosure () -> (any CodingKey)?
  ) throws -> String {
    guard case .string(let string) = value else {
      throw typeMismatch(String.self, value, key: key())
    }
    return string
  }

  /// The value as a number, or `nil` when it is not one.
  @inline(__always)
  static func number(_ value: SessionValue) -> CodableNumber? {
    switch value {
    case .int(let integer): return .int(integer)
    case .double(let number): return .double(number)
    default: return nil
    }
  }

  @inline(__always)
  func integer<T: FixedWidthInteger>(
    _ value: SessionValue, key: @autoclosure () -> (any CodingKey)?
  ) throws -> T {
    guard let number = Self.number(value) else {
      throw typeMismatch(T.self, value, key: key())
    }
    switch number.integer(T.self) {
    case .success(let result): return result
    case .failure(let mismatch): throw corrupted(mismatch.message, key: key())
    }
  }

  @inline(__always)
  func floatingPoint<T: BinaryFloatingPoint>(
    _ value: SessionValue, key: @autoclosure () -> (any CodingKey)?
  ) throws -> T {
    guard let number = Self.number(value) else {
      throw typeMismatch(T.self, value, key: key())
    }
    switch number.floatingPoint(T.self) {
    case .success(let result): return result
    case .failure(let mismatch): throw corrupted(mismatch.message, key: key())
    }
  }

  /// Decodes a value of any type found below this decoder's path, extended by `key`.
  func decode<T: Decodable>(
    _ type: T.Type, from value: SessionValue, key: @autoclosure () -> (any CodingKey)?
  ) throws -> T {
    if let special = try specialValue(type, from: value, key: key()) { return special }
    return try T(from: child(value, key: key()))
  }

  /// The value of a type read natively (or cheaply), or `nil` for the other types.
  @inline(__always)
  func specialValue<T: Decodable>(
    _ type: T.Type, from value: SessionValue, key: @autoclosure () -> (any CodingKey)?
  ) throws -> T? {
    // Each branch first compares metatypes, so `unsafeBitCast` only converts a value to its own
    // type; common types skip the child decoder their conformance would cost.
    let type = ObjectIdentifier(T.self)
    if T.self == String.self {
      return unsafeBitCast(try string(value, key: key()), to: T.self)
    } else if T.self == Int.self {
      let integer: Int = try integer(value, key: key())
      return unsafeBitCast(integer, to: T.self)
    } else if T.self == Double.self {
      let number: Double = try floatingPoint(value, key: key())
      return unsafeBitCast(number, to: T.self)
    } else if T.self == Bool.self {
      return unsafeBitCast(try bool(value, key: key()), to: T.self)
    } else if T.self == Int64.self {
      let integer: Int64 = try integer(value, key: key())
      return unsafeBitCast(integer, to: T.self)
    } else if type == SessionValueCodableTypes.stringArray, let strings = Self.strings(value) {
      return unsafeBitCast(strings, to: T.self)
    } else if type == SessionValueCodableTypes.intArray, let integers = Self.integers(value) {
      return unsafeBitCast(integers, to: T.self)
    } else if T.self == SessionValue.self {
      return unsafeBitCast(value, to: T.self)
    } else if T.self == Date.self {
      let seconds: Double = try floatingPoint(value, key: key())
      return unsafeBitCast(Date(timeIntervalSince1970: seconds), to: T.self)
    } else if T.self == Data.self {
      guard case .bytes(let bytes) = value else { throw typeMismatch(Data.self, value, key: key()) }
      return unsafeBitCast(Data(bytes), to: T.self)
    } else if type == SessionValueCodableTypes.byteArray, case .bytes(let bytes) = value {
      return unsafeBitCast(bytes, to: T.self)
    } else if T.self == URL.self {
      let string = try self.string(value, key: key())
      guard let url = URL(string: string) else {
        throw corrupted("Invalid URL string \(string.debugDescription).", key: key())
      }
      return unsafeBitCast(url, to: T.self)
    } else if T.self == Decimal.self {
      return unsafeBitCast(try decimal(value, key: key()), to: T.self)
    }
    return nil
  }

  /// The array's strings, or `nil` to let the general path decode it (and report errors).
  private static func strings(_ value: SessionValue) -> [String]? {
    guard case .array(let elements) = value else { return nil }
    var strings: [String] = []
    strings.reserveCapacity(elements.count)
    for element in elements {
      guard case .string(let string) = element else { return nil }
      strings.append(string)
    }
    return strings
  }

  /// The array's integers, or `nil` to let the general path decode it.
  private static func integers(_ value: SessionValue) -> [Int]? {
    guard case .array(let elements) = value else { return nil }
    var integers: [Int] = []
    integers.reserveCapacity(elements.count)
    for element in elements {
      guard case .int(let integer) = element, let exact = Int(exactly: integer) else { return nil }
      integers.append(exact)
    }
    return integers
  }

  private func decimal(
    _ value: SessionValue, key: @autoclosure () -> (any CodingKey)?
  ) throws -> Decimal {
    switch value {
    case .string(let string):
      guard let decimal = Decimal(string: string) else {
        throw corrupted("Invalid decimal \(string.debugDescription).", key: key())
      }
      return decimal
    case .int(let integer):
      return Decimal(integer)
    case .double(let number):
      return Decimal(number)
    default:
      throw typeMismatch(Decimal.self, value, key: key())
    }
  }
}

struct SessionValueKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let decoder: SessionValueDecoderImpl
  let entries: [String: SessionValue]

  var codingPath: [any CodingKey] { decoder.codingPath }

  var allKeys: [Key] { entries.keys.compactMap { Key(stringValue: $0) } }

  func contains(_ key: Key) -> Bool { entries[key.stringValue] != nil }

  private func value(_ key: Key) throws -> SessionValue {
    guard let value = entries[key.stringValue] else {
      throw DecodingError.keyNotFound(
        key,
        DecodingError.Context(
          codingPath: codingPath,
          debugDescription: "No value associated with key \(key.stringValue.debugDescription)."))
    }
    return value
  }

  /// The value for `key`, or `nil` when the key is absent or holds `.nil`, in one lookup.
  private func present(_ key: Key) -> SessionValue? {
    guard let value = entries[key.stringValue], !value.isNil else { return nil }
    return value
  }

  func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNil }

  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
    try decoder.bool(value(key), key: key)
  }

  func decode(_ type: String.Type, forKey key: Key) throws -> String {
    try decoder.string(value(key), key: key)
  }

  func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
    try decoder.floatingPoint(value(key), key: key)
  }

  func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
    try decoder.floatingPoint(value(key), key: key)
  }

  func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
    try decoder.integer(value(key), key: key)
  }

  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
    try decoder.integer(value(key), key: key)
  }

  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
    try decoder.decode(type, from: value(key), key: key)
  }

  func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
    try present(key).map { try decoder.bool($0, key: key) }
  }

  func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
    try present(key).map { try decoder.string($0, key: key) }
  }

  func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
    try present(key).map { try decoder.floatingPoint($0, key: key) }
  }

  func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
    try present(key).map { try decoder.floatingPoint($0, key: key) }
  }

  func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
    try present(key).map { try decoder.integer($0, key: key) }
  }

  func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
    try present(key).map { try decoder.integer($0, key: key) }
  }

  func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
    try present(key).map { try decoder.decode(type, from: $0, key: key) }
  }

  func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type, forKey key: Key
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try decoder.child(value(key), key: key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try decoder.child(value(key), key: key).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder {
    decoder.child(entries["super"] ?? .nil, key: SessionValueCodingKey.superKey)
  }

  func superDecoder(forKey key: Key) throws -> any Decoder {
    decoder.child(entries[key.stringValue] ?? .nil, key: key)
  }
}

struct SessionValueUnkeyedDecodingContainer: UnkeyedDecodingContainer {
  let decoder: SessionValueDecoderImpl
  let elements: [SessionValue]
  private(set) var currentIndex = 0

  init(decoder: SessionValueDecoderImpl, elements: [SessionValue]) {
    self.decoder = decoder
    self.elements = elements
  }

  var codingPath: [any CodingKey] { decoder.codingPath }
  var count: Int? { elements.count }
  var isAtEnd: Bool { currentIndex >= elements.count }

  private var key: SessionValueCodingKey { SessionValueCodingKey(intValue: currentIndex) }

  /// Runs `body` on the next element, moving past it only on success, so it may be retried.
  private mutating func next<T>(
    _ type: T.Type,
    _ body: (SessionValueDecoderImpl, SessionValue, SessionValueCodingKey) throws -> T
  ) throws -> T {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(
        type,
        DecodingError.Context(
          codingPath: codingPath + [key], debugDescription: "Unkeyed container is at end."))
    }
    let result = try body(decoder, elements[currentIndex], key)
    currentIndex += 1
    return result
  }

  mutating func decodeNil() throws -> Bool {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(
        SessionValue.self,
        DecodingError.Context(
          codingPath: codingPath + [key], debugDescription: "Unkeyed container is at end."))
    }
    guard elements[currentIndex].isNil else { return false }
    currentIndex += 1
    return true
  }

  mutating func decode(_ type: Bool.Type) throws -> Bool {
    try next(type) { try $0.bool($1, key: $2) }
  }

  mutating func decode(_ type: String.Type) throws -> String {
    try next(type) { try $0.string($1, key: $2) }
  }

  mutating func decode(_ type: Double.Type) throws -> Double {
    try next(type) { try $0.floatingPoint($1, key: $2) }
  }

  mutating func decode(_ type: Float.Type) throws -> Float {
    try next(type) { try $0.floatingPoint($1, key: $2) }
  }

  mutating func decode(_ type: Int.Type) throws -> Int {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: Int8.Type) throws -> Int8 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: Int16.Type) throws -> Int16 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: Int32.Type) throws -> Int32 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: Int64.Type) throws -> Int64 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: UInt.Type) throws -> UInt {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
    try next(type) { try $0.integer($1, key: $2) }
  }

  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
    try next(type) { try $0.decode(type, from: $1, key: $2) }
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try next(KeyedDecodingContainer<NestedKey>.self) {
      try $0.child($1, key: $2).container(keyedBy: type)
    }
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
    try next((any UnkeyedDecodingContainer).self) {
      try $0.child($1, key: $2).unkeyedContainer()
    }
  }

  mutating func superDecoder() throws -> any Decoder {
    try next((any Decoder).self) { $0.child($1, key: $2) }
  }
}

struct SessionValueSingleValueDecodingContainer: SingleValueDecodingContainer {
  let decoder: SessionValueDecoderImpl

  var codingPath: [any CodingKey] { decoder.codingPath }

  private var value: SessionValue { decoder.value }

  func decodeNil() -> Bool { value.isNil }

  func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool(value, key: nil) }
  func decode(_ type: String.Type) throws -> String { try decoder.string(value, key: nil) }
  func decode(_ type: Double.Type) throws -> Double { try decoder.floatingPoint(value, key: nil) }
  func decode(_ type: Float.Type) throws -> Float { try decoder.floatingPoint(value, key: nil) }
  func decode(_ type: Int.Type) throws -> Int { try decoder.integer(value, key: nil) }
  func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(value, key: nil) }
  func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(value, key: nil) }
  func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(value, key: nil) }
  func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(value, key: nil) }
  func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(value, key: nil) }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(value, key: nil) }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(value, key: nil) }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(value, key: nil) }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(value, key: nil) }

  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    if let special = try decoder.specialValue(type, from: value, key: nil) { return special }
    return try T(from: decoder)
  }
}
