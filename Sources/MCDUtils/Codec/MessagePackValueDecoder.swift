import Foundation

/// A `Decoder` that reads `Decodable` values straight from validated MessagePack bytes, with the
/// results and errors of `SessionValueDecoder` applied to the tree `MessagePackReader` would
/// build. Maps are indexed once per container (offsets of keys and values) and looked up by
/// comparing UTF-8 bytes; the types `SessionValueDecoder` reads natively other than the common
/// scalars are handed to it with the subtree they need.
final class MessagePackValueDecoder: Decoder {
  typealias Item = MessagePackBytes.Item

  let storage: MessagePackDecodingStorage
  /// The bytes of `storage`, read without retaining it.
  let bytes: MessagePackBytes
  let offset: Int
  let parent: MessagePackValueDecoder?
  let key: (any CodingKey)?
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(
    storage: MessagePackDecodingStorage, offset: Int, parent: MessagePackValueDecoder?,
    key: (any CodingKey)?
  ) {
    self.storage = storage
    bytes = storage.bytes
    self.offset = offset
    self.parent = parent
    self.key = key
  }

  /// Decodes a value of `type` from the validated payload in `storage`.
  static func decode<T: Decodable>(
    _ type: T.Type, from storage: MessagePackDecodingStorage
  ) throws -> T {
    let root = MessagePackValueDecoder(storage: storage, offset: 0, parent: nil, key: nil)
    if let special = try root.specialValue(type, at: 0, key: nil) { return special }
    return try T(from: root)
  }

