// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "MCDUtils",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "Memcached", targets: ["Memcached"]),
    .library(name: "MCDUtils", targets: ["MCDUtils"]),
    .executable(name: "mcdutils", targets: ["mcdutils"]),
    // Real memcached servers on loopback ports, started and stopped by tests: for this package's
    // tests, the integration packages' and an application's own.
    .library(name: "MemcachedTestSupport", targets: ["MemcachedTestSupport"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
  ],
  targets: [
    .systemLibrary(
      name: "CLibMemcached",
      pkgConfig: "libmemcached",
      providers: [.apt(["libmemcached-dev"])]
    ),
    .systemLibrary(
      name: "CZlib",
      pkgConfig: "zlib",
      providers: [.apt(["zlib1g-dev"])]
    ),
    .target(
      name: "Memcached",
      dependencies: [
        "CLibMemcached",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]
    ),
    .target(
      name: "MCDUtils",
      dependencies: [
        "Memcached",
        "CZlib",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    .executableTarget(
      name: "mcdutils",
      dependencies: [
        "MCDUtils",
        "Memcached",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(
      name: "MemcachedTestSupport",
      dependencies: ["Memcached"],
      path: "Tests/MemcachedTestSupport"
    ),
    .testTarget(
      name: "MemcachedTests",
      dependencies: [
        "Memcached", "MemcachedTestSupport",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "InMemoryLogging", package: "swift-log"),
      ]
    ),
    // A process of the session contention tests (merging commits from several processes).
    .executableTarget(
      name: "SessionWriter",
      dependencies: ["MCDUtils", "Memcached"],
      path: "Tests/SessionWriter"
    ),
    .testTarget(
      name: "MCDUtilsTests",
      dependencies: [
        "MCDUtils", "Memcached", "MemcachedTestSupport", "SessionWriter",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "InMemoryLogging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "MetricsTestKit", package: "swift-metrics"),
      ]
    ),
    .testTarget(
      name: "CLITests",
      dependencies: ["mcdutils", "Memcached", "MemcachedTestSupport"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
