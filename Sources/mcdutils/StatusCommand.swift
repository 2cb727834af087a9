import ArgumentParser
import Foundation
import MCDUtils
import Memcached

/// `mcdutils status`: per node, whether it is up and how many sessions it holds.
struct StatusCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show, per node, whether it is up and how many items and sessions it holds.",
    discussion: """
      Prints `ADDRESS up RTT_US items N sessions N` or `ADDRESS down MESSAGE` per server \
      (sessions: live ones, read from the node's key listing and its items, so give the \
      service's --key-prefix and seal key file), and exits with status 1 if any server is \
      down. During a rolling restart, a restarted node is back when it says `up`, and \
      repaired when `mcdutils repair --node` exits with status 0.
      """
  )

  @OptionGroup var options: ServerOptions
  @OptionGroup var sealing: SealingOptions

  func execute() throws {
    let configuration = try options.configuration()
    let proxy = try MemCacheProxy(configuration: configuration, sealing: sealing.ring())
    let client = try MemcachedClient(configuration: configuration)
    var down = false
    for ping in client.ping() {
      switch ping.result {
      case .success(let rtt):
        do {
          let count = try proxy.sessionCount(onNode: ping.server)
          print(
            "\(ping.server) up \(rtt.saturatingMicroseconds) items \(count.items) "
              + "sessions \(count.sessions)")
        } catch {
          print("\(ping.server) up \(rtt.saturatingMicroseconds) sessions unknown: \(error)")
        }
      case .failure(let error):
        down = true
        print("\(ping.server) down \(error.message) (\(error.returnCode))")
      }
    }
    if down { throw ExitCode.failure }
  }
}
