import Foundation

/// Limits shared by the MessagePack writer and reader, so nothing is written that it refuses.
enum MessagePackLimits {
  /// How many arrays and maps may nest: enough for any session, little for a small thread stack.
  static let maximumDepth = 512
}

/// Writes a `SessionValue` as MessagePack, in the smallest encodings, with map keys sorted by
/// their UTF-8 bytes.
struct MessagePackWriter: ~Copyable {
  // A raw growable buffer rather than `[UInt8]`: appending to an array re-checks uniqueness and
  // capacity for every byte, which made up most of the writer's time.
  var base: UnsafeMutableRawPointer
  var capacity: Int
  /// How many bytes have been written.
  var count = 0

  /// Starts with `header`, so an envelope needs no copy of the payload.
  init(header: [UInt8] = [], reservingCapacity: Int = 512) {
    capacity = max(reservingCapacity, header.count, 16)
    base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
    header.withUnsafeBytes { append($0) }
  }

  deinit {
    base.deallocate()
  }

  var bytes: [UInt8] {
    [UInt8](UnsafeRawBufferPointer(start: base, count: count))
  }

  static func encode(_ value: SessionValue) throws(SessionValueFormatError) -> [UInt8] {
    var writer = MessagePackWriter()
    try writer.write(value)
    return writer.bytes
  }

  mutating func write(_ value: SessionValue) throws(SessionValueFormatError) {
    try write(value, depth: 0)
  }

  mutating func write(_ value: SessionValue, depth: Int) throws(SessionValueFormatError) {
    switch value {
    case .nil:
      append(0xc0)
    case .bool(let flag):
      append(flag ? 0xc3 : 0xc2)
    case .int(let integer):
      writeInteger(integer)
    case .double(let number):
      writeDouble(number)
    case .string(let string):
      try writeString(string)
    case .bytes(let data):
      try writeBinaryHeader(count: data.count)
      data.withUnsafeBytes { append($0) }
    case .array(let elements):
      try enterContainer(depth: depth)
      try writeArrayHeader(count: elements.count)
      for element in elements {
        try write(element, depth: depth + 1)
      }
    case .map(let entries):
      try enterContainer(depth: depth)
      try writeMapHeader(count: entries.count)
      try writeSorted(entries, depth: depth)
    }
  }

  /// Writes the entries of a map sorted by the UTF-8 bytes of their keys.
  private mutating func writeSorted(
    _ entries: [String: SessionValue], depth: Int
  ) throws(SessionValueFormatError) {
    guard entries.count > 1 else {
      for (key, value) in entries {
        try writeString(key)
        try write(value, depth: depth + 1)
      }
      return
    }
    try withSortScratch(
      of: (prefix: UInt64, index: Dictionary<String, SessionValue>.Index).self,
      count: entries.count, depth: depth
    ) { writer, order throws(SessionValueFormatError) in
      try writer.writeSorted(entries, order: order, depth: depth)
    }
  }

