extension MemCacheZCache {
  /// The knobs of a page cache beyond its maximum age; the defaults suit request handlers.
  public struct Tuning: Sendable, Hashable {
    /// How long past its maximum age an entry is kept as the stale copy; zero keeps none.
    public var staleWindow: Duration = .seconds(60)
    /// How long an abandoned lease lasts (rounded up to whole seconds).
    public var leaseDuration: Duration = .seconds(5)
    /// How long a caller waits for another caller's computation before computing itself.
    public var leaseWait: Duration = .seconds(5)
    /// How often a waiting caller looks for the value.
    public var pollInterval: Duration = .milliseconds(10)
    /// How long the generation seen by a `get` is reused by a `set`, saving a round trip.
    public var generationMemoLifetime: Duration = .seconds(1)
    /// Values whose encoding is larger than this many bytes are stored compressed.
    public var compressionThreshold: Int = ValueFormat.defaultCompressionThreshold

    /// The defaults.
    public init() {}
  }
}
