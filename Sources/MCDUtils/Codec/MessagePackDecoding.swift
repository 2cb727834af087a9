import Foundation

/// A private copy of a MessagePack payload that the byte-level decoder reads in place. Owning the
/// bytes keeps every container valid however long a `Decodable` type holds on to it.
final class MessagePackDecodingStorage {
  private let base: UnsafeMutableRawPointer
  /// The payload.
  let bytes: MessagePackBytes

  init(copying buffer: UnsafeRawBufferPointer) {
    base = UnsafeMutableRawPointer.allocate(byteCount: max(buffer.count, 1), alignment: 8)
    if let source = buffer.baseAddress, buffer.count > 0 {
      base.copyMemory(from: source, byteCount: buffer.count)
    }
    bytes = MessagePackBytes(raw: UnsafeRawBufferPointer(start: base, count: buffer.count))
  }

  deinit { base.deallocate() }

  /// The payload's bytes.
  var raw: UnsafeRawBufferPointer { bytes.raw }
}

/// Reads values in place from bytes `MessagePackValidator` accepted; the bytes must outlive it
/// (decoders keep their `MessagePackDecodingStorage`).
struct MessagePackBytes {
  let raw: UnsafeRawBufferPointer

  /// One value's header, read from bytes `MessagePackValidator` accepted.
  enum Item {
    case none
    case bool(Bool)
    case int(Int64)
    case double(Double)
    /// The offset and length of the string's UTF-8 bytes.
    case string(Int, Int)
    /// The offset and length of the bytes.
    case bytes(Int, Int)
    /// The element count; the elements start after the header.
    case array(Int)
    /// The entry count; the entries start after the header.
    case map(Int)
  }

  @inline(__always)
  private func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
    T(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
  }

  /// The value at `offset` and the offset just after its header.
  @inline(__always)
  func item(at offset: Int) -> (item: Item, next: Int) {
    let marker = raw[offset]
    let next = offset + 1
    switch marker {
    case 0x00...0x7f: return (.int(Int64(marker)), next)
    case 0x80...0x8f: return (.map(Int(marker & 0x0f)), next)
    case 0x90...0x9f: return (.array(Int(marker & 0x0f)), next)
    case 0xa0...0xbf: return (.string(next, Int(marker & 0x1f)), next)
    case 0xc0: return (.none, next)
    case 0xc2: return (.bool(false), next)
    case 0xc3: return (.bool(true), next)
    case 0xc4: return (.bytes(next + 1, Int(load(UInt8.self, at: next))), next + 1)
    case 0xc5: return (.bytes(next + 2, Int(load(UInt16.self, at: next))), next + 2)
    case 0xc6: return (.bytes(next + 4, Int(load(UInt32.self, at: next))), next + 4)
    case 0xca:
      return (.double(Double(Float(bitPattern: load(UInt32.self, at: next)))), next + 4)
    case 0xcb: return (.double(Double(bitPattern: load(UInt64.self, at: next))), next + 8)
    case 0xcc: return (.int(Int64(load(UInt8.self, at: next))), next + 1)
    case 0xcd: return (.int(Int64(load(UInt16.self, at: next))), next + 2)
    case 0xce: return (.int(Int64(load(UInt32.self, at: next))), next + 4)
    case 0xcf: return (.int(Int64(truncatingIfNeeded: load(UInt64.self, at: next))), next + 8)
    case 0xd0: return (.int(Int64(Int8(bitPattern: load(UInt8.self, at: next)))), next + 1)
    case 0xd1: return (.int(Int64(Int16(bitPattern: load(UInt16.self, at: next)))), next + 2)
    case 0xd2: return (.int(Int64(Int32(bitPattern: load(UInt32.self, at: next)))), next + 4)
    case 0xd3: return (.int(Int64(bitPattern: load(UInt64.self, at: next))), next + 8)
    case 0xd9: return (.string(next + 1, Int(load(UInt8.self, at: next))), next + 1)
    case 0xda: return (.string(next + 2, Int(load(UInt16.self, at: next))), next + 2)
    case 0xdb: return (.string(next + 4, Int(load(UInt32.self, at: next))), next + 4)
    case 0xdc: return (.array(Int(load(UInt16.self, at: next))), next + 2)
    case 0xdd: return (.array(Int(load(UInt32.self, at: next))), next + 4)
    case 0xde: return (.map(Int(load(UInt16.self, at: next))), next + 2)
    case 0xdf: return (.map(Int(load(UInt32.self, at: next))), next + 4)
    case 0xe0...0xff: return (.int(Int64(Int8(bitPattern: marker))), next)
    default: return (.none, next)
    }
  }

