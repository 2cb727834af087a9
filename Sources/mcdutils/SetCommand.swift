import ArgumentParser
import Memcached

/// `mcdutils set KEY VALUE [--ttl SECONDS]`: stores an item.
struct SetCommand: ToolCommand {
  static let configuration = CommandConfiguration(
    commandName: "set",
    abstract: "Store a text value (as UTF-8) under a key."
  )

  @OptionGroup var options: ServerOptions

  @Argument(help: "The key.")
  var key: String

  @Argument(help: "The value, stored as its UTF-8 bytes.")
  var value: String

  @Option(
    parsing: .unconditional, help: "Seconds until the item expires (0, the default, means never).")
  var ttl = 0

  func validate() throws {
    guard ttl >= 0 else { throw ValidationError("--ttl must be 0 or more.") }
  }

  func execute() throws {
    let client = try options.makeClient()
    try client.set(key, value: Array(value.utf8), expiration: .seconds(ttl))
  }
}
