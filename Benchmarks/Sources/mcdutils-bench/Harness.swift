import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The command line: `--servers HOST:PORT [--reps R] [--scale S] [--cases a,b] [--no-header]
/// [--async-execution adaptive|offload]`.
struct Options {
  var servers = "127.0.0.1:11211"
  var reps = 5
  var scale = 1.0
  var cases: Set<String>?
  var header = true
  /// Whether the pool's async calls may run inline (`MemcachedAsyncExecution.adaptive`, the
  /// library's default) or are always offloaded.
  var offload = false

  init(arguments: [String]) throws {
    var iterator = arguments.dropFirst().makeIterator()
    func value(_ name: String) throws -> String {
      guard let value = iterator.next() else { throw UsageError(message: "\(name) needs a value") }
      return value
    }
    while let argument = iterator.next() {
      switch argument {
      case "--servers": servers = try value(argument)
      case "--reps":
        guard let reps = Int(try value(argument)), reps > 0 else {
          throw UsageError(message: "--reps takes a positive number")
        }
        self.reps = reps
      case "--scale":
        guard let scale = Double(try value(argument)), scale > 0 else {
          throw UsageError(message: "--scale takes a positive number")
        }
        self.scale = scale
      case "--cases": cases = Set(try value(argument).split(separator: ",").map(String.init))
      case "--no-header": header = false
      case "--async-execution":
        switch try value(argument) {
        case "adaptive": offload = false
        case "offload": offload = true
        default: throw UsageError(message: "--async-execution takes adaptive or offload")
        }
      default: throw UsageError(message: "unknown argument \(argument)")
      }
    }
  }
}

/// A bad command line.
struct UsageError: Error, CustomStringConvertible {
  let message: String
  var description: String {
    "\(message)\nusage: mcdutils-bench --servers HOST:PORT [--reps R] [--scale S] "
      + "[--cases a,b,...] [--no-header] [--async-execution adaptive|offload]"
  }
}

/// One timed run of one case by one implementation.
struct Measurement {
  var operations: Int
  var seconds: Double
  var cpuSeconds: Double
  var errors: Int
  var bytes: Int
}

/// The columns of the TSV output.
let header = "suite\tclient\tproto\tcase\trep\tn\tsecs\tus_op\tops_s\terrors\tbytes\tcpu_us_op"

func row(client: String, name: String, rep: Int, _ m: Measurement) -> String {
  let perOperation = m.seconds / Double(max(m.operations, 1)) * 1e6
  let cpuPerOperation = m.cpuSeconds / Double(max(m.operations, 1)) * 1e6
  return [
    "swift", client, "bin", name, "\(rep)", "\(m.operations)", String(format: "%.6f", m.seconds),
    String(format: "%.3f", perOperation), String(format: "%.0f", Double(m.operations) / m.seconds),
    "\(m.errors)", "\(m.bytes)", String(format: "%.3f", cpuPerOperation),
  ].joined(separator: "\t")
}

/// The process's user plus system CPU time, in seconds.
func cpuSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Runs `body` for a warm-up (a tenth of `count`, at least 10) and then `count` timed times;
/// `body` returns whether the operation's result checked out.
func measure(count: Int, bytes: Int, _ body: (Int) -> Bool) -> Measurement {
  for index in 0..<max(10, count / 10) { _ = body(index) }
  var errors = 0
  let cpuStart = cpuSeconds()
  let start = DispatchTime.now().uptimeNanoseconds
  for index in 0..<count where !body(index) {
    errors += 1
  }
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  return Measurement(
    operations: count, seconds: seconds, cpuSeconds: cpuSeconds() - cpuStart, errors: errors,
    bytes: bytes)
}

/// The async form of ``measure(count:bytes:_:)``.
func measureAsync(count: Int, bytes: Int, _ body: (Int) async -> Bool) async -> Measurement {
  for index in 0..<max(10, count / 10) { _ = await body(index) }
  var errors = 0
  let cpuStart = cpuSeconds()
  let start = DispatchTime.now().uptimeNanoseconds
  for index in 0..<count where !(await body(index)) {
    errors += 1
  }
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  return Measurement(
    operations: count, seconds: seconds, cpuSeconds: cpuSeconds() - cpuStart, errors: errors,
    bytes: bytes)
}
