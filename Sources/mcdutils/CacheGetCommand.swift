import ArgumentParser
import MCDUtils

/// `mcdutils cache get --path a/b/c [...]`: prints a page-cache entry.
struct CacheGetCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "get",
    abstract: "Print an object's cached rendering: a string as text, anything else as JSON.",
    discussion: "Exits with status 1 on a miss.")

  @OptionGroup var servers: ServerOptions
  @OptionGroup var entry: CacheEntryOptions
  @OptionGroup var sealing: SealingOptions

  func execute() throws {
    let cache = try entry.makeCache(servers: servers, sealing: sealing)
    guard
      let value = cache.get(
        SessionValue.self, for: entry.object, view: entry.view, request: entry.request,
        keywords: entry.keywords)
    else {
      // The cache fails open; the command says why the lookup missed.
      if let error = cache.lastStoreError { throw error }
      let key = cache.key(
        for: entry.object, view: entry.view, request: entry.request, keywords: entry.keywords)
      throw CommandFailure("no cache entry for \"\(key)\"")
    }
    if case .string(let text) = value {
      print(text)
    } else {
      try printJSON(value)
    }
  }
}
