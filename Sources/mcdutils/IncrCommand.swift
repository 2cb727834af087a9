import ArgumentParser
import Memcached

/// `mcdutils incr KEY [BY]`: adds to a counter and prints its new value.
struct IncrCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "incr",
    abstract: "Add to a counter (a decimal number) and print its new value.",
    discussion: "Exits with status 1 when the key does not exist."
  )

  @OptionGroup var options: ServerOptions

  @Argument(help: "The key.")
  var key: String

  @Argument(help: "How much to add.")
  var by: UInt64 = 1

  func execute() throws {
    let client = try options.makeClient()
    guard let value = try client.increment(key, by: by) else {
      throw CommandFailure("no item for key \"\(key)\"")
    }
    print(value)
  }
}