  /// The offset just after the value at `offset`.
  func end(of offset: Int) -> Int {
    let (item, next) = item(at: offset)
    switch item {
    case .string(let start, let count), .bytes(let start, let count):
      return start + count
    case .array(let count):
      var position = next
      for _ in 0..<count { position = end(of: position) }
      return position
    case .map(let count):
      var position = next
      for _ in 0..<(count * 2) { position = end(of: position) }
      return position
    default:
      return next
    }
  }

  /// The string whose UTF-8 bytes are at `start`.
  @inline(__always)
  func string(_ start: Int, _ count: Int) -> String {
    String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<(start + count)]), as: UTF8.self)
  }

  /// The value at `offset` as a `SessionValue` tree.
  func sessionValue(at offset: Int) -> SessionValue {
    var reader = MessagePackReader(
      UnsafeRawBufferPointer(rebasing: raw[offset..<end(of: offset)]))
    return (try? reader.readDocument()) ?? .nil
  }

  /// Whether the key whose UTF-8 bytes are at `start` equals `name` as a `String`. Keys of
  /// validated maps are ASCII, so ASCII names compare bytes; other names may still equal an
  /// ASCII key canonically (U+212A KELVIN SIGN is "K") and compare as strings.
  @inline(__always)
  func keyEquals(
    _ start: Int, _ count: Int, _ name: UnsafeBufferPointer<UInt8>, isASCII: Bool
  ) -> Bool {
    if isASCII { return keyEquals(start, count, name) }
    return string(start, count) == String(decoding: name, as: UTF8.self)
  }

  /// Whether the UTF-8 bytes at `start` equal `name`.
  @inline(__always)
  func keyEquals(_ start: Int, _ count: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
    guard count == name.count else { return false }
    guard count > 0, let other = name.baseAddress, let base = raw.baseAddress else { return true }
    let key = base + start
    let name = UnsafeRawPointer(other)
    var index = 0
    while index + 8 <= count {
      guard
        key.loadUnaligned(fromByteOffset: index, as: UInt64.self)
          == name.loadUnaligned(fromByteOffset: index, as: UInt64.self)
      else { return false }
      index += 8
    }
    while index < count {
      guard
        key.load(fromByteOffset: index, as: UInt8.self)
          == name.load(fromByteOffset: index, as: UInt8.self)
      else { return false }
      index += 1
    }
    return true
  }
}

/// Checks, without building anything, that bytes hold exactly one value `MessagePackReader`
/// would accept. It may refuse more than the reader does (maps too large to check for duplicate
/// keys cheaply); the caller then runs the reader, which throws the precise error or succeeds.
struct MessagePackValidator {
  private let raw: UnsafeRawBufferPointer
  private var offset = 0
  /// Offsets and lengths of the keys of the maps being read, innermost last.
  private var keys: [Int] = []

  /// The most entries of a map whose keys are compared pairwise.
  static let maximumCheckedMapCount = 64

  init(_ raw: UnsafeRawBufferPointer) {
    self.raw = raw
  }

  /// Whether the whole buffer is one valid value.
  mutating func isValid() -> Bool {
    offset = 0
    keys.reserveCapacity(64)
    guard value(depth: 0) else { return false }
    return offset == raw.count
  }

  private var remaining: Int { raw.count - offset }

