/// The stored form of a session or cache value: item flags, and an envelope around the
/// MessagePack encoding of a ``SessionValue``, zlib-compressed when that pays.
///
/// ```swift
/// let (bytes, flags) = try ValueFormat.encode(cart)
/// let cart = try ValueFormat.decode(Cart.self, from: bytes, flags: flags)
/// ```
///
/// The article <doc:StoredValues> describes the format byte by byte.
public enum ValueFormat {
  /// The high 16 bits of the item flags of every value in this format.
  static let flagsTag: UInt32 = 0x4D43_0000
  /// The mask selecting `flagsTag`.
  static let flagsTagMask: UInt32 = 0xFFFF_0000
  /// The format id this build writes and reads, in bits 15–8 of the flags.
  static let formatID: UInt32 = 1
  /// The flags bit saying the payload is zlib-compressed.
  static let compressedFlag: UInt32 = 0x1
  /// The flags of an uncompressed value.
  static let plainFlags: UInt32 = flagsTag | formatID << 8
  /// The flags of a compressed value.
  static let compressedFlags: UInt32 = plainFlags | compressedFlag
  /// The format id of a sealed value (the payload of format 1, sealed with AES-GCM).
  static let sealedFormatID: UInt32 = 2
  /// The flags of a sealed value (the compressed bit says whether what is sealed is).
  static let sealedFlags: UInt32 = flagsTag | sealedFormatID << 8
  /// The first bytes of every envelope: `0xC1` (never a MessagePack marker), then "MC".
  static let magic: [UInt8] = [0xC1, 0x4D, 0x43]
  /// The envelope version this build writes and reads.
  static let envelopeVersion: UInt8 = 1
  /// The length of the envelope header before the payload (magic and version).
  static let headerSize = 4
  /// How many arrays and maps may nest in a stored value, on write and on read.
  public static let maximumDepth = MessagePackLimits.maximumDepth
  /// Payloads above this many bytes are compressed by default.
  public static let defaultCompressionThreshold = 8192
  /// The largest payload a decode accepts by default, after decompression.
  public static let defaultMaximumDecodedSize = 64 << 20

  /// Inflating deflate data yields at most about 1032 bytes per compressed byte, so a larger
  /// declared size is a lie that would only make the decoder allocate for nothing.
  static let maximumDeflateRatio = 1032

  private static let reservedFlags: UInt32 = 0xFE

  private static let header: [UInt8] = magic + [envelopeVersion]
  /// The envelope version of a sealed value.
  static let sealedEnvelopeVersion: UInt8 = 2

  /// Whether item `flags` carry this format's tag, that is, whether the item was written by
  /// `ValueFormat` (of any version).
  public static func isOurs(flags: UInt32) -> Bool {
    flags & flagsTagMask == flagsTag
  }

  /// Encodes `value` to envelope bytes and the item flags to store with them. The payload is
  /// compressed when it is larger than `compressionThreshold` bytes and compression makes the
  /// item smaller, then sealed when `sealing` is given, bound to `key` (the full memcached key)
  /// and the flags.
  ///
  /// - Throws: `SessionValueFormatError.nestingTooDeep` or `.valueTooLarge` for values the
  ///   format cannot hold.
  public static func encode(
    _ value: SessionValue, compressionThreshold: Int = defaultCompressionThreshold,
    sealing: SealingKeyRing? = nil, key: @autoclosure () -> String = ""
  ) throws(SessionValueFormatError) -> (bytes: [UInt8], flags: UInt32) {
    try write(compressionThreshold: compressionThreshold, sealing: sealing, key: key()) {
      writer throws(SessionValueFormatError) in try writer.write(value)
    }
  }

  /// Envelope bytes and flags for the payload `body` writes, as
  /// ``encode(_:compressionThreshold:sealing:key:)-(SessionValue,_,_,_)`` makes them for a tree.
  static func write(
    compressionThreshold: Int = defaultCompressionThreshold, sealing: SealingKeyRing?,
    key: @autoclosure () -> String,
    _ body: (inout MessagePackWriter) throws(SessionValueFormatError) -> Void
  ) throws(SessionValueFormatError) -> (bytes: [UInt8], flags: UInt32) {
    var writer = MessagePackWriter(header: header)
    try body(&writer)
    return envelope(writer.bytes, compressionThreshold, sealing, key)
  }

