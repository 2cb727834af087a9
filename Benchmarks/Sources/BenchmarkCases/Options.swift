import Memcached

/// A bad command line, with the usage of the command that read it.
public struct UsageError: Error, CustomStringConvertible {
  let message: String
  let usage: String
  /// The message, then the usage.
  public var description: String { "\(message)\nusage: \(usage)" }
}

/// Reads a command line of `--name value` options and flags, one argument at a time.
struct ArgumentReader {
  private var arguments: IndexingIterator<ArraySlice<String>>
  let usage: String

  init(_ arguments: [String], usage: String) {
    self.arguments = arguments.dropFirst().makeIterator()
    self.usage = usage
  }

  mutating func next() -> String? { arguments.next() }

  func failure(_ message: String) -> UsageError { UsageError(message: message, usage: usage) }

  /// The value that follows option `name`.
  mutating func value(_ name: String) throws(UsageError) -> String {
    guard let value = arguments.next() else { throw failure("\(name) needs a value") }
    return value
  }

  /// The positive number that follows option `name`.
  mutating func positive<Number: LosslessStringConvertible & Numeric & Comparable>(
    _ name: String
  ) throws(UsageError) -> Number {
    guard let number = Number(try value(name)), number > 0 else {
      throw failure("\(name) takes a positive number")
    }
    return number
  }
}

/// The options both commands take: where memcached is and how the session pool runs async
/// calls.
public struct ServerOptions: Sendable {
  /// The servers of `--servers HOST:PORT[,HOST:PORT…]`. The first is a TCP address: the client
  /// cases and the C baseline run on it.
  public var servers = [MemcachedServer(host: "127.0.0.1", port: 11211)]
  /// `--async-execution adaptive|offload`: the session pool's
  /// ``Memcached/MemcachedConfiguration/asyncExecution`` (default `adaptive`, the library's).
  public var asyncExecution = MemcachedAsyncExecution.adaptive

  /// Reads `argument` if it is one of these options; returns whether it was.
  mutating func read(_ argument: String, from reader: inout ArgumentReader) throws(UsageError)
    -> Bool
  {
    switch argument {
    case "--servers":
      let list = try reader.value(argument).split(separator: ",")
      let servers = try? list.map { try MemcachedServer(parsing: String($0)) }
      guard let servers, let first = servers.first, case .tcp = first.address else {
        throw reader.failure("--servers needs HOST:PORT")
      }
      self.servers = servers
    case "--async-execution":
      switch try reader.value(argument) {
      case "adaptive": asyncExecution = .adaptive
      case "offload": asyncExecution = .offload
      default: throw reader.failure("--async-execution takes adaptive or offload")
      }
    default:
      return false
    }
    return true
  }
}

/// The command line of `mcdutils-bench`: `--servers HOST:PORT[,HOST:PORT…] [--reps R]
/// [--scale S] [--cases a,b] [--no-header] [--async-execution adaptive|offload]`.
public struct HarnessOptions: Sendable {
  /// `--servers` and `--async-execution`.
  public var server = ServerOptions()
  /// `--reps R`: how many times every case runs (default 5).
  public var reps = 5
  /// `--scale S`: multiplies every case's operation count (default 1).
  public var scale = 1.0
  /// `--cases a,b,…`: the names of the cases to run; all of them when `nil`.
  public var cases: Set<String>?
  /// Whether the TSV starts with its header line (`--no-header` turns it off).
  public var header = true

  /// Reads the command line, program name first.
  ///
  /// - Throws: ``UsageError`` for an unknown option or a bad value.
  public init(arguments: [String]) throws(UsageError) {
    var reader = ArgumentReader(
      arguments,
      usage: "mcdutils-bench --servers HOST:PORT[,HOST:PORT...] [--reps R] [--scale S] "
        + "[--cases a,b,...] [--no-header] [--async-execution adaptive|offload]")
    while let argument = reader.next() {
      if try server.read(argument, from: &reader) { continue }
      switch argument {
      case "--reps": reps = try reader.positive(argument)
      case "--scale": scale = try reader.positive(argument)
      case "--cases": cases = Set(try reader.value(argument).split(separator: ",").map(String.init))
      case "--no-header": header = false
      default: throw reader.failure("unknown argument \(argument)")
      }
    }
  }
}

/// The command line of `mcdutils-profile`: `--servers HOST:PORT[,HOST:PORT…] --case NAME
/// [--count N] [--client mcdutils|c-libmemcached] [--async-execution adaptive|offload]`.
public struct ProfileOptions: Sendable {
  /// `--servers` and `--async-execution`.
  public var server = ServerOptions()
  /// The case to repeat, a name of the harness's `case` column.
  public var name = ""
  /// `--count N`: how many times the operation runs (default 1,000).
  public var count = 1_000
  /// Which side of a paired case (get_100: `mcdutils` or `c-libmemcached`); by default the
  /// first case of that name, ours where there are both.
  public var client: String?

  /// Reads the command line, program name first.
  ///
  /// - Throws: ``UsageError`` for an unknown option, a bad value or no `--case`.
  public init(arguments: [String]) throws(UsageError) {
    var reader = ArgumentReader(
      arguments,
      usage: "mcdutils-profile --servers HOST:PORT[,HOST:PORT...] --case NAME [--count N] "
        + "[--client mcdutils|c-libmemcached] [--async-execution adaptive|offload]")
    while let argument = reader.next() {
      if try server.read(argument, from: &reader) { continue }
      switch argument {
      case "--case": name = try reader.value(argument)
      case "--count": count = try reader.positive(argument)
      case "--client": client = try reader.value(argument)
      default: throw reader.failure("unknown argument \(argument)")
      }
    }
    if name.isEmpty { throw reader.failure("--case is required") }
  }
}