  var codingPath: [any CodingKey] {
    var path: [any CodingKey] = []
    var decoder: MessagePackValueDecoder? = self
    while let current = decoder {
      if let key = current.key { path.append(key) }
      decoder = current.parent
    }
    return path.reversed()
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    let (item, next) = bytes.item(at: offset)
    guard case .map(let count) = item else {
      throw typeMismatch([String: SessionValue].self, item, key: nil)
    }
    return KeyedDecodingContainer(
      MessagePackKeyedDecodingContainer<Key>(decoder: self, count: count, start: next))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    let (item, next) = bytes.item(at: offset)
    guard case .array = item else { throw typeMismatch([SessionValue].self, item, key: nil) }
    return MessagePackUnkeyedDecodingContainer(decoder: self, start: next)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer {
    MessagePackSingleValueDecodingContainer(decoder: self)
  }

  func child(_ offset: Int, key: (any CodingKey)?) -> MessagePackValueDecoder {
    MessagePackValueDecoder(storage: storage, offset: offset, parent: self, key: key)
  }

  /// A tree decoder at this decoder's coding path holding `value`, for the types and calls
  /// handed to `SessionValueDecoder`.
  func treeDecoder(_ value: SessionValue) -> SessionValueDecoderImpl {
    let path = codingPath
    guard let last = path.last else {
      return SessionValueDecoderImpl(value: value, parent: nil, key: nil, userInfo: [:])
    }
    var decoder = SessionValueDecoderImpl(value: .nil, parent: nil, key: nil, userInfo: [:])
    for key in path.dropLast() {
      decoder = SessionValueDecoderImpl(value: .nil, parent: decoder, key: key, userInfo: [:])
    }
    return SessionValueDecoderImpl(value: value, parent: decoder, key: last, userInfo: [:])
  }

  private func path(_ key: (any CodingKey)?) -> [any CodingKey] {
    var path = codingPath
    if let key { path.append(key) }
    return path
  }

  func typeMismatch(_ type: Any.Type, _ item: Item, key: @autoclosure () -> (any CodingKey)?)
    -> DecodingError
  {
    DecodingError.typeMismatch(
      type,
      DecodingError.Context(
        codingPath: path(key()),
        debugDescription: "Expected to decode \(type) but found \(Self.kind(of: item)) instead."))
  }

  func corrupted(_ message: String, key: @autoclosure () -> (any CodingKey)?) -> DecodingError {
    DecodingError.dataCorrupted(
      DecodingError.Context(codingPath: path(key()), debugDescription: message))
  }

  static func kind(of item: Item) -> String {
    switch item {
    case .none: return "nil"
    case .bool: return "a boolean"
    case .int: return "an integer"
    case .double: return "a double"
    case .string: return "a string"
    case .bytes: return "bytes"
    case .array: return "an array"
    case .map: return "a map"
    }
  }

  @inline(__always)
  func isNil(_ offset: Int) -> Bool { bytes.raw[offset] == 0xc0 }

  @inline(__always)
  func bool(_ offset: Int, key: @autoclosure () -> (any CodingKey)?) throws -> Bool {
    let item = bytes.item(at: offset).item
    guard case .bool(let flag) = item else { throw typeMismatch(Bool.self, item, key: key()) }
    return flag
  }

  @inline(__always)
  func string(_ offset: Int, key: @autoclosure () -> (any CodingKey)?) throws -> String {
    let item = bytes.item(at: offset).item
    guard case .string(let start, let count) = item else {
      throw typeMismatch(String.self, item, key: key())
    }
    return bytes.string(start, count)
  }

  /// The value as a number, or `nil` when it is not one.
  @inline(__always)
  static func number(_ value: Item) -> CodableNumber? {
    switch value {
    case .int(let integer): return .int(integer)
    case .double(let number): return .double(number)
    default: return nil
    }
  }

  @inline(__always)
  func integer<T: FixedWidthInteger>(
    _ offset: Int, key: @autoclosure () -> (any CodingKey)?
  ) throws -> T {
    let item = bytes.item(at: offset).item
    guard let number = Self.number(item) else {
      throw typeMismatch(T.self, item, key: key())
    }
    switch number.integer(T.self) {
    case .success(let result): return result
    case .failure(let mismatch): throw corrupted(mismatch.message, key: key())
    }
  }

  @inline(__always)
  func floatingPoint<T: BinaryFloatingPoint>(
    _ offset: Int, key: @autoclosure () -> (any CodingKey)?
  ) throws -> T {
    let item = bytes.item(at: offset).item
    guard let number = Self.number(item) else {
      throw typeMismatch(T.self, item, key: key())
    }
    switch number.floatingPoint(T.self) {
    case .success(let result): return result
    case .failure(let mismatch): throw corrupted(mismatch.message, key: key())
    }
  }

  /// Decodes a value of any type found below this decoder's path, extended by `key`.
  func decode<T: Decodable>(_ type: T.Type, at offset: Int, key: any CodingKey) throws -> T {
    if let special = try specialValue(type, at: offset, key: key) { return special }
    return try T(from: child(offset, key: key))
  }

  /// The counterpart of `SessionValueDecoderImpl.specialValue`: the common scalars and arrays are
  /// read here, the rest of its types by the tree decoder from the value's subtree.
  @inline(__always)
  func specialValue<T: Decodable>(
    _ type: T.Type, at offset: Int, key: (any CodingKey)?
  ) throws -> T? {
    if T.self == String.self {
      return unsafeBitCast(try string(offset, key: key), to: T.self)
    } else if T.self == Int.self {
      let integer: Int = try integer(offset, key: key)
      return unsafeBitCast(integer, to: T.self)
    } else if T.self == Double.self {
      let number: Double = try floatingPoint(offset, key: key)
      return unsafeBitCast(number, to: T.self)
    } else if T.self == Bool.self {
      return unsafeBitCast(try bool(offset, key: key), to: T.self)
    } else if T.self == Int64.self {
      let integer: Int64 = try integer(offset, key: key)
      return unsafeBitCast(integer, to: T.self)
    }
    let type = ObjectIdentifier(T.self)
    if type == SessionValueCodableTypes.stringArray, let strings = strings(offset) {
      return unsafeBitCast(strings, to: T.self)
    } else if type == SessionValueCodableTypes.intArray, let integers = integers(offset) {
      return unsafeBitCast(integers, to: T.self)
    } else if T.self == SessionValue.self || T.self == Date.self || T.self == Data.self
      || type == SessionValueCodableTypes.byteArray || T.self == URL.self
      || T.self == Decimal.self
    {
      let value = bytes.sessionValue(at: offset)
      return try treeDecoder(.nil).specialValue(T.self, from: value, key: key)
    }
    return nil
  }

  /// The array's strings, or `nil` to let the general path decode it.
  private func strings(_ offset: Int) -> [String]? {
    let (item, next) = bytes.item(at: offset)
    guard case .array(let count) = item else { return nil }
    var strings: [String] = []
    strings.reserveCapacity(count)
    var position = next
    for _ in 0..<count {
      guard case .string(let start, let length) = bytes.item(at: position).item else {
        return nil
      }
      strings.append(bytes.string(start, length))
      position = start + length
    }
    return strings
  }

  /// The array's integers, or `nil` to let the general path decode it.
  private func integers(_ offset: Int) -> [Int]? {
    let (item, next) = bytes.item(at: offset)
    guard case .array(let count) = item else { return nil }
    var integers: [Int] = []
    integers.reserveCapacity(count)
    var position = next
    for _ in 0..<count {
      let (element, after) = bytes.item(at: position)
      guard case .int(let integer) = element, let exact = Int(exactly: integer) else { return nil }
      integers.append(exact)
      position = after
    }
    return integers
  }
}
