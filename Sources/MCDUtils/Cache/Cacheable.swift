import Foundation

/// An object whose renderings ``MemCacheZCache`` caches, by its path and last modification.
public protocol Cacheable {
  /// The object's path components, such as `["", "site", "page"]` (Zope's `getPhysicalPath()`).
  var physicalPath: [String] { get }
  /// When the object last changed, if known; entries written before it are misses.
  var modificationTime: Date? { get }
}

extension Cacheable {
  /// No modification time: entries are fresh until their maximum age or an invalidation.
  public var modificationTime: Date? { nil }
}

/// A ``Cacheable`` made of a path and an optional modification time.
public struct CacheablePath: Cacheable, Sendable, Hashable {
  /// The object's path components.
  public var physicalPath: [String]
  /// When the object last changed, if known.
  public var modificationTime: Date?

  /// An object at `physicalPath`, last changed at `modificationTime`.
  public init(_ physicalPath: [String], modificationTime: Date? = nil) {
    self.physicalPath = physicalPath
    self.modificationTime = modificationTime
  }

  /// An object at a `/`-separated path: `"/a"` is `["", "a"]`.
  public init(path: String, modificationTime: Date? = nil) {
    self.init(
      path.split(separator: "/", omittingEmptySubsequences: false).map(String.init),
      modificationTime: modificationTime)
  }
}
