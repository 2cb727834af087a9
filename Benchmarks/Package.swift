// swift-tools-version:6.1
import PackageDescription

/// The Swift settings of the harness's own targets: `-Ounchecked` in release builds.
let optimized: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
  name: "MCDUtilsBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "MCDUtils", path: ".."),
    .package(
      url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    // libmemcached called directly from C, with the same settings as our client: the baseline
    // every mcdutils row is compared with.
    .target(
      name: "CBaseline",
      linkerSettings: [.linkedLibrary("memcached")]
    ),
    // The cases, their C counterparts and the measuring: one piece of code behind both
    // executables, so that a profile repeats exactly what the harness times.
    .target(
      name: "BenchmarkCases",
      dependencies: [
        "CBaseline",
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "MCDUtils", package: "MCDUtils"),
      ],
      swiftSettings: optimized
    ),
    // The harness: every case for a few reps, as TSV.
    .executableTarget(
      name: "mcdutils-bench",
      dependencies: ["BenchmarkCases"],
      swiftSettings: optimized
    ),
    // One case repeated N times in a synchronous main, for `valgrind --tool=callgrind`.
    .executableTarget(
      name: "mcdutils-profile",
      dependencies: ["BenchmarkCases"],
      swiftSettings: optimized
    ),
    // Micro suites with ordo-one/benchmark: the paths that need no network, with allocation
    // counts. Run with `swift package benchmark --target MicroSuites`.
    .executableTarget(
      name: "MicroSuites",
      dependencies: [
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "MCDUtils", package: "MCDUtils"),
      ],
      path: "Benchmarks/MicroSuites",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ],
  swiftLanguageModes: [.v6]
)