  /// Runs `body` with room for the sort order of `count` entries: on the stack for up to 16
  /// entries within 64 levels of the root, else on the heap to keep a deep value's stack small.
  mutating func withSortScratch<Element, R>(
    of type: Element.Type, count: Int, depth: Int,
    _ body: (inout MessagePackWriter, UnsafeMutableBufferPointer<Element>)
      throws(SessionValueFormatError) -> R
  ) throws(SessionValueFormatError) -> R {
    guard count <= 16, depth < 64 else {
      let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: count)
      defer { buffer.deallocate() }
      return try body(&self, buffer)
    }
    let result = withUnsafeTemporaryAllocation(of: Element.self, capacity: count) { buffer in
      Result { () throws(SessionValueFormatError) -> R in try body(&self, buffer) }
    }
    return try result.get()
  }

  private mutating func writeSorted(
    _ entries: [String: SessionValue],
    order: UnsafeMutableBufferPointer<
      (prefix: UInt64, index: Dictionary<String, SessionValue>.Index)
    >,
    depth: Int
  ) throws(SessionValueFormatError) {
    // As in `writeEntries`, keys are ordered by an integer prefix computed once per key.
    var order = order
    var position = 0
    for index in entries.indices {
      order.initializeElement(
        at: position, to: (prefix: Self.utf8Prefix(entries[index].key), index: index))
      position += 1
    }
    order.sort { left, right in
      if left.prefix != right.prefix { return left.prefix < right.prefix }
      return Self.utf8Compare(entries[left.index].key, entries[right.index].key) < 0
    }
    for (_, index) in order {
      let (key, value) = entries[index]
      try writeString(key)
      try write(value, depth: depth + 1)
    }
  }

  func enterContainer(depth: Int) throws(SessionValueFormatError) {
    if depth >= MessagePackLimits.maximumDepth {
      throw .nestingTooDeep(limit: MessagePackLimits.maximumDepth, offset: count)
    }
  }

  mutating func writeInteger(_ value: Int64) {
    if value >= 0 {
      if value <= 0x7f {
        append(UInt8(truncatingIfNeeded: value))
      } else if value <= 0xff {
        append(0xcc)
        append(UInt8(truncatingIfNeeded: value))
      } else if value <= 0xffff {
        append(0xcd)
        appendBigEndian(UInt16(truncatingIfNeeded: value))
      } else if value <= 0xffff_ffff {
        append(0xce)
        appendBigEndian(UInt32(truncatingIfNeeded: value))
      } else {
        append(0xcf)
        appendBigEndian(UInt64(truncatingIfNeeded: value))
      }
    } else if value >= -32 {
      append(UInt8(truncatingIfNeeded: value))
    } else if value >= Int64(Int8.min) {
      append(0xd0)
      append(UInt8(truncatingIfNeeded: value))
    } else if value >= Int64(Int16.min) {
      append(0xd1)
      appendBigEndian(UInt16(truncatingIfNeeded: value))
    } else if value >= Int64(Int32.min) {
      append(0xd2)
      appendBigEndian(UInt32(truncatingIfNeeded: value))
    } else {
      append(0xd3)
      appendBigEndian(UInt64(truncatingIfNeeded: value))
    }
  }

  mutating func writeDouble(_ value: Double) {
    append(0xcb)
    appendBigEndian(value.bitPattern)
  }

  mutating func writeString(_ string: String) throws(SessionValueFormatError) {
    let utf8 = string.utf8
    let count = utf8.count
    if count <= 31 {
      append(0xa0 | UInt8(truncatingIfNeeded: count))
    } else {
      try writeHeader(count: count, marker8: 0xd9, marker16: 0xda, marker32: 0xdb)
    }
    let copied: Void? = utf8.withContiguousStorageIfAvailable {
      append(UnsafeRawBufferPointer($0))
    }
    if copied == nil {
      for byte in utf8 { append(byte) }
    }
  }

  mutating func writeBinaryHeader(count: Int) throws(SessionValueFormatError) {
    try writeHeader(count: count, marker8: 0xc4, marker16: 0xc5, marker32: 0xc6)
  }

  mutating func writeArrayHeader(count: Int) throws(SessionValueFormatError) {
    if count <= 15 {
      append(0x90 | UInt8(truncatingIfNeeded: count))
    } else {
      try writeHeader(count: count, marker8: nil, marker16: 0xdc, marker32: 0xdd)
    }
  }

  mutating func writeMapHeader(count: Int) throws(SessionValueFormatError) {
    if count <= 15 {
      append(0x80 | UInt8(truncatingIfNeeded: count))
    } else {
      try writeHeader(count: count, marker8: nil, marker16: 0xde, marker32: 0xdf)
    }
  }

  /// Writes the 8-, 16- or 32-bit length form; arrays and maps have no 8-bit form.
  private mutating func writeHeader(
    count: Int, marker8: UInt8?, marker16: UInt8, marker32: UInt8
  ) throws(SessionValueFormatError) {
    if let marker8, count <= 0xff {
      append(marker8)
      append(UInt8(truncatingIfNeeded: count))
    } else if count <= 0xffff {
      append(marker16)
      appendBigEndian(UInt16(truncatingIfNeeded: count))
    } else if count <= 0xffff_ffff {
      append(marker32)
      appendBigEndian(UInt32(truncatingIfNeeded: count))
    } else {
      throw .valueTooLarge(count: count)
    }
  }

  @inline(__always)
  mutating func reserve(_ extra: Int) {
    if capacity - count < extra { grow(to: count + extra) }
  }

  @inline(never)
  private mutating func grow(to needed: Int) {
    let newCapacity = max(needed, capacity * 2)
    let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 1)
    newBase.copyMemory(from: base, byteCount: count)
    base.deallocate()
    base = newBase
    capacity = newCapacity
  }

  @inline(__always)
  mutating func append(_ byte: UInt8) {
    reserve(1)
    base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
    count += 1
  }

  @inline(__always)
  mutating func append(_ buffer: UnsafeRawBufferPointer) {
    guard let source = buffer.baseAddress, !buffer.isEmpty else { return }
    reserve(buffer.count)
    (base + count).copyMemory(from: source, byteCount: buffer.count)
    count += buffer.count
  }

  @inline(__always)
  private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
    reserve(MemoryLayout<T>.size)
    base.storeBytes(of: value.bigEndian, toByteOffset: count, as: T.self)
    count += MemoryLayout<T>.size
  }

  /// The first eight UTF-8 bytes of `string` as a big-endian integer (zero-padded), so integer
  /// order agrees with byte order wherever two prefixes differ.
  @inline(__always)
  static func utf8Prefix(_ string: String) -> UInt64 {
    let fast = string.utf8.withContiguousStorageIfAvailable {
      bytePrefix(UnsafeRawBufferPointer($0))
    }
    if let fast { return fast }
    var prefix: UInt64 = 0
    for (index, byte) in string.utf8.prefix(8).enumerated() {
      prefix |= UInt64(byte) << UInt64(56 - 8 * index)
    }
    return prefix
  }

  /// The first eight of `bytes` as a big-endian integer (zero-padded).
  @inline(__always)
  static func bytePrefix(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var prefix: UInt64 = 0
    for index in 0..<min(8, bytes.count) {
      prefix |= UInt64(bytes[index]) << UInt64(56 - 8 * index)
    }
    return prefix
  }

  /// Compares strings by their UTF-8 bytes (negative, zero or positive), unlike `<` on `String`,
  /// so the wire order does not depend on Unicode normalization.
  static func utf8Compare(_ lhs: String, _ rhs: String) -> Int {
    let fast = lhs.utf8.withContiguousStorageIfAvailable { left in
      rhs.utf8.withContiguousStorageIfAvailable { right in
        compareBytes(UnsafeRawBufferPointer(left), UnsafeRawBufferPointer(right))
      }
    }
    if let fast, let result = fast { return result }
    if lhs.utf8.elementsEqual(rhs.utf8) { return 0 }
    return lhs.utf8.lexicographicallyPrecedes(rhs.utf8) ? -1 : 1
  }

  /// Compares byte strings (negative, zero or positive): by their bytes, then the shorter first.
  static func compareBytes(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Int {
    let common = min(left.count, right.count)
    if common > 0, let leftBase = left.baseAddress, let rightBase = right.baseAddress {
      let order = memcmp(leftBase, rightBase, common)
      if order != 0 { return Int(order) }
    }
    return left.count - right.count
  }
}
