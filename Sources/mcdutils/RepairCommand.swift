import ArgumentParser
import Foundation
import MCDUtils
import Memcached

/// `mcdutils repair`: puts back the missing or stale copies of every session, for a node that
/// came back empty (a restart, a replacement) or for the whole cluster.
struct RepairCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "repair",
    abstract: "Put back every missing or stale copy of every session.",
    discussion: """
      Finds the sessions in memcached's own key listings (lru_crawler metadump, memcached \
      1.4.31 or later; servers that require SASL have none) and writes the newest copy of each \
      where one is missing or older: on --node alone when it is given, else everywhere. Give \
      the options the service uses (--replicas, --key-prefix, the seal key file) so that copies \
      are found and read as the service reads them. Safe while the service runs (a newer copy \
      is never overwritten) and safe to run twice. Prints a progress line on standard error \
      every 1,000 items and a summary on standard output: `sessions N, copies written N, \
      skipped N, errors N, items listed N`. Exits with status 0 when every copy is in place, 1 \
      when a copy was skipped (its node is down: run it again once the node is up) or failed.
      """
  )

  @OptionGroup var options: ServerOptions
  @OptionGroup var sealing: SealingOptions
  @OptionGroup var idKey: IdKeyOptions

  @Option(
    name: .long,
    help: ArgumentHelp(
      "The node that came back: repair its copies only (default: every node).",
      valueName: "host:port"))
  var node: String?

  func execute() throws {
    // Sessions are found by their storage keys, hashed or not: the id key is read only so that
    // a bad key file fails here as it does in every command.
    _ = try idKey.hasher()
    let target = try node.map { try MemcachedServer(parsing: $0) }
    let proxy = try MemCacheProxy(configuration: options.configuration(), sealing: sealing.ring())
    let summary = try proxy.repairSessions(node: target) { progress in
      printError("repairing: \(progress)")
    }
    print(summary)
    if summary.copiesSkipped > 0 || summary.errors > 0 { throw ExitCode.failure }
  }
}
