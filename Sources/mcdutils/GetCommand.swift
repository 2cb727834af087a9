import ArgumentParser
import Memcached

/// `mcdutils get KEY`: prints an item's value as text.
struct GetCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "get",
    abstract: "Print an item's value as text (UTF-8; invalid bytes are replaced).",
    discussion: "Exits with status 1 and prints nothing on standard output when the key is absent."
  )

  @OptionGroup var options: ServerOptions

  @Argument(help: "The key.")
  var key: String

  func execute() throws {
    let client = try options.makeClient()
    guard let item = try client.get(key) else {
      throw CommandFailure("no item for key \"\(key)\"")
    }
    print(String(decoding: item.value, as: UTF8.self))
  }
}
