extension MessagePackWriter {
  /// Writes what `SessionValueEncoder` collected, without building `SessionValue` maps first.
  mutating func write(_ slot: SessionValueEncodingSlot) throws(SessionValueFormatError) {
    try write(slot, depth: 0)
  }

  private mutating func write(
    _ slot: SessionValueEncodingSlot, depth: Int
  ) throws(SessionValueFormatError) {
    switch slot {
    case .value(let value):
      try write(value, depth: depth)
    case .keyed(let storage):
      try enterContainer(depth: depth)
      try writeEntries(storage.entries, depth: depth)
    case .unkeyed(let storage):
      try enterContainer(depth: depth)
      try writeArrayHeader(count: storage.slots.count)
      for element in storage.slots {
        try write(element, depth: depth + 1)
      }
    case .deferred(let encoder):
      if let storage = encoder.storage {
        try write(storage, depth: depth)
      } else {
        try writeMapHeader(count: 0)
      }
    }
  }

  /// Writes keyed entries sorted by key, keeping only the last value of a key encoded twice.
  private mutating func writeEntries(
    _ entries: [SessionValueKeyedEntry], depth: Int
  ) throws(SessionValueFormatError) {
    try withSortScratch(of: (prefix: UInt64, index: Int).self, count: entries.count, depth: depth) {
      writer, order throws(SessionValueFormatError) in
      try writer.writeEntries(entries, order: order, depth: depth)
    }
  }

  private mutating func writeEntries(
    _ entries: [SessionValueKeyedEntry],
    order: UnsafeMutableBufferPointer<(prefix: UInt64, index: Int)>,
    depth: Int
  ) throws(SessionValueFormatError) {
    // Sorting compares the first eight bytes of each key as one integer, computed once per key;
    // only keys sharing those bytes are compared in full.
    var order = order
    for index in entries.indices {
      order.initializeElement(
        at: index, to: (prefix: Self.utf8Prefix(entries[index].key), index: index))
    }
    order.sort { left, right in
      if left.prefix != right.prefix { return left.prefix < right.prefix }
      let comparison = Self.utf8Compare(entries[left.index].key, entries[right.index].key)
      return comparison != 0 ? comparison < 0 : left.index < right.index
    }
    var kept = 0
    for position in order.indices where isLastOfKey(order, position, entries) {
      order[kept] = order[position]
      kept += 1
    }
    try writeMapHeader(count: kept)
    for (_, index) in order[..<kept] {
      try writeString(entries[index].key)
      try write(entries[index].slot, depth: depth + 1)
    }
  }

  private func isLastOfKey(
    _ order: UnsafeMutableBufferPointer<(prefix: UInt64, index: Int)>, _ position: Int,
    _ entries: [SessionValueKeyedEntry]
  ) -> Bool {
    guard position + 1 < order.count else { return true }
    let (this, next) = (order[position], order[position + 1])
    return this.prefix != next.prefix || entries[this.index].key != entries[next.index].key
  }
}
