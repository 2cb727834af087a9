// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "MCDUtilsBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "MCDUtils", path: "..")
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
  ],
  swiftLanguageModes: [.v6]
)
