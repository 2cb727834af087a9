import ArgumentParser
import MCDUtils
import Memcached

/// `mcdutils cache …`: the page/result cache (`MemCacheZCache`) from the command line.
struct CacheCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cache",
    abstract: "Store, read and invalidate page-cache entries, and show their keys.",
    subcommands: [
      CacheSetCommand.self, CacheGetCommand.self, CacheInvalidateCommand.self,
      CacheKeyCommand.self,
    ]
  )
}

/// What names one cache entry: the object's path, the view, request values and keywords.
struct CacheEntryOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The object's path, split on '/'.", valueName: "a/b/c"))
  var path: String

  @Option(help: "The view name.")
  var view = ""

  @Option(
    name: .customLong("request-name"),
    help: ArgumentHelp("A request value that varies the key (repeatable).", valueName: "name"))
  var requestNames: [String] = []

  @Option(
    name: .customLong("request"),
    help: ArgumentHelp("A request value (repeatable).", valueName: "name=value"))
  var requestPairs: [String] = []

  @Option(
    name: .customLong("keyword"),
    help: ArgumentHelp("A local key (repeatable).", valueName: "key=value"))
  var keywordPairs: [String] = []

  func validate() throws {
    for pair in requestPairs + keywordPairs where !pair.contains("=") {
      throw ValidationError("Expected name=value, got \"\(pair)\".")
    }
  }

  /// The object the entry belongs to.
  var object: CacheablePath { CacheablePath(path: path) }
  var request: [String: String] { Self.dictionary(requestPairs) }
  var keywords: [String: String] { Self.dictionary(keywordPairs) }

  /// `name=value` pairs as a dictionary; the last of repeated names wins.
  private static func dictionary(_ pairs: [String]) -> [String: String] {
    var result: [String: String] = [:]
    for pair in pairs {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
    }
    return result
  }

  /// A cache over the servers, with these request names, sealing as `sealing` says.
  ///
  /// - Throws: `MemcachedError` (bad servers or configuration), `SecurityKeyError` (key file).
  func makeCache(servers: ServerOptions, sealing: SealingOptions) throws -> MemCacheZCache {
    MemCacheZCache(
      store: try MemcachedPool(configuration: servers.configuration()), requestNames: requestNames,
      sealing: try sealing.ring())
  }
}
