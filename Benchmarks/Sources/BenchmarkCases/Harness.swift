import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One timed run of one case by one implementation.
struct Measurement: Sendable {
  var operations: Int
  var seconds: Double
  var cpuSeconds: Double
  var errors: Int
  var bytes: Int
}

/// The columns of the TSV output.
let header = "suite\tclient\tproto\tcase\trep\tn\tsecs\tus_op\tops_s\terrors\tbytes\tcpu_us_op"

/// One TSV line of ``header``'s columns.
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

/// Times one run of a case: a warm-up of a tenth of `count` operations (at least 10), not
/// counted, then `count` operations, timed. `run` does the operations of the indices it is given
/// and returns how many failed.
func measure(count: Int, bytes: Int, _ run: (Range<Int>) async -> Int) async -> Measurement {
  _ = await run(0..<max(10, count / 10))
  let cpuStart = cpuSeconds()
  let start = DispatchTime.now().uptimeNanoseconds
  let errors = await run(0..<count)
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  return Measurement(
    operations: count, seconds: seconds, cpuSeconds: cpuSeconds() - cpuStart, errors: errors,
    bytes: bytes)
}

/// Runs `body` for every index of `indices` and returns how many of its results did not check
/// out: the loop the harness times and the profiler repeats.
func failures(of body: (Int) -> Bool, over indices: some Sequence<Int>) -> Int {
  var failures = 0
  for index in indices where !body(index) {
    failures += 1
  }
  return failures
}

/// The async form of ``failures(of:over:)``.
func failures(awaiting body: (Int) async -> Bool, over indices: some Sequence<Int>) async
  -> Int
{
  var failures = 0
  for index in indices where !(await body(index)) {
    failures += 1
  }
  return failures
}
