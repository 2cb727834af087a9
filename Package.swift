// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "MCDUtils",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "Memcached", targets: ["Memcached"]),
    .library(name: "MCDUtils", targets: ["MCDUtils"]),
    .executable(name: "mcdutils", targets: ["mcdutils"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
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
      ]
    ),
    .target(
      name: "MCDUtils",
      dependencies: [
        "Memcached",
        "CZlib",
        .product(name: "Logging", package: "swift-log"),
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
      name: "TestSupport",
      dependencies: ["Memcached"],
      path: "Tests/TestSupport"
    ),
    .testTarget(
      name: "MemcachedTests",
      dependencies: [
        "Memcached", "TestSupport",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "InMemoryLogging", package: "swift-log"),
      ]
    ),
    .testTarget(
      name: "MCDUtilsTests",
      dependencies: ["MCDUtils", "Memcached", "TestSupport"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
