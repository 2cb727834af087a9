import Foundation

extension MessagePackWriter {
  /// Appends a one-byte placeholder for an array or map header and returns its offset; the
  /// header is written by ``finishArray(headerAt:count:)`` or ``finishMap(headerAt:entryStarts:)``
  /// once the container's content is known.
  mutating func appendHeaderPlaceholder() -> Int {
    let offset = count
    append(0x80)
    return offset
  }

  /// Writes the header of an array of `elements` elements at the placeholder at `headerOffset`.
  mutating func finishArray(headerAt headerOffset: Int, count elements: Int)
    throws(SessionValueFormatError)
  {
    try patchHeader(at: headerOffset) { writer throws(SessionValueFormatError) in
      try writer.writeArrayHeader(count: elements)
    }
  }

  /// Finishes a map whose entries (each a key string then its value) were written after the
  /// placeholder at `headerOffset`, starting at `entryStarts`: sorts them by the UTF-8 bytes of
  /// their keys, keeps the last of equal keys, and writes the header. The result is what
  /// `write(_:)` gives for the same entries collected first.
  mutating func finishMap(headerAt headerOffset: Int, entryStarts: ArraySlice<Int>)
    throws(SessionValueFormatError)
  {
    var kept = entryStarts.count
    if kept > 1 && !keysAscend(entryStarts) {
      kept = try withSortScratch(of: (prefix: UInt64, position: Int).self, count: kept, depth: 0) {
        writer, order throws(SessionValueFormatError) -> Int in
        writer.reorder(entryStarts, order: order)
      }
    }
    try patchHeader(at: headerOffset) { writer throws(SessionValueFormatError) in
      try writer.writeMapHeader(count: kept)
    }
  }

  /// The UTF-8 bytes of the key string written at `offset`.
  private func key(at offset: Int) -> UnsafeRawBufferPointer {
    let marker = base.load(fromByteOffset: offset, as: UInt8.self)
    let (length, skip): (Int, Int)
    switch marker {
    case 0xa0...0xbf:
      (length, skip) = (Int(marker & 0x1f), 1)
    case 0xd9:
      (length, skip) = (Int(base.load(fromByteOffset: offset + 1, as: UInt8.self)), 2)
    case 0xda:
      (length, skip) = (
        Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset + 1, as: UInt16.self))), 3
      )
    default:
      (length, skip) = (
        Int(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self))), 5
      )
    }
    return UnsafeRawBufferPointer(start: base + offset + skip, count: length)
  }

  /// Whether the keys already stand in strictly ascending order (sorted, none repeated).
  private func keysAscend(_ entryStarts: ArraySlice<Int>) -> Bool {
    var previous = key(at: entryStarts[entryStarts.startIndex])
    for start in entryStarts.dropFirst() {
      let next = key(at: start)
      if Self.compareBytes(previous, next) >= 0 { return false }
      previous = next
    }
    return true
  }

  /// Rewrites the entries in key order, the last of equal keys kept; returns how many remain.
  private mutating func reorder(
    _ entryStarts: ArraySlice<Int>,
    order: UnsafeMutableBufferPointer<(prefix: UInt64, position: Int)>
  ) -> Int {
    let first = entryStarts.startIndex
    let end = count
    func start(_ position: Int) -> Int { entryStarts[first + position] }
    for position in 0..<entryStarts.count {
      let prefix = Self.bytePrefix(key(at: start(position)))
      order.initializeElement(at: position, to: (prefix: prefix, position: position))
    }
    var order = order
    order.sort { left, right in
      if left.prefix != right.prefix { return left.prefix < right.prefix }
      let comparison = Self.compareBytes(
        key(at: start(left.position)), key(at: start(right.position)))
      return comparison != 0 ? comparison < 0 : left.position < right.position
    }
    let regionStart = start(0)
    // The entries in their new order go to scratch memory, then back: on the stack up to a
    // few kilobytes, as most maps are.
    let regionLength = end - regionStart
    func rewrite(_ scratch: UnsafeMutableRawPointer) -> Int {
      var written = 0
      var kept = 0
      for index in order.indices {
        let position = order[index].position
        if index + 1 < order.count, order[index].prefix == order[index + 1].prefix,
          Self.compareBytes(key(at: start(position)), key(at: start(order[index + 1].position)))
            == 0
        {
          continue
        }
        let entryStart = start(position)
        let length = (position + 1 < entryStarts.count ? start(position + 1) : end) - entryStart
        (scratch + written).copyMemory(from: base + entryStart, byteCount: length)
        written += length
        kept += 1
      }
      (base + regionStart).copyMemory(from: scratch, byteCount: written)
      count = regionStart + written
      return kept
    }
    guard regionLength > 4096 else {
      return withUnsafeTemporaryAllocation(byteCount: max(regionLength, 1), alignment: 1) {
        rewrite($0.baseAddress!)
      }
    }
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: regionLength, alignment: 1)
    defer { scratch.deallocate() }
    return rewrite(scratch)
  }

  /// Puts the header that `writeHeader` writes in place of the one-byte placeholder at `offset`,
  /// moving the content after it when the header is longer. The header is written after the
  /// content first, so that its form is chosen in one place, then moved to the front.
  private mutating func patchHeader(
    at offset: Int,
    _ writeHeader: (inout MessagePackWriter) throws(SessionValueFormatError) -> Void
  ) throws(SessionValueFormatError) {
    let end = count
    try writeHeader(&self)
    let length = count - end  // 1, 3 or 5 bytes
    var header: UInt64 = 0
    withUnsafeMutableBytes(of: &header) {
      $0.copyMemory(from: UnsafeRawBufferPointer(start: base + end, count: length))
    }
    let body = offset + 1
    if length > 1 { memmove(base + body + length - 1, base + body, end - body) }
    withUnsafeBytes(of: &header) {
      (base + offset).copyMemory(from: $0.baseAddress!, byteCount: length)
    }
    count = end + length - 1
  }
}
