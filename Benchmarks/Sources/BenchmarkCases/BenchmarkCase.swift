/// One row of the harness: a workload, done by our library (`mcdutils`) or by libmemcached's C
/// API (`c-libmemcached`).
///
/// The harness times it (``measure()``); the profiler repeats its operation without a clock
/// (``repeatOperation(count:)``). Both run the same body.
struct BenchmarkCase {
  /// How the case runs.
  enum Body {
    /// One operation per call, given its index; returns whether its result checked out.
    case operation((Int) -> Bool)
    /// The async form of `operation`.
    case asyncOperation((Int) async -> Bool)
    /// A run that times itself (the concurrent cases).
    case timed(() async -> Measurement)
  }

  /// `mcdutils` or `c-libmemcached`, the TSV's `client` column.
  let client: String
  /// The TSV's `case` column.
  let name: String
  /// How many operations one rep times.
  let count: Int
  /// The size of the value each operation moves, the TSV's `bytes` column.
  let bytes: Int
  /// Stores what the case reads, then returns its body. Called before every rep.
  let prepare: () -> Body

  init(client: String, name: String, count: Int, bytes: Int, prepare: @escaping () -> Body) {
    self.client = client
    self.name = name
    self.count = count
    self.bytes = bytes
    self.prepare = prepare
  }

  /// A case whose body is one operation that needs nothing stored first.
  init(
    client: String = "mcdutils", name: String, count: Int, bytes: Int,
    operation: @escaping (Int) -> Bool
  ) {
    self.init(client: client, name: name, count: count, bytes: bytes) { .operation(operation) }
  }

  /// One rep: a warm-up, then `count` operations, timed.
  func measure() async -> Measurement {
    switch prepare() {
    case .operation(let body):
      return await BenchmarkCases.measure(count: count, bytes: bytes) {
        failures(of: body, over: $0)
      }
    case .asyncOperation(let body):
      return await BenchmarkCases.measure(count: count, bytes: bytes) {
        await failures(awaiting: body, over: $0)
      }
    case .timed(let run):
      return await run()
    }
  }

  /// Does the case's operation `count` times, untimed and without a warm-up, and returns how
  /// many did not check out.
  ///
  /// - Throws: ``ProfileError/notSynchronous(_:)`` for an async or concurrent case.
  func repeatOperation(count: Int) throws(ProfileError) -> Int {
    guard case .operation(let body) = prepare() else { throw .notSynchronous(name) }
    return failures(of: body, over: 0..<count)
  }
}

/// Why the profiler cannot run a case.
public enum ProfileError: Error, CustomStringConvertible {
  /// No case has that name (and client).
  case unknown(String)
  /// The case is async or concurrent; the profiler runs synchronous ones only.
  case notSynchronous(String)

  /// What went wrong, with the case's name.
  public var description: String {
    switch self {
    case .unknown(let name): "no case \(name)"
    case .notSynchronous(let name): "\(name) is not a synchronous case"
    }
  }
}
