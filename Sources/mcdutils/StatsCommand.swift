import ArgumentParser
import Memcached

/// `mcdutils stats`: each server's statistics.
struct StatsCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats",
    abstract: "Print each server's statistics.",
    discussion: """
      Per server: a line with its address, then `NAME VALUE` lines sorted by name, or \
      `error MESSAGE`. Exits with status 1 if any server failed.
      """
  )

  @OptionGroup var options: ServerOptions

  func execute() throws {
    let client = try options.makeClient()
    var failed = false
    for (index, stats) in client.stats().enumerated() {
      if index > 0 { print() }
      print(stats.server)
      switch stats.result {
      case .success(let values):
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
          print("\(name) \(value)")
        }
      case .failure(let error):
        failed = true
        print("error \(error.message) (\(error.returnCode))")
      }
    }
    if failed { throw ExitCode.failure }
  }
}
