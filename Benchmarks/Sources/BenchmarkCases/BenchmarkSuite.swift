import CBaseline
import Foundation
import Memcached

/// Every case of the harness, in the order it prints them, on the servers of a command line:
/// our client and the C baseline on the first server, the sessions on all of them.
final class BenchmarkSuite {
  let cases: [BenchmarkCase]
  let sessions: SessionCases
  private let baseline: OpaquePointer

  /// Opens the client, the C baseline and the session pools, and stores what the session cases
  /// read.
  ///
  /// - Throws: ``BenchmarkError`` when the C baseline does not open, or what opening a pool or
  ///   storing the sessions throws.
  init(_ options: ServerOptions, scale: Double) throws {
    guard case .tcp(let host, let port) = options.servers[0].address else {
      throw BenchmarkError(message: "the first server is not HOST:PORT")
    }
    var configuration = MemcachedConfiguration(servers: [options.servers[0]])
    configuration.asyncExecution = options.asyncExecution
    let client = try MemcachedClient(configuration: configuration)
    guard let baseline = cbaseline_open(host, Int32(port)) else {
      throw BenchmarkError(message: "cannot open the C baseline")
    }
    self.baseline = baseline
    configuration.servers = options.servers
    sessions = try SessionCases(configuration: configuration, scale: scale)
    cases =
      clientCases(client: client, baseline: baseline, scale: scale) + codecCases(scale: scale)
      + sessions.cases(baseline: baseline, first: (host, port))
  }

  deinit { cbaseline_close(baseline) }
}

/// A benchmark that cannot start.
public struct BenchmarkError: Error, CustomStringConvertible {
  let message: String
  /// The message.
  public var description: String { message }
}

/// What `mcdutils-bench` does: every selected case for `options.reps` reps, as TSV on standard
/// output, then the session pool's async statistics on standard error.
///
/// - Throws: what ``BenchmarkSuite/init(_:scale:)`` throws.
public func runHarness(_ options: HarnessOptions) async throws {
  let suite = try BenchmarkSuite(options.server, scale: options.scale)
  let selected = suite.cases.filter { options.cases?.contains($0.name) ?? true }
  if options.header { print(header) }
  for rep in 1...options.reps {
    for item in selected {
      print(row(client: item.client, name: item.name, rep: rep, await item.measure()))
    }
  }
  let statistics = suite.sessions.sessions.pool.asyncStatistics
  FileHandle.standardError.write(
    Data(
      ("session pool async calls: \(statistics.inline) inline, \(statistics.offloaded) offloaded, "
        + "\(statistics.backoffs) backoffs\n").utf8))
}

/// What `mcdutils-profile` does: the operation of one synchronous case, `options.count` times,
/// exactly as the harness times it. Returns how many did not check out.
///
/// - Throws: ``ProfileError`` when there is no such synchronous case, or what
///   ``BenchmarkSuite/init(_:scale:)`` throws.
public func runProfile(_ options: ProfileOptions) throws -> Int {
  let suite = try BenchmarkSuite(options.server, scale: 1)
  guard
    let item = suite.cases.first(where: {
      $0.name == options.name && (options.client == nil || options.client == $0.client)
    })
  else {
    throw ProfileError.unknown(options.name)
  }
  return try item.repeatOperation(count: options.count)
}
