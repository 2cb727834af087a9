/// The entries of a map read in place. Small maps are searched from their start on every lookup;
/// larger ones are indexed once (offsets of keys and values), so skipping nested values is not
/// repeated.
struct MessagePackMapEntries {
  private let bytes: MessagePackBytes
  private let start: Int
  private let count: Int
  /// Key offset, key length and value offset of each entry in wire order, or empty for a small
  /// map.
  private let entries: ContiguousArray<Int>

  /// The most entries of a map searched without an index.
  static var maximumUnindexedCount: Int { 6 }

  init(bytes: MessagePackBytes, count: Int, start: Int) {
    self.bytes = bytes
    self.start = start
    self.count = count
    var entries = ContiguousArray<Int>()
    if count > Self.maximumUnindexedCount {
      entries.reserveCapacity(count * 3)
      var position = start
      for _ in 0..<count {
        guard case .string(let keyStart, let keyCount) = bytes.item(at: position).item else {
          break
        }
        let value = keyStart + keyCount
        entries.append(keyStart)
        entries.append(keyCount)
        entries.append(value)
        position = bytes.end(of: value)
      }
    }
    self.entries = entries
  }

  /// The keys in wire order.
  var names: [String] {
    var names: [String] = []
    var position = start
    for _ in 0..<count {
      guard case .string(let keyStart, let keyCount) = bytes.item(at: position).item else {
        break
      }
      names.append(bytes.string(keyStart, keyCount))
      position = bytes.end(of: keyStart + keyCount)
    }
    return names
  }

  /// The offset of the value for the key named `name`, if the map has that key.
  func find(_ name: String) -> Int? {
    var name = name
    return name.withUTF8 { find($0) }
  }

  private func find(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
    var isASCII = true
    for byte in name where byte >= 0x80 { isASCII = false }
    if entries.isEmpty {
      var position = start
      for _ in 0..<count {
        guard case .string(let keyStart, let keyCount) = bytes.item(at: position).item else {
          return nil
        }
        let value = keyStart + keyCount
        if bytes.keyEquals(keyStart, keyCount, name, isASCII: isASCII) { return value }
        position = bytes.end(of: value)
      }
      return nil
    }
    var index = 0
    while index < entries.count {
      if bytes.keyEquals(entries[index], entries[index + 1], name, isASCII: isASCII) {
        return entries[index + 2]
      }
      index += 3
    }
    return nil
  }
}

/// A map read in place; see `MessagePackMapEntries`.
struct MessagePackKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let decoder: MessagePackValueDecoder
  private let entries: MessagePackMapEntries

  init(decoder: MessagePackValueDecoder, count: Int, start: Int) {
    self.decoder = decoder
    entries = MessagePackMapEntries(bytes: decoder.bytes, count: count, start: start)
  }

  var codingPath: [any CodingKey] { decoder.codingPath }

  var allKeys: [Key] { entries.names.compactMap { Key(stringValue: $0) } }

  /// The offset of the value for `key`, if the map has that key.
  @inline(__always)
  private func find(_ key: Key) -> Int? { entries.find(key.stringValue) }

  func contains(_ key: Key) -> Bool { find(key) != nil }

  private func value(_ key: Key) throws -> Int {
    guard let offset = find(key) else {
      throw DecodingError.keyNotFound(
        key,
        DecodingError.Context(
          codingPath: codingPath,
          debugDescription: "No value associated with key \(key.stringValue.debugDescription)."))
    }
    return offset
  }

  /// The offset of the value for `key`, or `nil` when the key is absent or holds nil.
  private func present(_ key: Key) -> Int? {
    guard let offset = find(key), !decoder.isNil(offset) else { return nil }
    return offset
  }

  func decodeNil(forKey key: Key) throws -> Bool { decoder.isNil(try value(key)) }

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
    try decoder.decode(type, at: value(key), key: key)
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
    try present(key).map { try decoder.decode(type, at: $0, key: key) }
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
    let superKey = SessionValueCodingKey.superKey
    guard let offset = entries.find(superKey.stringValue) else {
      return decoder.treeDecoder(.nil).child(.nil, key: superKey)
    }
    return decoder.child(offset, key: superKey)
  }

  func superDecoder(forKey key: Key) throws -> any Decoder {
    guard let offset = find(key) else { return decoder.treeDecoder(.nil).child(.nil, key: key) }
    return decoder.child(offset, key: key)
  }

}

/// An array read in place, one element after another. Three words, so that the existential
/// holding it needs no allocation.
struct MessagePackUnkeyedDecodingContainer: UnkeyedDecodingContainer {
  let decoder: MessagePackValueDecoder
  /// The offset of the element at `currentIndex`.
  private var position: Int
  private(set) var currentIndex = 0

  init(decoder: MessagePackValueDecoder, start: Int) {
    self.decoder = decoder
    position = start
  }

  private var elementCount: Int {
    guard case .array(let count) = decoder.bytes.item(at: decoder.offset).item else { return 0 }
    return count
  }

  var codingPath: [any CodingKey] { decoder.codingPath }
  var count: Int? { elementCount }
  var isAtEnd: Bool { currentIndex >= elementCount }

  private var key: SessionValueCodingKey { SessionValueCodingKey(intValue: currentIndex) }

  /// Runs `body` on the next element and moves past it only when `body` succeeds.
  private mutating func next<T>(
    _ type: T.Type,
    _ body: (MessagePackValueDecoder, Int, SessionValueCodingKey) throws -> T
  ) throws -> T {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(
        type,
        DecodingError.Context(
          codingPath: codingPath + [key], debugDescription: "Unkeyed container is at end."))
    }
    let result = try body(decoder, position, key)
    position = decoder.bytes.end(of: position)
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
    guard decoder.isNil(position) else { return false }
    position += 1
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
    try next(type) { try $0.decode(type, at: $1, key: $2) }
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

/// One value read in place.
struct MessagePackSingleValueDecodingContainer: SingleValueDecodingContainer {
  let decoder: MessagePackValueDecoder

  var codingPath: [any CodingKey] { decoder.codingPath }

  private var offset: Int { decoder.offset }

  func decodeNil() -> Bool { decoder.isNil(offset) }

  func decode(_ type: Bool.Type) throws -> Bool { try decoder.bool(offset, key: nil) }
  func decode(_ type: String.Type) throws -> String { try decoder.string(offset, key: nil) }
  func decode(_ type: Double.Type) throws -> Double { try decoder.floatingPoint(offset, key: nil) }
  func decode(_ type: Float.Type) throws -> Float { try decoder.floatingPoint(offset, key: nil) }
  func decode(_ type: Int.Type) throws -> Int { try decoder.integer(offset, key: nil) }
  func decode(_ type: Int8.Type) throws -> Int8 { try decoder.integer(offset, key: nil) }
  func decode(_ type: Int16.Type) throws -> Int16 { try decoder.integer(offset, key: nil) }
  func decode(_ type: Int32.Type) throws -> Int32 { try decoder.integer(offset, key: nil) }
  func decode(_ type: Int64.Type) throws -> Int64 { try decoder.integer(offset, key: nil) }
  func decode(_ type: UInt.Type) throws -> UInt { try decoder.integer(offset, key: nil) }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.integer(offset, key: nil) }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.integer(offset, key: nil) }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.integer(offset, key: nil) }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.integer(offset, key: nil) }

  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    if let special = try decoder.specialValue(type, at: offset, key: nil) { return special }
    return try T(from: decoder)
  }
}
