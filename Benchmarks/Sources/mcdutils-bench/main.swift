import CBaseline
import Foundation
import Memcached

// mcdutils-bench: our speed against libmemcached's C API, measured in the same run, as TSV.
let options: Options
do {
  options = try Options(arguments: CommandLine.arguments)
} catch {
  FileHandle.standardError.write(Data("\(error)\n".utf8))
  exit(2)
}

func selected(_ name: String) -> Bool { options.cases?.contains(name) ?? true }

guard
  let server = try? MemcachedServer(parsing: options.servers.split(separator: ",")[0].description),
  case .tcp(let host, let port) = server.address
else {
  FileHandle.standardError.write(Data("--servers needs HOST:PORT\n".utf8))
  exit(2)
}

var configuration = MemcachedConfiguration(servers: [server])
configuration.poolSize = 16
if options.offload { configuration.asyncExecution = .offload }
let client: MemcachedClient
do {
  client = try MemcachedClient(configuration: configuration)
} catch {
  FileHandle.standardError.write(Data("mcdutils-bench: \(error)\n".utf8))
  exit(1)
}
guard let baseline = cbaseline_open(host, Int32(port)) else {
  FileHandle.standardError.write(Data("mcdutils-bench: cannot open the C baseline\n".utf8))
  exit(1)
}
defer { cbaseline_close(baseline) }

if options.header { print(header) }
let paired = clientCases(scale: options.scale).filter { selected($0.name) }
let solo = codecCases(scale: options.scale).filter { selected($0.name) }
let sessions = try SessionCases(configuration: configuration, scale: options.scale)
for rep in 1...options.reps {
  for item in paired {
    print(
      row(
        client: "mcdutils", name: item.name, rep: rep,
        measure(count: item.count, bytes: item.bytes, item.ours(client))))
    print(
      row(
        client: "c-libmemcached", name: item.name, rep: rep,
        measure(count: item.count, bytes: item.bytes, item.baseline(baseline))))
  }
  for item in solo {
    print(
      row(
        client: "mcdutils", name: item.name, rep: rep,
        measure(count: item.count, bytes: item.bytes, item.body)))
  }
  await sessions.run(rep: rep, baseline: baseline, selected: selected)
}
let statistics = sessions.pool.asyncStatistics
FileHandle.standardError.write(
  Data(
    ("session pool async calls: \(statistics.inline) inline, \(statistics.offloaded) offloaded, "
      + "\(statistics.backoffs) backoffs\n").utf8))
