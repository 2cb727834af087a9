import ArgumentParser
import MCDUtils
import Memcached

/// `mcdutils cache invalidate --path a/b/c`: drops every cache entry of an object.
struct CacheInvalidateCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "invalidate",
    abstract: "Drop every cached entry of an object (every view and key).")

  @OptionGroup var servers: ServerOptions

  @Option(help: ArgumentHelp("The object's path, split on '/'.", valueName: "a/b/c"))
  var path: String

  func execute() throws {
    let store = try MemcachedPool(configuration: servers.configuration())
    try MemCacheZCache(store: store).invalidate(CacheablePath(path: path))
  }
}
