import ArgumentParser
import Memcached

/// `mcdutils server-for KEY...`: the server the consistent hash picks for each key.
struct ServerForCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "server-for",
    abstract: "Print the server that holds each key, as `KEY ADDRESS` lines."
  )

  @OptionGroup var options: ServerOptions

  @Argument(help: "One or more keys.")
  var keys: [String]

  func validate() throws {
    guard !keys.isEmpty else { throw ValidationError("Give at least one key.") }
  }

  func execute() throws {
    let client = try options.makeClient()
    for key in keys {
      print("\(key) \(try client.server(forKey: key))")
    }
  }
}
