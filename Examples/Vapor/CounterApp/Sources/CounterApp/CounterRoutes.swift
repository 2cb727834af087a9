import Vapor

/// Log in, read, increment and log out, with the user and the count in the session.
///
/// - `POST /login` with a form field `user`: starts a session (with a new id) for the user.
/// - `GET /count`: the user and the count.
/// - `POST /increment`: adds one to the count.
/// - `POST /logout`: ends the session.
struct CounterRoutes: RouteCollection {
  struct Login: Content {
    var user: String
  }

  func boot(routes: any RoutesBuilder) throws {
    routes.post("login", use: login)
    routes.get("count", use: read)
    routes.post("increment", use: increment)
    routes.post("logout", use: logout)
  }

  func login(req: Request) async throws -> String {
    let login = try req.content.decode(Login.self)
    guard !login.user.isEmpty else { throw Abort(.badRequest, reason: "user is empty") }
    // A new id at login, so that an id known before it (session fixation) is worth nothing.
    req.session.id = nil
    req.session.data["user"] = login.user
    req.session.data["count"] = "0"
    return "logged in as \(login.user)\n"
  }

  func read(req: Request) async throws -> String {
    let user = try loggedInUser(req)
    return "\(user): count = \(req.session.data["count"] ?? "0")\n"
  }

  func increment(req: Request) async throws -> String {
    let user = try loggedInUser(req)
    let count = (req.session.data["count"].flatMap { Int($0) } ?? 0) + 1
    req.session.data["count"] = String(count)
    return "\(user): count = \(count)\n"
  }

  func logout(req: Request) async throws -> String {
    req.session.destroy()
    return "logged out\n"
  }

  private func loggedInUser(_ req: Request) throws -> String {
    guard let user = req.session.data["user"] else {
      throw Abort(.unauthorized, reason: "log in first: POST /login with user=NAME")
    }
    return user
  }
}
