/// UTF-8 validation for the MessagePack reader. The standard library's
/// `String(validating:as:)` is not specialized for raw buffers and costs more than the whole
/// rest of a decode, so strings are checked here and then built with `String(decoding:as:)`,
/// which copies without further work on valid input.
enum MessagePackUTF8 {
  /// Whether `bytes` is well-formed UTF-8: no stray continuation bytes, no overlong forms, no
  /// surrogates, nothing above U+10FFFF.
  static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    let count = bytes.count
    guard let base = bytes.baseAddress else { return true }
    let raw = UnsafeRawPointer(base)
    while index < count {
      // ASCII a word at a time (four words per step on long runs): the common case for session
      // keys and values.
      while index + 32 <= count {
        let words =
          raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
          | raw.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
          | raw.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
          | raw.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
        guard words & 0x8080_8080_8080_8080 == 0 else { break }
        index += 32
      }
      while index + 8 <= count,
        raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
      {
        index += 8
      }
      guard index < count else { return true }
      let lead = bytes[index]
      if lead < 0x80 {
        index += 1
        continue
      }
      let length: Int
      var lower: UInt8 = 0x80
      var upper: UInt8 = 0xBF
      switch lead {
      case 0xC2...0xDF:
        length = 2
      case 0xE0:
        length = 3
        lower = 0xA0
      case 0xE1...0xEC, 0xEE...0xEF:
        length = 3
      case 0xED:
        length = 3
        upper = 0x9F
      case 0xF0:
        length = 4
        lower = 0x90
      case 0xF1...0xF3:
        length = 4
      case 0xF4:
        length = 4
        upper = 0x8F
      default:
        return false
      }
      guard count - index >= length else { return false }
      let second = bytes[index + 1]
      guard second >= lower && second <= upper else { return false }
      var next = index + 2
      while next < index + length {
        guard bytes[next] & 0xC0 == 0x80 else { return false }
        next += 1
      }
      index += length
    }
    return true
  }
}
