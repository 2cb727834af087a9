extension MemCacheZCache {
  /// The knobs of a page cache beyond its maximum age; the defaults suit request handlers.
  public struct Tuning: Sendable, Hashable {
    /// How long past its maximum age an entry is kept as the stale copy that `getOrCompute`
    /// serves while another caller recomputes it. Zero keeps no stale copy.
    public var staleWindow: Duration = .seconds(60)
    /// How long a computing caller's lease lasts (rounded up to whole seconds) when it neither
    /// stores a value nor fails, for example because its process died.
    public var leaseDuration: Duration = .seconds(5)
    /// How long a `getOrCompute` caller waits for another caller's computation before
    /// computing the value itself.
    public var leaseWait: Duration = .seconds(5)
    /// How often a waiting caller looks for the value.
    public var pollInterval: Duration = .milliseconds(10)
    /// How long the generation seen by a `get` is reused by the `set` that follows it, saving
    /// the round trip that would fetch it again.
    public var generationMemoLifetime: Duration = .seconds(1)
    /// Values whose encoding is larger than this many bytes are stored compressed.
    public var compressionThreshold: Int = ValueFormat.defaultCompressionThreshold

    /// The defaults.
    public init() {}
  }
}
