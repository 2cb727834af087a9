/// The stored form of a session or cache value: item flags, and an envelope around the
/// MessagePack encoding of a ``SessionValue``, zlib-compressed when that pays.
public enum ValueFormat {
  // The flags and envelope layout is described in StoredValues.md and docs/wire-format.md.
  static let flagsTag: UInt32 = 0x4D43_0000
  static let flagsTagMask: UInt32 = 0xFFFF_0000
  static let formatID: UInt32 = 1
  static let compressedFlag: UInt32 = 0x1
  static let plainFlags: UInt32 = flagsTag | formatID << 8
  static let compressedFlags: UInt32 = plainFlags | compressedFlag
  static let sealedFormatID: UInt32 = 2
  static let sealedFlags: UInt32 = flagsTag | sealedFormatID << 8
  static let magic: [UInt8] = [0xC1, 0x4D, 0x43]
  static let envelopeVersion: UInt8 = 1
  static let headerSize = 4
  /// How many arrays and maps may nest in a stored value, on write and on read.
  public static let maximumDepth = MessagePackLimits.maximumDepth
  /// Payloads above this many bytes are compressed by default.
  public static let defaultCompressionThreshold = 8192
  /// The largest payload a decode accepts by default, after decompression.
  public static let defaultMaximumDecodedSize = 64 << 20

  /// The most bytes deflate inflates to per compressed byte; a larger declared size is a lie.
  static let maximumDeflateRatio = 1032

  private static let reservedFlags: UInt32 = 0xFE

  private static let header: [UInt8] = magic + [envelopeVersion]
  static let sealedEnvelopeVersion: UInt8 = 2

  /// Whether item `flags` carry this format's tag (of any version).
  public static func isOurs(flags: UInt32) -> Bool {
    flags & flagsTagMask == flagsTag
  }

  /// Encodes `value` to envelope bytes and the item flags to store with them.
  ///
  /// - Throws: `SessionValueFormatError.nestingTooDeep` or `.valueTooLarge`.
  public static func encode(
    _ value: SessionValue, compressionThreshold: Int = defaultCompressionThreshold,
    sealing: SealingKeyRing? = nil, key: @autoclosure () -> String = ""
  ) throws(SessionValueFormatError) -> (bytes: [UInt8], flags: UInt32) {
    try write(compressionThreshold: compressionThreshold, sealing: sealing, key: key()) {
      writer throws(SessionValueFormatError) in try writer.write(value)
    }
  }

  /// Envelope bytes and flags for the payload `body` writes.
  static func write(
    compressionThreshold: Int = defaultCompressionThreshold, sealing: SealingKeyRing?,
    key: @autoclosure () -> String,
    _ body: (inout MessagePackWriter) throws(SessionValueFormatError) -> Void
  ) throws(SessionValueFormatError) -> (bytes: [UInt8], flags: UInt32) {
    var writer = MessagePackWriter(header: header)
    try body(&writer)
    return envelope(writer.bytes, compressionThreshold, sealing, key)
  }

  /// Encodes any `Encodable` value through ``SessionValueEncoder`` to envelope bytes and flags.
  ///
  /// - Throws: `EncodingError`, ``SessionValueNestingError``, or ``SessionValueFormatError``.
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

  /// Compresses the payload of `plain` when that pays, seals it when asked, and picks the flags.
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

  /// What a seal is bound to: the format, the item flags and the full key.
  static func associatedData(_ flags: UInt32, _ key: String) -> [UInt8] {
    var data = Array("MCDUtils sealed value v1".utf8)
    withUnsafeBytes(of: flags.bigEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: key.utf8)
    return data
  }

  /// Decodes envelope `bytes` stored with item `flags` under `key` (the full memcached key).
  ///
  /// - Throws: `SessionValueFormatError` for bytes that are not ours, too large, refused by
  ///   sealing, truncated, corrupt or hostile.
  public static func decode(
    _ bytes: [UInt8], flags: UInt32, maximumDecodedSize: Int = defaultMaximumDecodedSize,
    sealing: SealingKeyRing? = nil, key: @autoclosure () -> String = ""
  ) throws(SessionValueFormatError) -> SessionValue {
    try read(
      bytes, flags: flags, maximumDecodedSize: maximumDecodedSize, sealing: sealing, key: key()
    ) { reader throws(SessionValueFormatError) in try reader.readDocument() }
  }

  /// Checks, opens and inflates envelope `bytes`, and hands a reader of the payload to `body`.
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

  /// Decodes a value of `type` from envelope bytes and flags, through ``SessionValueDecoder``.
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

  /// A payload after the envelope: the caller's bytes, or its own (inflated or opened).
  private enum Payload {
    case plain(UnsafeRawBufferPointer)
    case owned([UInt8])
  }

  /// Checks the flags and envelope and returns the payload, opened and inflated if need be.
  private static func payload(
    _ buffer: UnsafeRawBufferPointer, _ flags: UInt32, _ maximumDecodedSize: Int,
    _ sealing: SealingKeyRing?, _ key: () -> String
  ) throws(SessionValueFormatError) -> Payload {
    let unwrapped: Unwrapped
    do {
      unwrapped = try open(buffer, flags, sealing, key)
    } catch {
      throw refusal(error, flags: flags, sealing: sealing)
    }
    switch unwrapped {
    case .plain(let afterHeader, let compressed):
      return try unwrap(afterHeader, compressed, maximumDecodedSize)
    case .opened(let opened, let compressed):
      guard compressed else { return try unwrap(opened, maximumDecodedSize) }
      let result = opened.withUnsafeBytes { buffer in
        Result { () throws(SessionValueFormatError) -> Payload in
          try unwrap(buffer, true, maximumDecodedSize)
        }
      }
      return try result.get()
    }
  }

  /// What `error`, met before a seal opened, is under `sealing`: a ring opens sealed values
  /// only, so bytes under sealed flags that are cut or mangled, whatever their length, are a
  /// seal that does not open, and any other bytes are not sealed when the ring requires it.
  private static func refusal(
    _ error: SessionValueFormatError, flags: UInt32, sealing: SealingKeyRing?
  ) -> SessionValueFormatError {
    guard let sealing, !error.isSealingRejection else { return error }
    if isOurs(flags: flags) && (flags >> 8) & 0xFF == sealedFormatID { return .sealNotOpened }
    return sealing.acceptsUnsealed ? error : .notSealed
  }

  /// The bytes after a checked envelope header, opened when sealed; not inflated yet.
  private enum Unwrapped {
    case plain(UnsafeRawBufferPointer, compressed: Bool)
    case opened([UInt8], compressed: Bool)
  }

  /// Checks the flags and the envelope's header, and opens a sealed value.
  private static func open(
    _ buffer: UnsafeRawBufferPointer, _ flags: UInt32, _ sealing: SealingKeyRing?,
    _ key: () -> String
  ) throws(SessionValueFormatError) -> Unwrapped {
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
      return .plain(afterHeader, compressed: compressed)
    }
    guard let sealing else {
      throw .unknownSealingKey(
        id: afterHeader.count >= 4 ? afterHeader.loadUnaligned(as: UInt32.self).bigEndian : 0)
    }
    let opened = try sealing.open(afterHeader, authenticating: associatedData(flags, key()))
    return .opened(opened, compressed: compressed)
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

  /// The payload after an envelope's header: as is, or inflated from its length and zlib stream.
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
