/// Why bytes could not be read as (or a value could not be written as) a stored `SessionValue`.
public enum SessionValueFormatError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The input ended at `offset` in the middle of a value.
  case truncated(offset: Int)
  /// The byte at `offset` is not a MessagePack marker (only `0xc1` is never used by the spec).
  case unknownMarker(UInt8, offset: Int)
  /// The MessagePack type at `offset` is valid but has no `SessionValue` counterpart (ext).
  case unsupportedType(marker: UInt8, offset: Int)
  /// A length or element count at `offset` declares more than the bytes that remain.
  case lengthPastEnd(declared: UInt64, remaining: Int, offset: Int)
  /// Arrays and maps nest deeper than `limit` at `offset`.
  case nestingTooDeep(limit: Int, offset: Int)
  /// The string at `offset` is not valid UTF-8.
  case invalidUTF8(offset: Int)
  /// The unsigned integer at `offset` is above `Int64.max`.
  case integerOutOfRange(offset: Int)
  /// A map key at `offset` is not a string.
  case nonStringKey(offset: Int)
  /// A map repeats the key at `offset`.
  case duplicateKey(String, offset: Int)
  /// `count` bytes follow the value that ends at `offset`.
  case trailingBytes(offset: Int, count: Int)
  /// The item flags lack this format's tag: another program wrote the item.
  case notOurFormat(flags: UInt32)
  /// The item flags are ours but the envelope does not start with this format's magic bytes.
  case badMagic
  /// The format id in the flags, or the envelope version, is one this build cannot read.
  case unsupportedVersion(Int)
  /// The item flags set bits this build does not know.
  case unsupportedFlags(UInt32)
  /// zlib refused the compressed payload; `code` is zlib's return code.
  case decompressionFailed(code: Int32)
  /// The declared uncompressed size is above the decoder's limit (or what deflate can reach).
  case decompressedSizeExceedsLimit(declared: UInt64, limit: Int)
  /// The compressed payload does not inflate to exactly the size it declares.
  case decompressedSizeMismatch(declared: Int)
  /// A string, byte string, array or map has more than `UInt32.max` elements.
  case valueTooLarge(count: Int)
  /// The value is sealed with a key the ring lacks, or no ring is configured to open it.
  case unknownSealingKey(id: UInt32)
  /// The sealed value does not open: changed, cut, forged, or moved to another key or flags.
  case sealNotOpened
  /// The value is not sealed, and the key ring does not accept unsealed values.
  case notSealed

  /// Whether sealing refused the bytes (`.unknownSealingKey`, `.sealNotOpened`, `.notSealed`).
  public var isSealingRejection: Bool {
    switch self {
    case .unknownSealingKey, .sealNotOpened, .notSealed: return true
    default: return false
    }
  }

  /// A one-line explanation that names the offset or flags involved.
  public var description: String {
    switch self {
    case .truncated(let offset):
      return "value truncated at offset \(offset)"
    case .unknownMarker(let marker, let offset):
      return "unknown MessagePack marker 0x\(Self.hex(marker)) at offset \(offset)"
    case .unsupportedType(let marker, let offset):
      return "unsupported MessagePack type 0x\(Self.hex(marker)) (ext) at offset \(offset)"
    case .lengthPastEnd(let declared, let remaining, let offset):
      return "length \(declared) at offset \(offset) exceeds the \(remaining) bytes remaining"
    case .nestingTooDeep(let limit, let offset):
      return "arrays and maps nest deeper than \(limit) at offset \(offset)"
    case .invalidUTF8(let offset):
      return "string at offset \(offset) is not valid UTF-8"
    case .integerOutOfRange(let offset):
      return "integer at offset \(offset) is above Int64.max"
    case .nonStringKey(let offset):
      return "map key at offset \(offset) is not a string"
    case .duplicateKey(let key, let offset):
      return "map key \(key.debugDescription) repeated at offset \(offset)"
    case .trailingBytes(let offset, let count):
      return "\(count) unexpected bytes after the value ending at offset \(offset)"
    case .notOurFormat(let flags):
      return "item flags 0x\(String(flags, radix: 16)) are not the MCDUtils value format"
    case .badMagic:
      return "envelope does not start with the MCDUtils magic bytes"
    case .unsupportedVersion(let version):
      return "value format version \(version) is not supported"
    case .unsupportedFlags(let flags):
      return "item flags 0x\(String(flags, radix: 16)) set unknown bits"
    case .decompressionFailed(let code):
      return "zlib failed to inflate the payload (code \(code))"
    case .decompressedSizeExceedsLimit(let declared, let limit):
      return "declared uncompressed size \(declared) exceeds the limit of \(limit) bytes"
    case .decompressedSizeMismatch(let declared):
      return "payload does not inflate to its declared size of \(declared) bytes"
    case .valueTooLarge(let count):
      return "\(count) elements exceed MessagePack's limit of \(UInt32.max)"
    case .unknownSealingKey(let id):
      return "the value is sealed with key 0x\(String(id, radix: 16)), which the ring lacks"
    case .sealNotOpened:
      return "the sealed value does not open (changed, forged, or moved)"
    case .notSealed:
      return "the value is not sealed, and sealing is required"
    }
  }

  private static func hex(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16)
    return digits.count == 1 ? "0" + digits : digits
  }
}
