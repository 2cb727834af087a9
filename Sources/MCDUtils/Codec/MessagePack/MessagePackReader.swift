/// Reads one MessagePack value into a `SessionValue`, treating the input as hostile.
struct MessagePackReader {
  private let raw: UnsafeRawBufferPointer
  private let bytes: UnsafeBufferPointer<UInt8>
  private let maximumDepth: Int
  /// Where the next byte will be read.
  private(set) var offset = 0

  init(_ buffer: UnsafeRawBufferPointer, maximumDepth: Int = MessagePackLimits.maximumDepth) {
    raw = buffer
    bytes = buffer.assumingMemoryBound(to: UInt8.self)
    self.maximumDepth = maximumDepth
  }

  /// Decodes `bytes`, which must hold exactly one value.
  static func decode(_ bytes: [UInt8]) throws(SessionValueFormatError) -> SessionValue {
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(SessionValueFormatError) -> SessionValue in
        var reader = MessagePackReader(buffer)
        return try reader.readDocument()
      }
    }
    return try result.get()
  }

  /// Reads one value and requires it to end exactly at the end of the input.
  mutating func readDocument() throws(SessionValueFormatError) -> SessionValue {
    let value = try readValue(depth: 0)
    if offset != bytes.count {
      throw .trailingBytes(offset: offset, count: bytes.count - offset)
    }
    return value
  }

  /// Reads a top-level map field by field, without building it, passing `body` each key's bytes
  /// (not checked as UTF-8), start and value; returns `false` when the value is not a map.
  mutating func readFields(
    _ body: (UnsafeBufferPointer<UInt8>, Int, SessionValue) throws(SessionValueFormatError) -> Void
  ) throws(SessionValueFormatError) -> Bool {
    // A key that is not a string is refused; which keys may repeat is `body`'s to say.
    guard offset < bytes.count else { throw .truncated(offset: offset) }
    let start = offset
    let count: Int
    switch bytes[offset] {
    case 0x80...0x8f:
      offset += 1
      count = Int(bytes[start] & 0x0f)
    case 0xde:
      offset += 1
      count = Int(try read(UInt16.self))
    case 0xdf:
      offset += 1
      count = Int(try read(UInt32.self))
    default:
      return false
    }
    try checkLength(count, unit: 2, start: start)
    for _ in 0..<count {
      let (name, start) = try readKeyBytes()
      try body(name, start, try readValue(depth: 1))
    }
    if offset != bytes.count {
      throw .trailingBytes(offset: offset, count: bytes.count - offset)
    }
    return true
  }

  private var remaining: Int { bytes.count - offset }

  private mutating func readValue(depth: Int) throws(SessionValueFormatError) -> SessionValue {
    guard offset < bytes.count else { throw .truncated(offset: offset) }
    let start = offset
    let marker = bytes[offset]
    offset += 1
    switch marker {
    case 0x00...0x7f:
      return .int(Int64(marker))
    case 0x80...0x8f:
      return try readMap(count: Int(marker & 0x0f), start: start, depth: depth)
    case 0x90...0x9f:
      return try readArray(count: Int(marker & 0x0f), start: start, depth: depth)
    case 0xa0...0xbf:
      return .string(try readString(count: Int(marker & 0x1f), start: start))
    case 0xc0:
      return .nil
    case 0xc2:
      return .bool(false)
    case 0xc3:
      return .bool(true)
    case 0xc4:
      return .bytes(try readBinary(count: Int(try read(UInt8.self)), start: start))
    case 0xc5:
      return .bytes(try readBinary(count: Int(try read(UInt16.self)), start: start))
    case 0xc6:
      return .bytes(try readBinary(count: Int(try read(UInt32.self)), start: start))
    case 0xca:
      return .double(Double(Float(bitPattern: try read(UInt32.self))))
    case 0xcb:
      return .double(Double(bitPattern: try read(UInt64.self)))
    case 0xcc:
      return .int(Int64(try read(UInt8.self)))
    case 0xcd:
      return .int(Int64(try read(UInt16.self)))
    case 0xce:
      return .int(Int64(try read(UInt32.self)))
    case 0xcf:
      let value = try read(UInt64.self)
      guard let integer = Int64(exactly: value) else { throw .integerOutOfRange(offset: start) }
      return .int(integer)
    case 0xd0:
      return .int(Int64(Int8(bitPattern: try read(UInt8.self))))
    case 0xd1:
      return .int(Int64(Int16(bitPattern: try read(UInt16.self))))
    case 0xd2:
      return .int(Int64(Int32(bitPattern: try read(UInt32.self))))
    case 0xd3:
      return .int(Int64(bitPattern: try read(UInt64.self)))
    case 0xd9:
      return .string(try readString(count: Int(try read(UInt8.self)), start: start))
    case 0xda:
      return .string(try readString(count: Int(try read(UInt16.self)), start: start))
    case 0xdb:
      return .string(try readString(count: Int(try read(UInt32.self)), start: start))
    case 0xdc:
      return try readArray(count: Int(try read(UInt16.self)), start: start, depth: depth)
    case 0xdd:
      return try readArray(count: Int(try read(UInt32.self)), start: start, depth: depth)
    case 0xde:
      return try readMap(count: Int(try read(UInt16.self)), start: start, depth: depth)
    case 0xdf:
      return try readMap(count: Int(try read(UInt32.self)), start: start, depth: depth)
    case 0xc7, 0xc8, 0xc9, 0xd4...0xd8:
      throw .unsupportedType(marker: marker, offset: start)
    case 0xe0...0xff:
      return .int(Int64(Int8(bitPattern: marker)))
    default:
      throw .unknownMarker(marker, offset: start)
    }
  }

  @inline(__always)
  private mutating func read<T: FixedWidthInteger>(
    _: T.Type
  ) throws(SessionValueFormatError) -> T {
    let size = MemoryLayout<T>.size
    guard remaining >= size else { throw .truncated(offset: offset) }
    let value = raw.loadUnaligned(fromByteOffset: offset, as: T.self)
    offset += size
    return T(bigEndian: value)
  }

  /// Checks a declared length against what is left, before the caller allocates for it; `unit`
  /// is the fewest bytes one element can take.
  @inline(__always)
  private func checkLength(
    _ count: Int, unit: Int, start: Int
  ) throws(SessionValueFormatError) {
    if count > remaining / unit {
      throw .lengthPastEnd(declared: UInt64(count), remaining: remaining, offset: start)
    }
  }

  private mutating func readString(
    count: Int, start: Int
  ) throws(SessionValueFormatError) -> String {
    try checkLength(count, unit: 1, start: start)
    let slice = UnsafeBufferPointer(rebasing: bytes[offset..<(offset + count)])
    guard let string = Self.string(slice) else { throw .invalidUTF8(offset: start) }
    offset += count
    return string
  }

  /// The string in `bytes`, or `nil` when they are not valid UTF-8.
  private static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    // `UTF8Span` validates once and copies; `String(validating:as:)` is not specialized for raw
    // buffers and doubled the cost of a whole decode.
    if #available(macOS 26, iOS 26, tvOS 26, watchOS 26, visionOS 26, *) {
      guard let span = try? UTF8Span(validating: bytes.span) else { return nil }
      return String(copying: span)
    }
    return String(validating: bytes, as: UTF8.self)
  }

  private mutating func readBinary(
    count: Int, start: Int
  ) throws(SessionValueFormatError) -> [UInt8] {
    try checkLength(count, unit: 1, start: start)
    let data = [UInt8](UnsafeBufferPointer(rebasing: bytes[offset..<(offset + count)]))
    offset += count
    return data
  }

  private mutating func readArray(
    count: Int, start: Int, depth: Int
  ) throws(SessionValueFormatError) -> SessionValue {
    try checkLength(count, unit: 1, start: start)
    guard depth < maximumDepth else {
      throw .nestingTooDeep(limit: maximumDepth, offset: start)
    }
    var elements: [SessionValue] = []
    elements.reserveCapacity(count)
    for _ in 0..<count {
      elements.append(try readValue(depth: depth + 1))
    }
    return .array(elements)
  }

  private mutating func readMap(
    count: Int, start: Int, depth: Int
  ) throws(SessionValueFormatError) -> SessionValue {
    try checkLength(count, unit: 2, start: start)
    guard depth < maximumDepth else {
      throw .nestingTooDeep(limit: maximumDepth, offset: start)
    }
    // `init(minimumCapacity:)` is specialized here; `reserveCapacity` on an empty dictionary
    // resizes through unspecialized code that looks up the storage's generic metadata.
    var entries = [String: SessionValue](minimumCapacity: count)
    for _ in 0..<count {
      let keyOffset = offset
      let key = try readKey()
      let value = try readValue(depth: depth + 1)
      if entries.updateValue(value, forKey: key) != nil {
        throw .duplicateKey(key, offset: keyOffset)
      }
    }
    return .map(entries)
  }

  private mutating func readKey() throws(SessionValueFormatError) -> String {
    let (bytes, start) = try readKeyBytes()
    guard let key = Self.string(bytes) else { throw .invalidUTF8(offset: start) }
    return key
  }

  /// The bytes of the string key at the reader's offset, and where its encoding starts.
  private mutating func readKeyBytes() throws(SessionValueFormatError) -> (
    UnsafeBufferPointer<UInt8>, start: Int
  ) {
    guard offset < bytes.count else { throw .truncated(offset: offset) }
    let start = offset
    let marker = bytes[offset]
    offset += 1
    let count: Int
    switch marker {
    case 0xa0...0xbf: count = Int(marker & 0x1f)
    case 0xd9: count = Int(try read(UInt8.self))
    case 0xda: count = Int(try read(UInt16.self))
    case 0xdb: count = Int(try read(UInt32.self))
    default: throw .nonStringKey(offset: start)
    }
    try checkLength(count, unit: 1, start: start)
    defer { offset += count }
    return (UnsafeBufferPointer(rebasing: bytes[offset..<(offset + count)]), start)
  }
}
