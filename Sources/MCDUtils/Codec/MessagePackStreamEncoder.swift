import Foundation

/// Encodes an `Encodable` value straight into MessagePack, without the slots and `SessionValue`
/// maps `SessionValueEncoder` builds, for the way synthesized conformances use `Codable`: one
/// keyed, unkeyed or single-value container per value, filled in order. A map's entries are
/// sorted and deduplicated (the last of a key wins) when its value is done, and array and map
/// headers are written then, so the bytes are exactly those of the tree path.
///
/// What it does not stream makes ``encode(_:header:)`` return `nil`, and the caller encodes with
/// `SessionValueEncoder`, which gives the exact result or error: nested and super containers, a
/// container used after a later one or after its value ended, a read of `codingPath`, and any
/// error at all. The type's `encode(to:)` then runs a second time.
final class MessagePackStreamEncoder: Encoder {
  /// One open container.
  private struct Frame {
    let isMap: Bool
    let headerOffset: Int
    /// Where this map's entry offsets begin in `entryStarts`.
    let entryBase: Int
    var count = 0
  }

  /// The value being encoded: how many containers enclose it, and whether it has already
  /// written itself (a single value) or opened its container.
  private struct ValueState {
    let id: Int
    let depth: Int
    var written = false
  }

  /// Thrown to abandon streaming.
  private struct Unsupported: Error {}

  @exclusivity(unchecked) fileprivate var writer: MessagePackWriter
  @exclusivity(unchecked) private var frames: [Frame] = []
  @exclusivity(unchecked) private var entryStarts: [Int] = []
  @exclusivity(unchecked) private var current = ValueState(id: 0, depth: 0)
  @exclusivity(unchecked) private var nextValueID = 0
  /// Set where streaming must stop but nothing can throw (a container request, `codingPath`).
  @exclusivity(unchecked) private var unsupported = false

  private init(header: [UInt8]) {
    writer = MessagePackWriter(header: header)
    frames.reserveCapacity(8)
    entryStarts.reserveCapacity(32)
  }

  /// The MessagePack encoding of `value` after `header`, or `nil` when the value must be encoded
  /// through `SessionValueEncoder` instead.
  static func encode<T: Encodable>(_ value: T, header: [UInt8]) -> [UInt8]? {
    let encoder = MessagePackStreamEncoder(header: header)
    do {
      try encoder.encodeValue(value)
    } catch {
      return nil
    }
    guard !encoder.unsupported, encoder.frames.isEmpty else { return nil }
    return encoder.writer.bytes
  }

