import Foundation

/// Runs blocking `body` on a thread of its own and waits for it without holding a thread of
/// Swift's cooperative pool. The suite runs its tests in parallel on that pool, which has one
/// thread per core: a test that blocks one (waiting for a child process, say) delays every other
/// test, and the timing tests among them fail.
public func onOwnThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
  try await withCheckedThrowingContinuation { continuation in
    Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
  }
}

/// What a child process did.
public struct ChildProcessResult: Sendable {
  /// The exit status.
  public var status: Int32
  /// Everything written to standard output.
  public var stdout: Data
  /// Everything written to standard error.
  public var stderr: Data
}

/// Runs `executable` with `arguments` to its end, on threads of its own (see ``onOwnThread(_:)``),
/// with `input` on standard input (closed when `nil`). A child still running after `timeout`
/// seconds is terminated, so a hung command fails its test instead of hanging the suite.
///
/// `input` is how a secret reaches a child without appearing in its argument list.
public func runChildProcess(
  _ executable: URL, arguments: [String], environment: [String: String]? = nil,
  input: Data? = nil, timeout: TimeInterval = 20
) async throws -> ChildProcessResult {
  try await onOwnThread {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    if let input {
      // Written before the child starts, while this process still holds the reading end: a
      // child that exits without reading cannot raise SIGPIPE here. The input must fit in the
      // pipe's buffer (64 KiB on Linux); a password or a few lines do.
      try stdin.fileHandleForWriting.write(contentsOf: input)
      try stdin.fileHandleForWriting.close()
    }
    try process.run()
    let watchdog = DispatchWorkItem { [process] in
      if process.isRunning { process.terminate() }
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    defer { watchdog.cancel() }
    // stderr is read on another thread so that neither pipe can fill up and block the child.
    let errorData = DataCollector()
    let reader = Thread { errorData.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
    reader.start()
    let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
    let errorBytes = errorData.wait()
    process.waitUntilExit()
    return ChildProcessResult(
      status: process.terminationStatus, stdout: outputData, stderr: errorBytes)
  }
}

/// Hands the bytes read by the stderr thread back.
private final class DataCollector: @unchecked Sendable {
  // @unchecked: `data` is written once before the semaphore is signalled and read after it.
  private var data = Data()
  private let done = DispatchSemaphore(value: 0)

  func set(_ data: Data) {
    self.data = data
    done.signal()
  }

  func wait() -> Data {
    done.wait()
    return data
  }
}
