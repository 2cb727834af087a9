import ArgumentParser
import Foundation
import MCDUtils
import Memcached

/// `mcdutils session …`: the original session data container's "Test" tab, on the command line.
struct SessionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "session",
    abstract: "Add to, show and invalidate sessions stored the way MCDUtils stores them.",
    discussion: """
      Without --servers (and without MCDUTILS_SERVERS) the commands use an in-process store, \
      so nothing persists beyond the command.
      """,
    subcommands: [SessionAddCommand.self, SessionShowCommand.self, SessionInvalidateCommand.self]
  )
}

/// The options every `session` command takes: the shared `--servers`, which may be absent.
struct SessionStoreOptions: ParsableArguments {
  @Option(
    name: .long,
    help: ArgumentHelp(
      "memcached servers, comma-separated or repeated (default: $MCDUTILS_SERVERS; "
        + "none: an in-process store).",
      valueName: "host:port,..."))
  var servers: [String] = []

  @Option(name: .long, help: "The session id (the browser id).")
  var id: String

  @OptionGroup var credentials: CredentialOptions
  @OptionGroup var sealing: SealingOptions
  @OptionGroup var idKey: IdKeyOptions
  @OptionGroup var layout: LayoutOptions

  /// A session container over the servers, or over an in-process store (said on stderr).
  ///
  /// - Throws: `MemCacheError` for a bad server line or configuration.
  func makeContainer() throws -> MemCacheSessionDataContainer {
    // The shared options refuse an empty server list, which here means "in process".
    let (ring, hasher) = (try sealing.ring(), try idKey.hasher())
    guard let shared = try? ServerOptions.parse(servers.flatMap { ["--servers", $0] }) else {
      printError("no memcached servers configured; using an in-process store, nothing persists")
      return MemCacheSessionDataContainer(
        proxy: MemCacheProxy(store: InProcessStore(), sealing: ring), idHasher: hasher)
    }
    var configuration = try shared.configuration()
    configuration.credentials = try credentials.resolved()
    layout.apply(to: &configuration)
    return MemCacheSessionDataContainer(
      proxy: try MemCacheProxy(configuration: configuration, sealing: ring), idHasher: hasher)
  }
}

/// Prints a value as pretty JSON with sorted keys.
func printJSON(_ value: some Encodable) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