  var codingPath: [any CodingKey] {
    unsupported = true
    return []
  }

  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    KeyedEncodingContainer(
      MessagePackStreamKeyedContainer<Key>(encoder: self, frame: openFrame(isMap: true)))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    MessagePackStreamUnkeyedContainer(encoder: self, frame: openFrame(isMap: false))
  }

  func singleValueContainer() -> any SingleValueEncodingContainer {
    MessagePackStreamSingleValueContainer(encoder: self, value: current.id)
  }

  func markUnsupported() {
    unsupported = true
  }

  // MARK: Values

  /// Encodes one value at the current position.
  func encodeValue<T: Encodable>(_ value: T) throws {
    if let special = SessionValueEncoderImpl.specialValue(value) {
      try writer.write(special, depth: frames.count)
      return
    }
    let saved = current
    nextValueID += 1
    current = ValueState(id: nextValueID, depth: frames.count)
    defer { current = saved }
    try value.encode(to: self)
    guard !unsupported else { throw Unsupported() }
    if frames.count > current.depth {
      guard frames.count == current.depth + 1 else { throw Unsupported() }
      try closeTop()
    } else if !current.written {
      // Nothing encoded: an empty map, as `SessionValueEncoder` gives.
      writer.append(0x80)
    }
  }

  /// Opens the current value's container, or returns the one it opened before; `-1` (and
  /// streaming stops) for anything else.
  private func openFrame(isMap: Bool) -> Int {
    if current.written {
      if frames.count == current.depth + 1, let top = frames.last, top.isMap == isMap {
        return frames.count - 1
      }
      unsupported = true
      return -1
    }
    guard frames.count == current.depth, frames.count < MessagePackLimits.maximumDepth else {
      unsupported = true
      return -1
    }
    current.written = true
    let headerOffset = writer.appendHeaderPlaceholder()
    frames.append(Frame(isMap: isMap, headerOffset: headerOffset, entryBase: entryStarts.count))
    return frames.count - 1
  }

  private func closeTop() throws {
    let frame = frames.removeLast()
    if frame.isMap {
      try writer.finishMap(
        headerAt: frame.headerOffset, entryStarts: entryStarts[frame.entryBase...])
      entryStarts.removeSubrange(frame.entryBase...)
    } else {
      try writer.finishArray(headerAt: frame.headerOffset, count: frame.count)
    }
  }

  /// Checks that the container of `frame` may take an element now: it is the innermost open
  /// container and belongs to the value being encoded.
  private func checkInnermost(_ frame: Int) throws {
    guard !unsupported, frame >= 0, frame == frames.count - 1, frame == current.depth else {
      unsupported = true
      throw Unsupported()
    }
  }

  /// Starts an entry of the map `frame`: records where it starts and writes its key.
  ///
  /// Keys must be ASCII: then two keys are the same string exactly when they are the same
  /// bytes, which is how maps drop a repeated key here. `SessionValueEncoder` compares keys as
  /// Swift strings, where canonically equivalent non-ASCII keys are equal, so such keys are left
  /// to it.
  func beginEntry(_ frame: Int, key: String) throws {
    try checkInnermost(frame)
    let ascii = key.utf8.withContiguousStorageIfAvailable { bytes in
      bytes.allSatisfy { $0 < 0x80 }
    }
    guard ascii == true else {
      unsupported = true
      throw Unsupported()
    }
    entryStarts.append(writer.count)
    frames[frame].count += 1
    try writer.writeString(key)
  }

  /// Starts an element of the array `frame`.
  func beginElement(_ frame: Int) throws {
    try checkInnermost(frame)
    frames[frame].count += 1
  }

  /// Starts the single value of the value `id`.
  func beginSingleValue(_ id: Int) throws {
    guard !unsupported, id == current.id, !current.written, frames.count == current.depth else {
      unsupported = true
      throw Unsupported()
    }
    current.written = true
  }

  func writeNil() { writer.append(0xc0) }
  func write(_ value: Bool) { writer.append(value ? 0xc3 : 0xc2) }
  func write(_ value: Int64) { writer.writeInteger(value) }
  func write(_ value: Double) { writer.writeDouble(value) }
  func write(_ value: String) throws { try writer.writeString(value) }

  /// An unsigned or wide integer; one above `Int64.max` is left to `SessionValueEncoder`, which
  /// throws the error.
  func write<I: FixedWidthInteger>(exactly value: I) throws {
    guard let integer = Int64(exactly: value) else {
      unsupported = true
      throw Unsupported()
    }
    writer.writeInteger(integer)
  }
}

