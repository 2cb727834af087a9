// swift-tools-version:6.1
import PackageDescription

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
    .executableTarget(
      name: "mcdutils-bench",
      dependencies: [
        "CBaseline",
        .product(name: "Memcached", package: "MCDUtils"),
        .product(name: "MCDUtils", package: "MCDUtils"),
      ],
      swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
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