  /// Encodes any `Encodable` value through ``SessionValueEncoder`` (a `SessionValue` passes
  /// unchanged), as ``encode(_:compressionThreshold:sealing:key:)-(SessionValue,_,_,_)`` does a tree.
  ///
  /// - Throws: `EncodingError` from the encoder, ``SessionValueNestingError`` for a value that
  ///   nests too deep (a reference cycle does), or ``SessionValueFormatError`` for values the
  ///   format cannot hold.
  public static func encode<T: Encodable>(
    _ value: T, compressionThreshold: Int = defaultCompressionThreshold,
    sealing: SealingKeyRing? = nil, key: @autoclosure () -> String = ""
  ) throws -> (bytes: [UInt8], flags: UInt32) {
    // The encoder's own records are written as they are, without building the `SessionValue`
    // maps (and hashing every key) first; the bytes are the same.
    let slot = try SessionValueEncodingState.encodeRoot(value, userInfo: [:])
    return try write(compressionThreshold: compressionThreshold, sealing: sealing, key: key()) {
      writer throws(SessionValueFormatError) in try writer.write(slot)
    }
  }

  /// Compresses the payload after the header of `plain` when that pays, seals it when asked,
  /// and picks the flags.
  private static func envelope(
    _ plain: [UInt8], _ compressionThreshold: Int, _ sealing: SealingKeyRing?,
    _ key: () -> String
  ) -> (bytes: [UInt8], flags: UInt32) {
    var (bytes, flags) = compressed(plain, compressionThreshold)
    if let sealing {
      flags = sealedFlags | (flags & compressedFlag)
      let sealed = sealing.seal(
        Array(bytes[headerSize...]), authenticating: associatedData(flags, key()))
      bytes = magic + [sealedEnvelopeVersion] + sealed
    }
    return (bytes, flags)
  }

  private static func compressed(_ plain: [UInt8], _ compressionThreshold: Int) -> (
    bytes: [UInt8], flags: UInt32
  ) {
    let payloadCount = plain.count - headerSize
    guard payloadCount > compressionThreshold, payloadCount <= UInt32.max else {
      return (plain, plainFlags)
    }
    var prefix = header
    withUnsafeBytes(of: UInt32(payloadCount).bigEndian) { prefix.append(contentsOf: $0) }
    let compressed = plain.withUnsafeBytes { buffer in
      ValueFormatZlib.compress(
        UnsafeRawBufferPointer(rebasing: buffer[headerSize...]), after: prefix)
    }
    if let compressed, compressed.count < plain.count {
      return (compressed, compressedFlags)
    }
    return (plain, plainFlags)
  }

  /// What a seal is bound to: the format, the item flags and the full key, so that a sealed
  /// value moved to another key, or given other flags, does not open.
  static func associatedData(_ flags: UInt32, _ key: String) -> [UInt8] {
    var data = Array("MCDUtils sealed value v1".utf8)
    withUnsafeBytes(of: flags.bigEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: key.utf8)
    return data
  }

  /// Decodes envelope `bytes` stored with item `flags` under `key` (the full memcached key),
  /// opening them with `sealing` when they are sealed.
  ///
  /// - Throws: `SessionValueFormatError`: `.notOurFormat` when the flags are another program's,
  ///   `.decompressedSizeExceedsLimit` when the payload would inflate beyond
  ///   `maximumDecodedSize` bytes, `.sealNotOpened`, `.unknownSealingKey` or `.notSealed` for a
  ///   value sealing refuses, and the other cases for truncated, corrupt or hostile bytes.
  public static func decode(
    _ bytes: [UInt8], flags: UInt32, maximumDecodedSize: Int = defaultMaximumDecodedSize,
    sealing: SealingKeyRing? = nil, key: @autoclosure () -> String = ""
  ) throws(SessionValueFormatError) -> SessionValue {
    try read(
      bytes, flags: flags, maximumDecodedSize: maximumDecodedSize, sealing: sealing, key: key()
    ) { reader throws(SessionValueFormatError) in try reader.readDocument() }
  }

