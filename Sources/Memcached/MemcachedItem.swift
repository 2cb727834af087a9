/// An item read from memcached: its bytes, its flags and its CAS value.
public struct MemcachedItem: Sendable, Hashable {
  /// The stored bytes.
  public var value: [UInt8]
  /// The 32-bit flags stored with the item, often saying how the bytes are encoded.
  public var flags: UInt32
  /// The item's CAS value, for ``MemcachedClient/cas(_:value:cas:flags:expiration:)``.
  public var cas: UInt64

  /// An item with the given contents.
  public init(value: [UInt8], flags: UInt32 = 0, cas: UInt64 = 0) {
    self.value = value
    self.flags = flags
    self.cas = cas
  }
}

/// What a compare-and-swap write did.
public enum MemcachedCASResult: Sendable, Hashable {
  /// The item was written.
  case stored
  /// Somebody wrote the item since its CAS value was read; nothing was written.
  case conflict
  /// The item no longer exists; nothing was written.
  case notFound
}
