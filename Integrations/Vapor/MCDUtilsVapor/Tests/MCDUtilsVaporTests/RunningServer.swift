import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Vapor

/// What a test needs of an HTTP response.
struct ClientResponse: Sendable {
  var status: HTTPResponseStatus
  var body: String
  /// The session cookie the response sets, as a `Cookie` header value.
  var cookie: String?
}

/// An HTTP client that keeps up to `connections` connections to the test server open.
struct TestClient: Sendable {
  let client: HTTPClient

  /// Sends a request to the server on 127.0.0.1 at `port`.
  func send(
    _ method: HTTPMethod, _ port: Int, _ path: String, cookie: String? = nil
  ) async throws -> ClientResponse {
    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
    request.method = method
    if let cookie { request.headers.add(name: "Cookie", value: cookie) }
    let response = try await client.execute(request, timeout: .seconds(60))
    let body = try await response.body.collect(upTo: 1 << 20)
    let setCookie = HTTPHeaders(response.headers.map { ($0.name, $0.value) }).setCookie
    return ClientResponse(
      status: response.status, body: String(buffer: body),
      cookie: setCookie?["vapor-session"].map { "vapor-session=\($0.string)" })
  }
}

/// Runs `body` with `app` serving HTTP on a free port of 127.0.0.1 and a client that opens up
/// to `connections` connections to it; stops both afterwards.
func withRunningServer<R>(
  _ app: Application, connections: Int = 16,
  _ body: (_ port: Int, _ client: TestClient) async throws -> R
) async throws -> R {
  try await app.server.start(address: .hostname("127.0.0.1", port: 0))
  let port = app.http.server.shared.localAddress?.port ?? 0
  var configuration = HTTPClient.Configuration()
  configuration.connectionPool = .init(
    idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
  let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  do {
    let result = try await body(port, TestClient(client: client))
    try await client.shutdown()
    await app.server.shutdown()
    return result
  } catch {
    try? await client.shutdown()
    await app.server.shutdown()
    throw error
  }
}