struct MessagePackStreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let encoder: MessagePackStreamEncoder
  let frame: Int

  var codingPath: [any CodingKey] { encoder.codingPath }

  mutating func encodeNil(forKey key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    encoder.writeNil()
  }

  mutating func encode(_ value: Bool, forKey key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    encoder.write(value)
  }

  mutating func encode(_ value: String, forKey key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    try encoder.write(value)
  }

  mutating func encode(_ value: Double, forKey key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    encoder.write(value)
  }

  mutating func encode(_ value: Float, forKey key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    encoder.write(Double(value))
  }

  mutating func encode(_ value: Int, forKey key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    encoder.write(Int64(value))
  }

  mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
  mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }

  private func integer<I: FixedWidthInteger>(_ value: I, _ key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    try encoder.write(exactly: value)
  }

  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
    try encoder.beginEntry(frame, key: key.stringValue)
    try encoder.encodeValue(value)
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type, forKey key: Key
  ) -> KeyedEncodingContainer<NestedKey> {
    encoder.markUnsupported()
    return KeyedEncodingContainer(
      MessagePackStreamKeyedContainer<NestedKey>(encoder: encoder, frame: -1))
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
    encoder.markUnsupported()
    return MessagePackStreamUnkeyedContainer(encoder: encoder, frame: -1)
  }

  mutating func superEncoder() -> any Encoder {
    encoder.markUnsupported()
    return encoder
  }

  mutating func superEncoder(forKey key: Key) -> any Encoder {
    encoder.markUnsupported()
    return encoder
  }
}

/// What the unkeyed and single-value containers share: each value starts with `begin()` (which
/// checks the container may take it now), then writes itself.
protocol MessagePackStreamValueSink {
  var encoder: MessagePackStreamEncoder { get }
  mutating func begin() throws
}

extension MessagePackStreamValueSink {
  mutating func encodeNil() throws {
    try begin()
    encoder.writeNil()
  }

  mutating func encode(_ value: Bool) throws {
    try begin()
    encoder.write(value)
  }

  mutating func encode(_ value: String) throws {
    try begin()
    try encoder.write(value)
  }

  mutating func encode(_ value: Double) throws {
    try begin()
    encoder.write(value)
  }

  mutating func encode(_ value: Float) throws {
    try begin()
    encoder.write(Double(value))
  }

  mutating func encode(_ value: Int) throws {
    try begin()
    encoder.write(Int64(value))
  }

  mutating func encode(_ value: Int8) throws { try integer(value) }
  mutating func encode(_ value: Int16) throws { try integer(value) }
  mutating func encode(_ value: Int32) throws { try integer(value) }
  mutating func encode(_ value: Int64) throws { try integer(value) }
  mutating func encode(_ value: UInt) throws { try integer(value) }
  mutating func encode(_ value: UInt8) throws { try integer(value) }
  mutating func encode(_ value: UInt16) throws { try integer(value) }
  mutating func encode(_ value: UInt32) throws { try integer(value) }
  mutating func encode(_ value: UInt64) throws { try integer(value) }

  private mutating func integer<I: FixedWidthInteger>(_ value: I) throws {
    try begin()
    try encoder.write(exactly: value)
  }

  mutating func encode<T: Encodable>(_ value: T) throws {
    try begin()
    try encoder.encodeValue(value)
  }
}

struct MessagePackStreamUnkeyedContainer: UnkeyedEncodingContainer, MessagePackStreamValueSink {
  let encoder: MessagePackStreamEncoder
  let frame: Int
  private(set) var count = 0

  init(encoder: MessagePackStreamEncoder, frame: Int) {
    self.encoder = encoder
    self.frame = frame
  }

  var codingPath: [any CodingKey] { encoder.codingPath }

  mutating func begin() throws {
    try encoder.beginElement(frame)
    count += 1
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy keyType: NestedKey.Type
  ) -> KeyedEncodingContainer<NestedKey> {
    encoder.markUnsupported()
    return KeyedEncodingContainer(
      MessagePackStreamKeyedContainer<NestedKey>(encoder: encoder, frame: -1))
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
    encoder.markUnsupported()
    return MessagePackStreamUnkeyedContainer(encoder: encoder, frame: -1)
  }

  mutating func superEncoder() -> any Encoder {
    encoder.markUnsupported()
    return encoder
  }
}

struct MessagePackStreamSingleValueContainer: SingleValueEncodingContainer,
  MessagePackStreamValueSink
{
  let encoder: MessagePackStreamEncoder
  /// The value this container belongs to.
  let value: Int

  var codingPath: [any CodingKey] { encoder.codingPath }

  mutating func begin() throws {
    try encoder.beginSingleValue(value)
  }
}
