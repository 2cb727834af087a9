import ArgumentParser
import MCDUtils

/// `mcdutils cache set --path a/b/c [...] VALUE`: stores a string in the page cache.
struct CacheSetCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "set", abstract: "Store VALUE as a string for an object's rendering.")

  @OptionGroup var servers: ServerOptions
  @OptionGroup var entry: CacheEntryOptions
  @OptionGroup var sealing: SealingOptions

  @Option(parsing: .unconditional, help: "Seconds the entry stays fresh (default: one hour).")
  var ttl: Int?

  @Argument(help: "The value to store.")
  var value: String

  func validate() throws {
    if let ttl, ttl <= 0 { throw ValidationError("--ttl must be a positive number of seconds.") }
  }

  func execute() throws {
    let cache = try entry.makeCache(servers: servers, sealing: sealing)
    try cache.set(
      value, for: entry.object, view: entry.view, request: entry.request,
      keywords: entry.keywords, maxAge: ttl.map { .seconds($0) })
  }
}
