import ArgumentParser
import MCDUtils

/// `mcdutils cache key --path a/b/c [...]`: prints an entry's aggregate key.
struct CacheKeyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "key",
    abstract: "Print the aggregate key of an entry (path|view|request|keywords); needs no server.")

  @OptionGroup var entry: CacheEntryOptions

  func run() {
    // The cache sorts the request names as the manager does; the key needs no store.
    let cache = MemCacheZCache(store: InProcessStore(), requestNames: entry.requestNames)
    print(
      cache.key(
        for: entry.object, view: entry.view, request: entry.request, keywords: entry.keywords))
  }
}
