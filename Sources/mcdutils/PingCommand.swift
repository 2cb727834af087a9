import ArgumentParser
import Memcached

/// `mcdutils ping`: one timed round trip to each server.
struct PingCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "ping",
    abstract: "Time a round trip to each server.",
    discussion: """
      Prints `ADDRESS ok RTT_US` (microseconds) or `ADDRESS error MESSAGE` per server, and \
      exits with status 1 if any server failed.
      """
  )

  @OptionGroup var options: ServerOptions

  func execute() throws {
    let client = try options.makeClient()
    var failed = false
    for ping in client.ping() {
      switch ping.result {
      case .success(let rtt):
        print("\(ping.server) ok \(rtt.saturatingMicroseconds)")
      case .failure(let error):
        failed = true
        print("\(ping.server) error \(error.message) (\(error.returnCode))")
      }
    }
    if failed { throw ExitCode.failure }
  }
}
