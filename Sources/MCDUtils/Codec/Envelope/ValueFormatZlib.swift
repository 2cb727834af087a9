internal import CZlib

/// The zlib calls of the value format, kept in one place.
enum ValueFormatZlib {
  /// Compresses `input` as one zlib (RFC 1950) stream, appended to `prefix`; `nil` when zlib
  /// fails, in which case the caller stores the value uncompressed.
  static func compress(_ input: UnsafeRawBufferPointer, after prefix: [UInt8]) -> [UInt8]? {
    guard let source = input.baseAddress?.assumingMemoryBound(to: Bytef.self) else { return nil }
    let bound = Int(compressBound(uLong(input.count)))
    var status = Z_OK
    let output = [UInt8](unsafeUninitializedCapacity: prefix.count + bound) { buffer, count in
      count = 0
      guard let base = buffer.baseAddress else {
        status = Z_MEM_ERROR
        return
      }
      for (index, byte) in prefix.enumerated() { buffer[index] = byte }
      var written = uLongf(bound)
      status = compress2(
        base + prefix.count, &written, source, uLong(input.count), Z_DEFAULT_COMPRESSION)
      if status == Z_OK { count = prefix.count + Int(written) }
    }
    return status == Z_OK ? output : nil
  }

  /// Inflates the zlib stream in `input`, which must produce exactly `size` bytes and be
  /// consumed entirely; the output buffer never grows beyond `size` bytes.
  static func decompress(
    _ input: UnsafeRawBufferPointer, size: Int
  ) throws(SessionValueFormatError) -> [UInt8] {
    guard size > 0 else { throw .decompressedSizeMismatch(declared: size) }
    guard let source = input.baseAddress?.assumingMemoryBound(to: Bytef.self) else {
      throw .decompressionFailed(code: Z_BUF_ERROR)
    }
    var status = Z_OK
    var produced = 0
    var consumed = 0
    let output = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
      count = 0
      guard let base = buffer.baseAddress else {
        status = Z_MEM_ERROR
        return
      }
      var destinationLength = uLongf(size)
      var sourceLength = uLong(input.count)
      status = uncompress2(base, &destinationLength, source, &sourceLength)
      produced = Int(destinationLength)
      consumed = Int(sourceLength)
      // The bytes zlib wrote are initialized even when it stopped early; keeping them lets the
      // array release its storage normally on the error paths below.
      count = produced
    }
    switch status {
    case Z_OK:
      guard produced == size else { throw .decompressedSizeMismatch(declared: size) }
      guard consumed == input.count else {
        throw .trailingBytes(offset: consumed, count: input.count - consumed)
      }
      return output
    case Z_BUF_ERROR:
      // uncompress2 reports Z_BUF_ERROR only when the output is full and the stream goes on.
      throw .decompressedSizeMismatch(declared: size)
    default:
      throw .decompressionFailed(code: status)
    }
  }
}