  /// Checks, opens and inflates envelope `bytes` as ``decode(_:flags:maximumDecodedSize:sealing:key:)``
  /// does, and hands a reader of the payload to `body`.
  static func read<R>(
    _ bytes: [UInt8], flags: UInt32, maximumDecodedSize: Int = defaultMaximumDecodedSize,
    sealing: SealingKeyRing?, key: @autoclosure () -> String,
    _ body: (inout MessagePackReader) throws(SessionValueFormatError) -> R
  ) throws(SessionValueFormatError) -> R {
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(SessionValueFormatError) -> R in
        switch try payload(buffer, flags, maximumDecodedSize, sealing, key) {
        case .plain(let payload):
          var reader = MessagePackReader(payload)
          return try body(&reader)
        case .owned(let payload):
          let owned = payload.withUnsafeBytes { buffer in
            Result { () throws(SessionValueFormatError) -> R in
              var reader = MessagePackReader(buffer)
              return try body(&reader)
            }
          }
          return try owned.get()
        }
      }
    }
    return try result.get()
  }

  /// Decodes a value of `type` from envelope bytes and item flags, through
  /// ``SessionValueDecoder``, as ``decode(_:flags:maximumDecodedSize:sealing:key:)`` does a tree.
  ///
  /// - Throws: ``SessionValueFormatError`` for bytes that are not a stored value, or
  ///   `DecodingError` when the stored value does not have the shape `type` expects.
  public static func decode<T: Decodable>(
    _ type: T.Type, from bytes: [UInt8], flags: UInt32,
    maximumDecodedSize: Int = defaultMaximumDecodedSize, sealing: SealingKeyRing? = nil,
    key: @autoclosure () -> String = ""
  ) throws -> T {
    let value = try decode(
      bytes, flags: flags, maximumDecodedSize: maximumDecodedSize, sealing: sealing, key: key())
    return try SessionValueDecoder().decode(type, from: value)
  }

  /// A payload after the envelope: the caller's bytes, or bytes of its own (inflated, or
  /// opened).
  private enum Payload {
    case plain(UnsafeRawBufferPointer)
    case owned([UInt8])
  }

  /// Checks the flags and envelope and returns the MessagePack payload, opened and inflated if
  /// need be.
  private static func payload(
    _ buffer: UnsafeRawBufferPointer, _ flags: UInt32, _ maximumDecodedSize: Int,
    _ sealing: SealingKeyRing?, _ key: () -> String
  ) throws(SessionValueFormatError) -> Payload {
    guard isOurs(flags: flags) else { throw .notOurFormat(flags: flags) }
    let format = (flags >> 8) & 0xFF
    guard format == formatID || format == sealedFormatID else {
      throw .unsupportedVersion(Int(format))
    }
    guard flags & reservedFlags == 0 else { throw .unsupportedFlags(flags) }
    for (index, byte) in magic.enumerated() {
      guard index < buffer.count else { throw .truncated(offset: buffer.count) }
      guard buffer[index] == byte else { throw .badMagic }
    }
    guard buffer.count > magic.count else { throw .truncated(offset: buffer.count) }
    let version = buffer[magic.count]
    let sealed = format == sealedFormatID
    guard version == (sealed ? sealedEnvelopeVersion : envelopeVersion) else {
      throw .unsupportedVersion(Int(version))
    }
    let afterHeader = UnsafeRawBufferPointer(rebasing: buffer[headerSize...])
    let compressed = flags & compressedFlag != 0
    guard sealed else {
      if let sealing, !sealing.acceptsUnsealed { throw .notSealed }
      return try unwrap(afterHeader, compressed, maximumDecodedSize)
    }
    guard let sealing else {
      throw .unknownSealingKey(
        id: afterHeader.count >= 4 ? afterHeader.loadUnaligned(as: UInt32.self).bigEndian : 0)
    }
    let opened = try sealing.open(afterHeader, authenticating: associatedData(flags, key()))
    guard compressed else { return try unwrap(opened, maximumDecodedSize) }
    let result = opened.withUnsafeBytes { buffer in
      Result { () throws(SessionValueFormatError) -> Payload in
        try unwrap(buffer, true, maximumDecodedSize)
      }
    }
    return try result.get()
  }

  /// The payload of a plain envelope, within the size limit.
  private static func unwrap(_ payload: [UInt8], _ maximumDecodedSize: Int)
    throws(SessionValueFormatError) -> Payload
  {
    try checkSize(payload.count, maximumDecodedSize)
    return .owned(payload)
  }

  /// Refuses an uncompressed payload of `count` bytes above the size limit.
  private static func checkSize(_ count: Int, _ maximumDecodedSize: Int)
    throws(SessionValueFormatError)
  {
    guard count <= maximumDecodedSize else {
      throw .decompressedSizeExceedsLimit(declared: UInt64(count), limit: maximumDecodedSize)
    }
  }

  /// What follows an envelope's header: the payload itself, or its declared length and one
  /// zlib stream, inflated.
  private static func unwrap(
    _ afterHeader: UnsafeRawBufferPointer, _ compressed: Bool, _ maximumDecodedSize: Int
  ) throws(SessionValueFormatError) -> Payload {
    guard compressed else {
      try checkSize(afterHeader.count, maximumDecodedSize)
      return .plain(afterHeader)
    }
    guard afterHeader.count >= 4 else { throw .truncated(offset: afterHeader.count) }
    let declared = Int(UInt32(bigEndian: afterHeader.loadUnaligned(as: UInt32.self)))
    let stream = UnsafeRawBufferPointer(rebasing: afterHeader[4...])
    let limit = min(maximumDecodedSize, stream.count * maximumDeflateRatio)
    guard declared <= limit else {
      throw .decompressedSizeExceedsLimit(declared: UInt64(declared), limit: limit)
    }
    return .owned(try ValueFormatZlib.decompress(stream, size: declared))
  }
}