  @inline(__always)
  private mutating func length<T: FixedWidthInteger>(_: T.Type) -> Int? {
    let size = MemoryLayout<T>.size
    guard remaining >= size else { return nil }
    let value = T(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
    offset += size
    return Int(value)
  }

  @inline(__always)
  private mutating func skip(_ count: Int) -> Bool {
    guard remaining >= count else { return false }
    offset += count
    return true
  }

  private mutating func string(_ count: Int?) -> Bool {
    guard let count, count <= remaining else { return false }
    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])
    // Short ASCII strings (most keys) are checked here rather than by a call.
    var highBits: UInt8 = 0
    if count <= 16 {
      for byte in slice { highBits |= byte }
    }
    guard
      (count <= 16 && highBits < 0x80)
        || MessagePackUTF8.isValid(slice.assumingMemoryBound(to: UInt8.self))
    else { return false }
    offset += count
    return true
  }

  private func isASCII(_ start: Int, _ count: Int) -> Bool {
    var index = start
    while index < start + count {
      guard raw[index] < 0x80 else { return false }
      index += 1
    }
    return true
  }

  private func sameBytes(_ first: Int, _ second: Int, _ count: Int) -> Bool {
    var index = 0
    while index < count {
      guard raw[first + index] == raw[second + index] else { return false }
      index += 1
    }
    return true
  }

  private mutating func value(depth: Int) -> Bool {
    guard offset < raw.count else { return false }
    let marker = raw[offset]
    offset += 1
    switch marker {
    case 0x00...0x7f, 0xc0, 0xc2, 0xc3, 0xe0...0xff: return true
    case 0x80...0x8f: return map(Int(marker & 0x0f), depth: depth)
    case 0x90...0x9f: return array(Int(marker & 0x0f), depth: depth)
    case 0xa0...0xbf: return string(Int(marker & 0x1f))
    case 0xc4: return length(UInt8.self).map { skip($0) } ?? false
    case 0xc5: return length(UInt16.self).map { skip($0) } ?? false
    case 0xc6: return length(UInt32.self).map { skip($0) } ?? false
    case 0xca, 0xce, 0xd2: return skip(4)
    case 0xcb, 0xd3: return skip(8)
    case 0xcc, 0xd0: return skip(1)
    case 0xcd, 0xd1: return skip(2)
    case 0xcf:
      guard remaining >= 8 else { return false }
      let value = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
      offset += 8
      return value <= UInt64(Int64.max)
    case 0xd9: return string(length(UInt8.self))
    case 0xda: return string(length(UInt16.self))
    case 0xdb: return string(length(UInt32.self))
    case 0xdc: return length(UInt16.self).map { array($0, depth: depth) } ?? false
    case 0xdd: return length(UInt32.self).map { array($0, depth: depth) } ?? false
    case 0xde: return length(UInt16.self).map { map($0, depth: depth) } ?? false
    case 0xdf: return length(UInt32.self).map { map($0, depth: depth) } ?? false
    default: return false
    }
  }

  private mutating func array(_ count: Int, depth: Int) -> Bool {
    guard count <= remaining, depth < MessagePackLimits.maximumDepth else { return false }
    for _ in 0..<count {
      guard value(depth: depth + 1) else { return false }
    }
    return true
  }

  private mutating func map(_ count: Int, depth: Int) -> Bool {
    guard count <= Self.maximumCheckedMapCount, count <= remaining / 2,
      depth < MessagePackLimits.maximumDepth
    else { return false }
    let first = keys.count
    defer { keys.removeSubrange(first...) }
    for _ in 0..<count {
      guard offset < raw.count else { return false }
      let marker = raw[offset]
      offset += 1
      let count: Int?
      switch marker {
      case 0xa0...0xbf: count = Int(marker & 0x1f)
      case 0xd9: count = length(UInt8.self)
      case 0xda: count = length(UInt16.self)
      case 0xdb: count = length(UInt32.self)
      default: return false
      }
      let start = offset
      guard string(count) else { return false }
      let length = offset - start
      // Non-ASCII keys may be canonically equivalent without being byte-equal, which makes them
      // duplicates for `String`; the reader judges those maps.
      guard isASCII(start, length), value(depth: depth + 1) else { return false }
      var index = first
      while index < keys.count {
        if keys[index + 1] == length, sameBytes(keys[index], start, length) { return false }
        index += 2
      }
      keys.append(start)
      keys.append(length)
    }
    return true
  }
}
